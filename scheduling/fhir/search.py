"""Parsing the FHIR search parameters the API serves (dates with prefixes, tokens, references,
_count and _offset). Every malformed value is a FhirError 400, never an exception further down."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Q

from scheduling.fhir.errors import bad_request
from scheduling.slots import clinic_tz

DEFAULT_COUNT = 20
MAX_COUNT = 100  # a larger _count is capped, not refused
MAX_OFFSET = 100_000

_DATE = re.compile(
    r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2}))?)?)?$"
)
_SUPPORTED_PREFIXES = ("eq", "gt", "lt", "ge", "le")


@dataclass(frozen=True)
class DateRange:
    """[start, end): the instants a FHIR date value stands for at its precision."""

    prefix: str
    start: dt.datetime
    end: dt.datetime


def parse_date(name: str, value: str) -> DateRange:
    match = _DATE.match(value)
    if match is None:
        raise bad_request(f"{name}: '{value[:40]}' is not a FHIR date (e.g. ge2026-12-01)")
    prefix, year, month, day, time = match.groups()
    prefix = prefix or "eq"
    if prefix not in _SUPPORTED_PREFIXES:
        raise bad_request(f"{name}: the prefix '{prefix}' is not supported (eq, gt, lt, ge, le)")
    if not 1900 <= int(year) <= 9000:
        raise bad_request(f"{name}: the year {year} is out of range (1900 to 9000)")
    zone = clinic_tz()
    try:
        if time:
            start = dt.datetime.fromisoformat(f"{year}-{month}-{day}{time}")
            return DateRange(prefix, start, start + dt.timedelta(microseconds=1))
        if day:
            first = dt.date(int(year), int(month), int(day))
            last = first + dt.timedelta(days=1)
        elif month:
            first = dt.date(int(year), int(month), 1)
            last = (first + dt.timedelta(days=32)).replace(day=1)
        else:
            first, last = dt.date(int(year), 1, 1), dt.date(int(year) + 1, 1, 1)
    except ValueError:
        raise bad_request(f"{name}: '{value[:40]}' is not a valid date") from None
    return DateRange(
        prefix,
        dt.datetime.combine(first, dt.time(), tzinfo=zone),
        dt.datetime.combine(last, dt.time(), tzinfo=zone),
    )


def date_filter(field: str, name: str, values: list[str]) -> Q:
    """Every value must hold (date=ge2026-12-01&date=lt2027-01-01 is a range)."""
    condition = Q()
    for value in values:
        for part in value.split(","):
            r = parse_date(name, part)
            condition &= {
                "eq": Q(**{f"{field}__gte": r.start, f"{field}__lt": r.end}),
                "ge": Q(**{f"{field}__gte": r.start}),
                "gt": Q(**{f"{field}__gte": r.end}),
                "lt": Q(**{f"{field}__lt": r.start}),
                "le": Q(**{f"{field}__lt": r.end}),
            }[r.prefix]
    return condition


def token_parts(name: str, value: str) -> list[tuple[str | None, str]]:
    """A token value's comma-separated alternatives as (system or None for any, code); "|code"
    asks for a code without a system (none of Propel's codes: matches nothing). Empty is a 400."""
    parts: list[tuple[str | None, str]] = []
    for part in value.split(","):
        system, bar, code = part.rpartition("|")
        if not code:
            raise bad_request(f"{name}: '{value[:60]}' is not a token (code or system|code)")
        parts.append((system if bar else None, code))
    return parts


def single(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise bad_request(f"{name}: give it once")
    return values[0]


def parse_count(values: list[str] | None) -> int:
    if not values:
        return DEFAULT_COUNT
    value = single("_count", values)
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise bad_request(f"_count: '{value[:40]}' is not a whole number")
    count = int(value)
    if count < 1:
        raise bad_request("_count: must be at least 1")
    return min(count, MAX_COUNT)


def parse_offset(values: list[str] | None) -> int:
    if not values:
        return 0
    value = single("_offset", values)
    if not re.fullmatch(r"[0-9]{1,18}", value) or int(value) > MAX_OFFSET:
        raise bad_request(f"_offset: must be a whole number up to {MAX_OFFSET}")
    return int(value)
