"""What a booking checks under its locks, read for all its sessions at once in one query,
whatever the number of sessions (scheduling.batch_booking): `load_booking_facts`.

- The clinic's calendar (weekly hours, closures with their reasons, extra openings) for the
  sessions' days, and the candidate clinicians' working hours.
- What is taken around the sessions: active appointments that overlap a session on a candidate
  room or clinician or for the patient; live holds that overlap one (except the booking's own);
  and, when asked, the patient's treatment visits near each session (for the spacing rule) and
  their upcoming online bookings of the type (for the online cap); blocked time (time off, a
  room out of use) that overlaps a session on a candidate room or clinician.

It is a UNION ALL of small querysets in one row shape (SHAPE), so a booking pays one round trip
instead of one per table; on PostgreSQL the same read is fixed SQL text
(scheduling.booking_facts_sql), which saves the ORM's compilation on every booking. It runs
after the booking's locks are taken: a booking that committed while this one waited for them
is seen. The rules that read the rows are pure
(scheduling.resources, scheduling.rechecks, scheduling.spacing); scheduling.slots.find_slots
keeps its own loaders.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    CharField,
    DateField,
    DateTimeField,
    F,
    Field,
    IntegerField,
    Q,
    QuerySet,
    TimeField,
    Value,
)
from django.db.models.functions import Cast

from scheduling.availability import ClinicCalendar, Interval, TimeSpan, WeeklyHours
from scheduling.blocked import Blocked
from scheduling.booking_facts_sql import facts_rows
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentType,
    BlockedTime,
    BookedVia,
    Closure,
    ExtraOpening,
    OpeningHours,
    SlotHold,
    WorkingHours,
)
from scheduling.resources import Closed, Taken
from scheduling.slots import utc_range
from scheduling.spacing import Spacing, week_of

# The one row shape every part of the query has: the part's name, then these columns (the
# calendar's and working hours' first, what is taken after), NULL where a part has no value.
SHAPE: dict[str, Field] = {
    "owner": IntegerField(),  # a clinician (working hours)
    "weekday": IntegerField(),
    "first": DateField(),
    "last": DateField(),
    "opens": TimeField(),
    "closes": TimeField(),
    "reason": CharField(),
    "room": IntegerField(),
    "clinician": IntegerField(),
    "patient": IntegerField(),
    "start": DateTimeField(),
    "end": DateTimeField(),
}


def _shaped(queryset: QuerySet[Any], part: str, **columns: Any) -> QuerySet[Any]:
    """`queryset` as rows of SHAPE: (part, *SHAPE), each column taken from `columns` or NULL
    (typed: PostgreSQL reads an untyped NULL in a UNION's first part as text)."""
    values = {
        f"shape_{name}": columns.get(name, Cast(Value(None), output_field=field))
        for name, field in SHAPE.items()
    }
    return (
        queryset.order_by()
        .annotate(shape_part=Value(part, output_field=CharField()), **values)
        .values_list("shape_part", *values)
    )


@dataclass(frozen=True)
class ClinicFacts:
    """The clinic's calendar for the days asked, its closures with their reasons, and each
    candidate clinician's weekly working hours (active clinicians only)."""

    calendar: ClinicCalendar
    closures: list[Closed]
    hours: dict[int, WeeklyHours]


def _facts_parts(
    first_day: dt.date, last_day: dt.date, clinician_ids: Sequence[int]
) -> list[QuerySet[Any]]:
    parts = [
        _shaped(
            OpeningHours.objects.all(),
            "weekly",
            weekday=F("weekday"),
            opens=F("opens"),
            closes=F("closes"),
        ),
        _shaped(
            Closure.objects.filter(start_date__lte=last_day, end_date__gte=first_day),
            "closure",
            first=F("start_date"),
            last=F("end_date"),
            reason=F("reason"),
        ),
        _shaped(
            ExtraOpening.objects.filter(date__range=(first_day, last_day)),
            "extra",
            first=F("date"),
            opens=F("opens"),
            closes=F("closes"),
        ),
    ]
    if clinician_ids:
        parts.append(
            _shaped(
                WorkingHours.objects.filter(
                    clinician_id__in=list(clinician_ids), clinician__active=True
                ),
                "work",
                owner=F("clinician_id"),
                weekday=F("weekday"),
                opens=F("starts"),
                closes=F("ends"),
            )
        )
    return parts


class _FactsReader:
    """Builds ClinicFacts from the calendar's and working hours' rows."""

    def __init__(self) -> None:
        self.weekly: dict[int, list[TimeSpan]] = defaultdict(list)
        self.extra: dict[dt.date, list[TimeSpan]] = defaultdict(list)
        self.hours: dict[int, dict[int, list[TimeSpan]]] = defaultdict(lambda: defaultdict(list))
        self.closures: list[Closed] = []

    def read(self, part: str, row: dict[str, Any]) -> None:
        span = (row["opens"], row["closes"])
        if part == "weekly":
            self.weekly[row["weekday"]].append(span)
        elif part == "closure":
            self.closures.append(Closed(row["first"], row["last"], row["reason"]))
        elif part == "extra":
            self.extra[row["first"]].append(span)
        else:
            self.hours[row["owner"]][row["weekday"]].append(span)

    def facts(self, tz: ZoneInfo) -> ClinicFacts:
        calendar = ClinicCalendar(
            tz=tz,
            weekly=dict(self.weekly),
            closures=[(closure.first, closure.last) for closure in self.closures],
            extra_openings=dict(self.extra),
        )
        hours: dict[int, WeeklyHours] = {
            clinician: dict(days) for clinician, days in self.hours.items()
        }
        return ClinicFacts(calendar=calendar, closures=self.closures, hours=hours)


TAKEN_COLUMNS = {
    "room": F("room_id"),
    "clinician": F("clinician_id"),
    "start": F("start"),
    "end": F("end"),
}


@dataclass(frozen=True)
class Window:
    """What is taken around a booking's sessions (scheduling.resources.Taken rows): active
    appointments (`booked`) and live holds (`held`); the starts of the patient's other active
    treatment visits near each session (`treatments`, when asked); how many upcoming online
    bookings of the type the patient has (`online_upcoming`, when asked); blocked time on the
    candidate rooms and clinicians (`blocked`)."""

    booked: list[Taken]
    held: list[Taken]
    treatments: list[dt.datetime]
    online_upcoming: int
    blocked: list[Blocked] = field(default_factory=list)


@dataclass(frozen=True)
class WindowQuery:
    """What load_booking_facts asks about: the sessions, the candidate rooms and clinicians, the
    patient (None for a hold), the instant holds are live at, the hold to leave out (the
    booking's own), the appointment to leave out (one being moved), the spacing whose
    neighbourhood of each session to read the patient's treatment visits in (None: not a
    treatment), and the type whose upcoming online bookings to count (None: no cap)."""

    sessions: Sequence[Interval]
    room_ids: Sequence[int]
    clinician_ids: Sequence[int]
    patient_id: int | None
    now: dt.datetime
    tz: ZoneInfo
    hold_key: str | None = None
    exclude_id: int | None = None
    spacing: Spacing | None = None
    online_type: AppointmentType | None = None


def _overlapping_any(sessions: Sequence[Interval]) -> Q:
    return reduce(
        operator.or_, (Q(start__lt=session.end, end__gt=session.start) for session in sessions)
    )


def _near_any(sessions: Sequence[Interval], spacing: Spacing, tz: ZoneInfo) -> Q:
    """Starts the spacing rule compares a session with: within the minimum gap of it, or in its
    clinic week (scheduling.spacing)."""
    near = []
    for session in sessions:
        monday = week_of(session.start, tz)
        week = utc_range(monday, monday + dt.timedelta(days=6), tz)
        gap = spacing.min_gap
        near.append(Q(start__gt=session.start - gap, start__lt=session.start + gap))
        near.append(Q(start__gte=week.start, start__lt=week.end))
    return reduce(operator.or_, near)


def _window_parts(query: WindowQuery) -> list[QuerySet[Any]]:
    sessions = query.sessions
    span = Interval(min(s.start for s in sessions), max(s.end for s in sessions))
    uses_resources = Q(room_id__in=list(query.room_ids)) | Q(
        clinician_id__in=list(query.clinician_ids)
    )
    whose = uses_resources | Q(patient_id=query.patient_id) if query.patient_id else uses_resources
    overlapping = (
        Appointment.objects.active()
        .overlapping(span.start, span.end)
        .exclude(pk=query.exclude_id or 0)
    )
    if len(sessions) > 1:
        overlapping = overlapping.filter(_overlapping_any(sessions))
    held = (
        SlotHold.objects.live(query.now)
        .filter(start__lt=span.end, end__gt=span.start)
        .filter(_overlapping_any(sessions), uses_resources)
        .exclude(key=query.hold_key or "")
    )
    blocked = (
        BlockedTime.objects.overlapping(span.start, span.end)
        .filter(_overlapping_any(sessions))
        .filter(uses_resources)
    )
    patient_column = {"patient": F("patient_id")}
    parts = [
        _shaped(overlapping.filter(whose), "booked", **TAKEN_COLUMNS, **patient_column),
        _shaped(held, "held", **TAKEN_COLUMNS),
        _shaped(blocked, "blocked", **TAKEN_COLUMNS, reason=F("reason")),
    ]
    if query.patient_id is None:
        return parts
    mine = Appointment.objects.active().filter(patient_id=query.patient_id)
    if query.spacing is not None:
        treatments = (
            mine.filter(appointment_type__needs_clearance=True)
            .filter(_near_any(sessions, query.spacing, query.tz))
            .exclude(pk=query.exclude_id or 0)
        )
        parts.append(_shaped(treatments, "treatment", start=F("start")))
    if query.online_type is not None:
        upcoming = mine.filter(
            appointment_type=query.online_type, booked_via=BookedVia.ONLINE, start__gt=query.now
        )
        parts.append(_shaped(upcoming, "online", start=F("start")))
    return parts


FACT_PARTS = frozenset({"weekly", "closure", "extra", "work"})


def _sql_params(query: WindowQuery, first_day: dt.date, last_day: dt.date) -> dict[str, Any]:
    """FACTS_SQL's parameters: the same question as _facts_parts and _window_parts ask."""
    sessions = query.sessions
    near: dict[str, list[dt.datetime]] = {"gap_lo": [], "gap_hi": [], "week_lo": [], "week_hi": []}
    if query.spacing is not None:
        gap = query.spacing.min_gap
        for session in sessions:
            monday = week_of(session.start, query.tz)
            week = utc_range(monday, monday + dt.timedelta(days=6), query.tz)
            near["gap_lo"].append(session.start - gap)
            near["gap_hi"].append(session.start + gap)
            near["week_lo"].append(week.start)
            near["week_hi"].append(week.end)
    return {
        "first_day": first_day,
        "last_day": last_day,
        "clinicians": list(query.clinician_ids),
        "rooms": list(query.room_ids),
        "active": [str(status) for status in ACTIVE_STATUSES],
        "span_start": min(s.start for s in sessions),
        "span_end": max(s.end for s in sessions),
        "starts": [s.start for s in sessions],
        "ends": [s.end for s in sessions],
        "exclude": query.exclude_id or 0,
        "patient": query.patient_id,
        "now": query.now,
        "hold_key": query.hold_key or "",
        "online_type": query.online_type.pk if query.online_type is not None else None,
        "online": str(BookedVia.ONLINE),
        **near,
    }


def _rows(query: WindowQuery, first_day: dt.date, last_day: dt.date) -> list[tuple[Any, ...]]:
    """The read's rows: (part, *SHAPE). Fixed SQL on PostgreSQL, the ORM's union elsewhere."""
    if connection.vendor == "postgresql":
        return facts_rows(_sql_params(query, first_day, last_day))
    first, *rest = [*_facts_parts(first_day, last_day, query.clinician_ids), *_window_parts(query)]
    return list(first.union(*rest, all=True))


def load_booking_facts(query: WindowQuery) -> tuple[ClinicFacts, Window]:
    """The calendar for the sessions' days and the candidate clinicians' working hours, and what
    is taken around the sessions: one query (see the module docstring). Call under the
    booking's locks."""
    tz = query.tz
    first_day = query.sessions[0].start.astimezone(tz).date()
    last_day = query.sessions[-1].end.astimezone(tz).date()
    facts = _FactsReader()
    booked: list[Taken] = []
    held: list[Taken] = []
    treatments: list[dt.datetime] = []
    blocked: list[Blocked] = []
    online = 0
    for part, *values in _rows(query, first_day, last_day):
        if part in FACT_PARTS:
            facts.read(part, dict(zip(SHAPE, values, strict=True)))
            continue
        room, clinician, patient, start, end = values[7:]
        if part == "blocked":
            blocked.append(Blocked(room, clinician, values[6], start, end))
        elif part == "booked":
            booked.append(Taken(room, clinician, patient, start, end))
        elif part == "held":
            held.append(Taken(room, clinician, None, start, end))
        elif part == "treatment":
            treatments.append(start)
        else:
            online += 1
    window = Window(
        booked=booked,
        held=held,
        treatments=treatments,
        online_upcoming=online,
        blocked=blocked,
    )
    return facts.facts(tz), window
