"""The grid: which cells of which open day each room, clinician and patient holds, and the
no-overlap allocation of a start, a room and a clinician on it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from demo.scale_data.parameters import UTC
from scheduling.models import AppointmentStatus, BookedVia


@dataclass
class _Type:
    code: str
    minutes: int
    kind: str
    needs_clearance: bool
    cells: int = 0


@dataclass
class _Slot:
    patient: int
    code: str
    day: int
    cell: int
    room: int
    clinician: int
    start: dt.datetime
    end: dt.datetime
    booked_at: dt.datetime = field(default=dt.datetime.min.replace(tzinfo=UTC))
    via: str = BookedVia.STAFF
    course: int | None = None
    confirm: bool = True
    status: str = AppointmentStatus.BOOKED
    changed_at: dt.datetime | None = None
    reason: str = ""


def _minutes(moment: dt.time | dt.datetime) -> int:
    return moment.hour * 60 + moment.minute


class _Grid:
    """Bitmasks of taken cells per room, clinician and open day; a patient's taken days."""

    def __init__(
        self,
        *,
        days: list[dt.date],
        spans: list[list[tuple[dt.time, dt.time]]],
        tz: ZoneInfo,
        cell: int,
        hours: list[dict[int, list[tuple[dt.time, dt.time]]]],
        rooms: dict[str, list[int]],
    ) -> None:
        self.days, self.tz, self.cell, self.hours, self.rooms = days, tz, cell, hours, rooms
        self.index = {day: i for i, day in enumerate(days)}
        self.spans = [[self._cells(o, c) for o, c in day_spans] for day_spans in spans]
        self.clinician_busy = [[0] * len(days) for _ in hours]
        self.room_busy = {pk: [0] * len(days) for pks in rooms.values() for pk in pks}
        self.patient_days: dict[int, set[int]] = defaultdict(set)
        self.load = [0] * len(days)
        self._masks: dict[tuple[Any, ...], int] = {}

    def _cells(self, opens: dt.time, closes: dt.time) -> tuple[int, int]:
        return -(-_minutes(opens) // self.cell), _minutes(closes) // self.cell

    def instant(self, day: int, cell: int) -> dt.datetime:
        wall = dt.time(*divmod(cell * self.cell, 60))
        return dt.datetime.combine(self.days[day], wall, tzinfo=self.tz).astimezone(UTC)

    def starts(self, day: int, cells: int, clinician: int | None = None) -> int:
        """Start cells at which `cells` fit inside one opening window (and one working span)."""
        spans = tuple(self.spans[day])
        weekday = self.days[day].weekday()
        key = (spans, weekday, cells, clinician)
        if key not in self._masks:
            if clinician is not None:
                work = [self._cells(s, e) for s, e in self.hours[clinician].get(weekday, ())]
                spans = tuple(
                    (max(a, x), min(b, y))
                    for a, b in spans
                    for x, y in work
                    if max(a, x) < min(b, y)
                )
            mask = 0
            for a, b in spans:
                for start in range(a, b - cells + 1):
                    mask |= 1 << start
            self._masks[key] = mask
        return self._masks[key]

    @staticmethod
    def _free(busy: int, cells: int) -> int:
        blocked = busy
        for shift in range(1, cells):
            blocked |= busy >> shift
        return ~blocked

    def occupy(
        self, *, day: int, lo: int, hi: int, room: int | None, clinician: int | None
    ) -> None:
        bits = ((1 << (hi - lo)) - 1) << lo
        if room in self.room_busy:
            self.room_busy[room][day] |= bits
        if clinician is not None:
            self.clinician_busy[clinician][day] |= bits
            self.load[day] += hi - lo

    def place(
        self, *, day: int, cells: int, kind: str, patient: int, near: int, clinician: int | None
    ) -> tuple[int, int, int] | None:
        """Take the free start nearest cell `near` on `day`, with a free room of `kind` and a free
        working clinician (`clinician` first, then the least busy): (cell, room, clinician)."""
        if day in self.patient_days[patient]:
            return None
        rooms = []
        any_room = 0
        for room in self.rooms[kind]:
            mask = self.starts(day, cells) & self._free(self.room_busy[room][day], cells)
            if mask:
                rooms.append((self.room_busy[room][day].bit_count(), room, mask))
                any_room |= mask
        if not any_room:
            return None
        order = sorted(
            range(len(self.hours)),
            key=lambda c: (c != clinician, self.clinician_busy[c][day].bit_count(), c),
        )
        for chosen in order:
            busy = self.clinician_busy[chosen][day]
            mask = any_room & self.starts(day, cells, chosen) & self._free(busy, cells)
            if not mask:
                continue
            start = min(_bits(mask), key=lambda bit: (abs(bit - near), bit))
            room = min(r for r in rooms if r[2] >> start & 1)[1]
            self.occupy(day=day, lo=start, hi=start + cells, room=room, clinician=chosen)
            self.patient_days[patient].add(day)
            return start, room, chosen
        return None

    def release(self, slot: _Slot, cells: int) -> None:
        keep = ~(((1 << cells) - 1) << slot.cell)
        self.room_busy[slot.room][slot.day] &= keep
        self.clinician_busy[slot.clinician][slot.day] &= keep
        self.load[slot.day] -= cells
        self.patient_days[slot.patient].discard(slot.day)

    def capacity(self, kind: str | None = None) -> int:
        """Free cells of every clinician (kind None) or every room of `kind`, whole window."""
        total = 0
        for day in range(len(self.days)):
            if kind is None:
                for c, busy in enumerate(self.clinician_busy):
                    total += (self.starts(day, 1, c) & ~busy[day]).bit_count()
            else:
                for room in self.rooms[kind]:
                    total += (self.starts(day, 1) & ~self.room_busy[room][day]).bit_count()
        return total


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
