"""How far apart treatment visits must be: the one home of the clinic's spacing rule.

Infusions (appointment types that need a clinician's clearance) start at least `min_gap` apart
(48 hours by default) and at most `max_per_week` fall in one Monday-Sunday week of the clinic's
calendar (2 by default), in a course or not. The booking service, the course planner and the
course services all ask these functions. Pure: plain values in, no ORM, clock or settings
(scheduling.policy.spacing_policy reads the settings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from scheduling.availability import Interval


@dataclass(frozen=True)
class Spacing:
    min_gap: dt.timedelta = dt.timedelta(hours=48)
    max_per_week: int = 2


def week_of(start: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The Monday (clinic-local) of the week `start` falls in."""
    day = start.astimezone(tz).date()
    return day - dt.timedelta(days=day.weekday())


def too_close(start: dt.datetime, other: dt.datetime, spacing: Spacing) -> bool:
    """Whether two treatment starts are less than the minimum gap apart (either order), in
    elapsed time: both go to UTC first, since Python subtracts two datetimes of the same zone as
    wall-clock times."""
    return abs(start.astimezone(dt.UTC) - other.astimezone(dt.UTC)) < spacing.min_gap


def first_too_close(
    start: dt.datetime, others: Iterable[dt.datetime], spacing: Spacing
) -> dt.datetime | None:
    """The earliest of `others` that starts less than the minimum gap from `start`, or None."""
    close = sorted(other for other in others if too_close(start, other, spacing))
    return close[0] if close else None


def week_is_full(
    start: dt.datetime, others: Iterable[dt.datetime], spacing: Spacing, tz: ZoneInfo
) -> bool:
    """Whether `others` already fill the clinic week of `start` (adding it would break the cap)."""
    week = week_of(start, tz)
    return sum(1 for other in others if week_of(other, tz) == week) >= spacing.max_per_week


def keep_away(
    starts: Iterable[dt.datetime], spacing: Spacing, duration: dt.timedelta
) -> list[Interval]:
    """Busy intervals that keep a new visit of `duration` at least the minimum gap from each of
    `starts`: a start X overlaps [S - gap + duration, S + gap) exactly when |X - S| < gap, so a
    free-slot search that treats these as busy offers only well-spaced starts."""
    gap = spacing.min_gap
    utc = [start.astimezone(dt.UTC) for start in starts]
    return [Interval(start - gap + duration, start + gap) for start in utc]
