"""Clinic wall-clock helpers for tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LA = ZoneInfo("America/Los_Angeles")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """`hour:minute` clinic time on `day`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LA)
