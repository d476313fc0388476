"""The availability engine: opening hours and busy intervals in, free slots out.

Pure functions over plain values: no ORM, no clock, no settings. Hours are wall-clock times in the
clinic's zone; every instant that comes in or goes out is an aware datetime. Slots are stepped in
local wall-clock time and their length is real elapsed time, so a 9:00 slot is 9:00 local on both
sides of a daylight-saving change and a 120-minute infusion is 120 minutes long even across one.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from zoneinfo import ZoneInfo

TimeSpan = tuple[dt.time, dt.time]
WeeklyHours = Mapping[int, Sequence[TimeSpan]]  # weekday (Monday = 0) -> wall-clock spans

UTC = dt.UTC


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open span of time [start, end) between two aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start < end and start < self.end

    def contains(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start <= start and end <= self.end


def local_interval(day: dt.date, span: TimeSpan, tz: ZoneInfo) -> Interval:
    """The instants a wall-clock span covers on `day` in `tz`, in UTC."""
    start = dt.datetime.combine(day, span[0], tzinfo=tz)
    end = dt.datetime.combine(day, span[1], tzinfo=tz)
    return Interval(start.astimezone(UTC), end.astimezone(UTC))


def days(start_date: dt.date, end_date: dt.date) -> Iterator[dt.date]:
    """Every date from start_date to end_date inclusive."""
    for offset in range((end_date - start_date).days + 1):
        yield start_date + dt.timedelta(days=offset)


@dataclass(frozen=True)
class ClinicCalendar:
    """When the clinic is open: weekly hours, whole-day closures and extra (staff-only) openings."""

    tz: ZoneInfo
    weekly: WeeklyHours
    closures: Sequence[tuple[dt.date, dt.date]] = ()  # inclusive first and last day
    extra_openings: Mapping[dt.date, Sequence[TimeSpan]] = field(default_factory=dict)

    def is_closed(self, day: dt.date) -> bool:
        return any(first <= day <= last for first, last in self.closures)

    def spans(self, day: dt.date, *, include_extra: bool) -> list[TimeSpan]:
        """The wall-clock spans the clinic is open on `day`; a closure beats any opening."""
        if self.is_closed(day):
            return []
        spans = list(self.weekly.get(day.weekday(), ()))
        if include_extra:
            spans.extend(self.extra_openings.get(day, ()))
        return sorted(spans)

    def windows(self, day: dt.date, *, include_extra: bool) -> list[Interval]:
        return [
            local_interval(day, span, self.tz)
            for span in self.spans(day, include_extra=include_extra)
        ]

    def is_open_for(self, start: dt.datetime, end: dt.datetime, *, include_extra: bool) -> bool:
        """Whether [start, end) lies inside one opening window of its local day."""
        day = start.astimezone(self.tz).date()
        return any(w.contains(start, end) for w in self.windows(day, include_extra=include_extra))


class BusyIndex:
    """Answers "is anything busy in [start, end)?" in O(log n) for a fixed list of intervals."""

    def __init__(self, intervals: Sequence[Interval]) -> None:
        ordered = sorted(intervals)
        self._starts = [interval.start for interval in ordered]
        # Running maximum of ends, so overlapping inputs are answered correctly too.
        self._max_ends = list(accumulate((interval.end for interval in ordered), max))

    def is_busy(self, start: dt.datetime, end: dt.datetime) -> bool:
        before_end = bisect.bisect_left(self._starts, end)
        return before_end > 0 and self._max_ends[before_end - 1] > start


@dataclass(frozen=True)
class Resource:
    """A room or clinician: its busy intervals and, for clinicians, weekly working hours.

    `hours=None` means the resource is available whenever the clinic is open (rooms).
    """

    id: int
    busy: Sequence[Interval] = ()
    hours: WeeklyHours | None = None

    def index(self) -> BusyIndex:
        return BusyIndex(self.busy)


def works_during(
    hours: WeeklyHours | None, start: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> bool:
    if hours is None:
        return True
    day = start.astimezone(tz).date()
    return any(
        local_interval(day, span, tz).contains(start, end) for span in hours.get(day.weekday(), ())
    )


class WorkingDays:
    """works_during for one resource, each local day's working windows turned into instants
    once: free_slots asks for every candidate start, and converting the wall-clock spans each
    time was most of its cost (the answers are the same)."""

    def __init__(self, hours: WeeklyHours | None, tz: ZoneInfo) -> None:
        self._hours = hours
        self._tz = tz
        self._windows: dict[dt.date, list[Interval]] = {}

    def works_during(self, start: dt.datetime, end: dt.datetime) -> bool:
        if self._hours is None:
            return True
        day = start.astimezone(self._tz).date()
        windows = self._windows.get(day)
        if windows is None:
            spans = self._hours.get(day.weekday(), ())
            windows = self._windows[day] = [local_interval(day, s, self._tz) for s in spans]
        return any(window.contains(start, end) for window in windows)


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    room_ids: tuple[int, ...]
    clinician_ids: tuple[int, ...]


def candidate_starts(
    day: dt.date, span: TimeSpan, tz: ZoneInfo, duration: dt.timedelta, step: dt.timedelta
) -> Iterator[Interval]:
    """Slots stepped in wall-clock time from the span's opening, each `duration` long, that end
    by the span's close. Wall times that do not exist on a DST day are skipped."""
    window = local_interval(day, span, tz)
    wall = dt.datetime.combine(day, span[0])
    while True:
        start = wall.replace(tzinfo=tz).astimezone(UTC)
        end = start + duration
        if end > window.end:
            return
        if start.astimezone(tz).replace(tzinfo=None) == wall:
            yield Interval(start, end)
        wall += step


def free_slots(
    *,
    calendar: ClinicCalendar,
    start_date: dt.date,
    end_date: dt.date,
    duration: dt.timedelta,
    step: dt.timedelta,
    rooms: Sequence[Resource],
    clinicians: Sequence[Resource] = (),
    needs_clinician: bool = True,
    patient_busy: Sequence[Interval] = (),
    include_extra_openings: bool = False,
    not_before: dt.datetime | None = None,
) -> list[Slot]:
    """Every start between start_date and end_date (local, inclusive) at which a room and, when
    needed, a clinician are both free for `duration`, inside opening hours and, for clinicians,
    their working hours. Each slot lists every free room and clinician, in the order given."""
    if duration <= dt.timedelta(0) or step <= dt.timedelta(0):
        raise ValueError("duration and step must be positive")
    tz = calendar.tz
    room_index = [(room, WorkingDays(room.hours, tz), room.index()) for room in rooms]
    clinician_index = [(one, WorkingDays(one.hours, tz), one.index()) for one in clinicians]
    patient_index = BusyIndex(patient_busy)
    slots: list[Slot] = []
    for day in days(start_date, end_date):
        seen: set[dt.datetime] = set()  # an extra opening may overlap the weekly hours
        for span in calendar.spans(day, include_extra=include_extra_openings):
            for candidate in candidate_starts(day, span, tz, duration, step):
                start, end = candidate.start, candidate.end
                if start in seen or (not_before is not None and start < not_before):
                    continue
                seen.add(start)
                if patient_index.is_busy(start, end):
                    continue
                free_rooms = tuple(
                    room.id
                    for room, working, index in room_index
                    if working.works_during(start, end) and not index.is_busy(start, end)
                )
                if not free_rooms:
                    continue
                free_clinicians = tuple(
                    clinician.id
                    for clinician, working, index in clinician_index
                    if working.works_during(start, end) and not index.is_busy(start, end)
                )
                if needs_clinician and not free_clinicians:
                    continue
                slots.append(Slot(start, end, free_rooms, free_clinicians))
    return slots


def one_a_day_first(starts: Sequence[dt.datetime], tz: ZoneInfo) -> list[dt.datetime]:
    """`starts` in their order, but the first of each local day in `tz` before any second start
    on a day: a short list of options then spreads over days."""
    first_per_day: list[dt.datetime] = []
    seen: set[dt.date] = set()
    for start in starts:
        day = start.astimezone(tz).date()
        if day not in seen:
            seen.add(day)
            first_per_day.append(start)
    rest = [start for start in starts if start not in first_per_day]
    return first_per_day + rest
