"""Clinic wall-clock helpers for tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import time_machine

LA = ZoneInfo("America/Los_Angeles")

# The week most tests live in: Monday 4 January 2027 (standard time, no clock change near).
MONDAY = dt.date(2027, 1, 4)
TUESDAY = dt.date(2027, 1, 5)
WEDNESDAY = dt.date(2027, 1, 6)
THURSDAY = dt.date(2027, 1, 7)
SATURDAY = dt.date(2027, 1, 9)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """`hour:minute` clinic time on `day`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LA)


def stopped_clock(when: dt.datetime) -> Iterator[time_machine.Traveller]:
    """The body of a clock fixture (`yield from stopped_clock(NOW)`): the clock stands at `when`
    for the whole test (tick=False) and the test may move it with the traveller it gets."""
    with time_machine.travel(when, tick=False) as traveller:
        yield traveller
