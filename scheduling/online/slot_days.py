"""The slot picker by day: one day's free times in morning, afternoon and evening groups, a row of
days with their count of free times, and the next day with a free time when the chosen one has
none. Pure: the free starts of the online window in, what the picker shows out; and how much of
the window a page needs computed to show what the whole window would (`settled`).

A phone shows a day at a glance: never more than MOST_SHOWN times at once. A day with more shows
the first few of each group and keeps the rest behind a "more times" disclosure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The row of days pages by fortnight from the first bookable weekday: ten weekdays to choose from.
ROW_DAYS = 14
MORNING_ENDS = 12  # local hour: before noon is morning,
AFTERNOON_ENDS = 17  # before five the afternoon, then the evening
MOST_SHOWN = 20
SHOWN_PER_GROUP = 6  # with more than MOST_SHOWN times, so at most 3 x 6 show


@dataclass(frozen=True)
class TimeGroup:
    name: str  # "morning", "afternoon" or "evening"
    shown: list[dt.datetime]
    more: list[dt.datetime]  # behind the disclosure


@dataclass(frozen=True)
class SlotDays:
    day: dt.date  # the day whose times are shown
    groups: list[TimeGroup]  # only groups with times
    row: list[tuple[dt.date, int]]  # days to switch to, with their count of free times
    next_available: dt.date | None  # the first later day with a free time, when `day` has none
    earlier: dt.date | None  # a day in the previous row, if any
    later: dt.date | None  # a day in the next row, if any
    first_start: dt.datetime | None  # the earliest free start of the whole window

    @property
    def count(self) -> int:
        return sum(len(group.shown) + len(group.more) for group in self.groups)


def _first_weekday(day: dt.date) -> dt.date:
    """The clinic's own Saturdays are never booked online: a window opening on a weekend starts
    its first row on the Monday after."""
    return day + dt.timedelta(days=(7 - day.weekday()) % 7) if day.weekday() >= 5 else day


def group_name(start: dt.datetime) -> str:
    """Morning, afternoon or evening, by the local wall clock of `start`."""
    if start.hour < MORNING_ENDS:
        return "morning"
    return "afternoon" if start.hour < AFTERNOON_ENDS else "evening"


def time_groups(starts: list[dt.datetime]) -> list[TimeGroup]:
    """Local starts of one day, in order, grouped; split into shown and more when there are more
    than MOST_SHOWN."""
    named: dict[str, list[dt.datetime]] = {}
    for start in starts:
        named.setdefault(group_name(start), []).append(start)
    keep = len(starts) if len(starts) <= MOST_SHOWN else SHOWN_PER_GROUP
    return [TimeGroup(name, times[:keep], times[keep:]) for name, times in named.items()]


def slot_days(
    starts_by_day: dict[dt.date, list[dt.datetime]],
    *,
    first_day: dt.date,
    last_day: dt.date,
    wanted: dt.date | None,
) -> SlotDays:
    """What the picker shows for the `wanted` day (None: the first day with a free time). A day
    outside the window, or none wanted, falls back to the first available day: an old link or a
    made-up date never shows a past day or one beyond the window.

    `starts_by_day` holds local starts per local day, for days between first_day and last_day.
    """
    first = _first_weekday(first_day)
    available = sorted(day for day, starts in starts_by_day.items() if starts)
    if wanted is None or not first_day <= wanted <= last_day:
        wanted = available[0] if available else first
    day = max(wanted, first) if not starts_by_day.get(wanted) else wanted
    row_start = first + dt.timedelta(days=(day - first).days // ROW_DAYS * ROW_DAYS)
    row_days = (row_start + dt.timedelta(days=offset) for offset in range(ROW_DAYS))
    row = [
        (one, len(starts_by_day.get(one, [])))
        for one in row_days
        if first_day <= one <= last_day and (one.weekday() < 5 or starts_by_day.get(one))
    ]
    starts = starts_by_day.get(day, [])
    previous_row = row_start - dt.timedelta(days=ROW_DAYS)
    next_row = row_start + dt.timedelta(days=ROW_DAYS)
    return SlotDays(
        day=day,
        groups=time_groups(starts),
        row=row,
        next_available=None if starts else next((one for one in available if one > day), None),
        earlier=_first_in(available, previous_row, row_start) if row_start > first else None,
        later=_first_in(available, next_row, next_row + dt.timedelta(days=ROW_DAYS))
        if next_row <= last_day
        else None,
        first_start=starts_by_day[available[0]][0] if available else None,
    )


def needed_through(first_day: dt.date, last_day: dt.date, wanted: dt.date | None) -> dt.date:
    """The last day the picker for `wanted` may need when times are there: its row and the next
    (whose first free day the "later" link names). A page that shows no time, or a row with no
    free day, may need more (see `settled`)."""
    first = _first_weekday(first_day)
    day = wanted if wanted is not None and first_day <= wanted <= last_day else first
    row_start = first + dt.timedelta(days=(max(day, first) - first).days // ROW_DAYS * ROW_DAYS)
    return min(last_day, row_start + dt.timedelta(days=2 * ROW_DAYS - 1))


def settled(
    starts_by_day: dict[dt.date, list[dt.datetime]],
    *,
    first_day: dt.date,
    last_day: dt.date,
    through: dt.date,
    wanted: dt.date | None,
) -> bool:
    """Whether slot_days over the days from first_day to `through` alone gives what it gives over
    the whole window for `wanted`: the chosen day, its row, the "earlier" and "later" links, the
    next available day and the window's first free start (some free day must be known)."""
    if through >= last_day:
        return True
    available = sorted(day for day, starts in starts_by_day.items() if starts and day <= through)
    if not available:
        return False
    first = _first_weekday(first_day)
    if wanted is None or not first_day <= wanted <= last_day:
        wanted = available[0]
    day = max(wanted, first) if not starts_by_day.get(wanted) else wanted
    if day > through or through < needed_through(first_day, last_day, day):
        return False
    return bool(starts_by_day.get(day)) or available[-1] > day


def _first_in(available: list[dt.date], start: dt.date, end: dt.date) -> dt.date:
    """The first day with a free time in [start, end), or `start` (the row's first day) if none."""
    return next((day for day in available if start <= day < end), start)
