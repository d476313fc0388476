"""When the clinic can promise a crisis call (CRISIS_CALL_*, settings): pure wall-clock rules
over a CallHours value, so they are right on the days clocks change (intake.crisis queues the
on-call text for the next opening outside these hours).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings


@dataclass(frozen=True)
class CallHours:
    """When the clinic can promise a clinician's call: weekdays (0 = Monday) from `start` to
    `end` o'clock, wall-clock time in `zone`."""

    weekdays: frozenset[int]
    start: int
    end: int
    zone: ZoneInfo


def call_hours() -> CallHours:
    return CallHours(
        weekdays=frozenset(settings.CRISIS_CALL_WEEKDAYS),
        start=settings.CRISIS_CALL_HOURS_START,
        end=settings.CRISIS_CALL_HOURS_END,
        zone=ZoneInfo(settings.CLINIC_TIME_ZONE),
    )


def _at(day: dt.date, hour: int, zone: ZoneInfo) -> dt.datetime:
    if hour == 24:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)


def clinic_open(now: dt.datetime, hours: CallHours) -> bool:
    local = now.astimezone(hours.zone)
    day = local.date()
    return day.weekday() in hours.weekdays and _at(day, hours.start, hours.zone) <= local < _at(
        day, hours.end, hours.zone
    )


def next_opening(now: dt.datetime, hours: CallHours) -> dt.datetime:
    """`now` when the clinic is open, else the start of its next opening (an aware datetime in
    the clinic's zone; wall-clock hours, so right on the days clocks change)."""
    if clinic_open(now, hours):
        return now
    local = now.astimezone(hours.zone)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        opens = _at(day, hours.start, hours.zone)
        if day.weekday() in hours.weekdays and opens > local:
            return opens
    raise ValueError("no opening within a week")  # CallHours always has a weekday (settings)
