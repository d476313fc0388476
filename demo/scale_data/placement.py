"""The plan's patients and courses, and placing one slot: a free cell on the grid, when it was
booked, and what became of it."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from demo.scale_data.answers import _Template
from demo.scale_data.grid import _Grid, _Slot, _Type
from demo.scale_data.parameters import CANCEL_REASONS, UTC
from scheduling.courses.planner import CourseRules
from scheduling.models import AppointmentStatus, CourseStatus


@dataclass
class _Patient:
    index: int
    dob: dt.date
    email_ok: bool
    sms_ok: bool
    clinician: int
    created_at: dt.datetime | None = None
    pool: str = ""
    template: int = 0
    screening: str = ""  # "", "draft" or "submitted"
    submitted_at: dt.datetime | None = None
    alert_acknowledged_at: dt.datetime | None = None
    decision: str = ""
    decided_at: dt.datetime | None = None
    valid_until: dt.date | None = None
    consult: _Slot | None = None
    course: int | None = None
    last_treatment: dt.date | None = None

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass
class _Course:
    patient: int
    weeks: int
    booked_at: dt.datetime
    sessions: list[_Slot]
    status: str = CourseStatus.ACTIVE


class _Placement:
    """The plan's state (patients, slots, courses, one seeded random source) and the helpers that
    place, date and settle a single slot; _Planner's journeys are built on them."""

    def __init__(
        self,
        *,
        grid: _Grid,
        types: dict[str, _Type],
        templates: dict[str, list[_Template]],
        rules: CourseRules,
        clearance_days: int,
        seed: int,
        now: dt.datetime,
    ) -> None:
        self.grid, self.types, self.templates, self.rules = grid, types, templates, rules
        self.clearance_days = clearance_days
        self.rng = random.Random(seed)  # noqa: S311 - fake data, not security
        self.now = now
        self.today = now.astimezone(grid.tz).date()
        self.patients: list[_Patient] = []
        self.slots: list[_Slot] = []
        self.courses: list[_Course] = []

    # Helpers --------------------------------------------------------------------------------

    def _around(self, target: int, lo: int, hi: int, spread: int) -> Iterator[int]:
        for offset in range(spread + 1):
            for day in (target + offset, target - offset) if offset else (target,):
                if lo <= day <= hi:
                    yield day

    def _last_day_before(self, date: dt.date) -> int:
        return max((i for i, day in enumerate(self.grid.days) if day <= date), default=-1)

    def _business_moment(self, date: dt.date) -> dt.datetime:
        wall = dt.time(8 + self.rng.randrange(10), self.rng.randrange(60))
        return dt.datetime.combine(date, wall, tzinfo=self.grid.tz).astimezone(UTC)

    def _booked_at(
        self,
        *,
        lo: dt.datetime,
        start: dt.datetime,
        lead: tuple[int, int],
        notice: dt.timedelta = dt.timedelta(hours=1),
    ) -> dt.datetime | None:
        """When the booking was made: about `lead` days ahead, after `lo`, never after now and
        at least `notice` before the start; None when no such moment exists."""
        hi = min(self.now, start - notice)
        if hi - lo < dt.timedelta(minutes=2):
            return None
        wanted = start.astimezone(self.grid.tz).date() - dt.timedelta(days=self.rng.randint(*lead))
        moment = self._business_moment(wanted)
        if not lo < moment <= hi:
            moment = lo + (hi - lo) * self.rng.uniform(0.05, 1.0)
        return max(moment.replace(microsecond=0), lo + dt.timedelta(minutes=1))

    def _place(
        self, patient: _Patient, code: str, days: Iterator[int], near: int | None = None
    ) -> _Slot | None:
        kind = self.types[code]
        for day in days:
            spans = self.grid.spans[day]
            if not spans:
                continue
            if near is None:
                a, b = spans[self.rng.randrange(len(spans))]
                near = self.rng.randint(a, max(a, b - kind.cells))
            placed = self.grid.place(
                day=day,
                cells=kind.cells,
                kind=kind.kind,
                patient=patient.index,
                near=near,
                clinician=patient.clinician,
            )
            if placed:
                cell, room, clinician = placed
                start = self.grid.instant(day, cell)
                end = start + dt.timedelta(minutes=kind.minutes)
                return _Slot(patient.index, code, day, cell, room, clinician, start, end)
        return None

    def _keep(self, slot: _Slot, booked_at: dt.datetime | None) -> bool:
        """Record `slot` booked at `booked_at` and give it a status; release it if None."""
        if booked_at is None:
            self.grid.release(slot, self.types[slot.code].cells)
            return False
        slot.booked_at = booked_at
        r = self.rng.random()
        if slot.end <= self.now:
            if r < 0.06:
                slot.status, slot.reason = (
                    AppointmentStatus.CANCELLED,
                    self.rng.choice(CANCEL_REASONS),
                )
                slot.changed_at = booked_at + (slot.start - booked_at) * self.rng.uniform(0.2, 0.95)
            elif r < 0.10:
                slot.status = AppointmentStatus.NO_SHOW
                slot.changed_at = slot.start + dt.timedelta(minutes=30)
            else:
                slot.status = AppointmentStatus.COMPLETED
                slot.changed_at = slot.end - dt.timedelta(minutes=5)
        elif slot.start <= self.now:
            slot.status = AppointmentStatus.CHECKED_IN
            slot.changed_at = slot.start - dt.timedelta(minutes=10)
        elif r < 0.05:
            slot.status, slot.reason = AppointmentStatus.CANCELLED, self.rng.choice(CANCEL_REASONS)
            slot.changed_at = booked_at + (self.now - booked_at) * self.rng.uniform(0.2, 1.0)
        if slot.changed_at is not None:
            slot.changed_at = slot.changed_at.replace(microsecond=0)
        self.slots.append(slot)
        if self.types[slot.code].needs_clearance:
            patient = self.patients[slot.patient]
            date = self.grid.days[slot.day]
            patient.last_treatment = max(patient.last_treatment or date, date)
        return True
