"""The plan: patients' journeys (consultation, screening, decision, course, maintenance,
follow-ups), allocated on the grid until there are exactly as many appointments as asked."""

from __future__ import annotations

import datetime as dt
import math
from itertools import islice

from django.conf import settings

from demo.scale_data.errors import ScaleSeedError
from demo.scale_data.grid import _Slot
from demo.scale_data.parameters import (
    CONSULT_BOOKED_AHEAD_DAYS,
    CONSULT_SHARE,
    CONSULTATION,
    COURSE_SIZES,
    FOLLOW_UP,
    FOLLOW_UP_WITHIN_DAYS,
    INFUSION,
    INFUSION_SHARE,
    MAINTENANCE,
    MAINTENANCE_PER_SESSION,
    ONLINE_SHARE,
    POOL_WEIGHTS,
    TARGET_UTILISATION,
    WAITING,
)
from demo.scale_data.placement import _Course, _Patient, _Placement
from intake.models import DecisionKind, Severity
from scheduling.models import AppointmentStatus, BookedVia, CourseStatus


class _Planner(_Placement):
    """Decides what the clinic did: who came when, who was cleared, which courses were booked."""

    def run(self, *, patients: int, appointments: int) -> None:
        first = self.grid.instant(0, 0)
        for index in range(patients):
            self.patients.append(
                _Patient(
                    index=index,
                    dob=dt.date(1948 + self.rng.randrange(55), self.rng.randint(1, 12), 15),
                    email_ok=self.rng.random() < 0.85,
                    sms_ok=self.rng.random() < 0.6,
                    clinician=self.rng.randrange(len(self.grid.hours)),
                )
            )
        consults = min(patients, appointments, max(1, round(appointments * CONSULT_SHARE)))
        share = self._infusion_share(consults, appointments)
        for patient in self.patients[:consults]:
            self._consult(patient, lo=first - dt.timedelta(days=60))
        for patient in self.patients:
            self._screening(patient, first)
        sessions = min(round(appointments * share), appointments - len(self.slots))
        self._courses(sessions)
        maintenance = round(appointments * share * MAINTENANCE_PER_SESSION)
        self._maintenance(min(maintenance, appointments - len(self.slots)))
        self._fill(appointments)
        for course in self.courses:
            statuses = {slot.status for slot in course.sessions}
            if statuses & set(WAITING):
                course.status = CourseStatus.ACTIVE
            elif AppointmentStatus.COMPLETED in statuses:
                course.status = CourseStatus.COMPLETED
            else:
                course.status = CourseStatus.CANCELLED

    def _infusion_share(self, consults: int, appointments: int) -> float:
        """The largest share of course infusions (in hundredths) whose planned hours fit
        TARGET_UTILISATION of the clinicians' and rooms' free hours."""
        types = self.types
        infusion, consult = types[INFUSION], types[CONSULTATION]
        clinicians = self.grid.capacity() * TARGET_UTILISATION
        infusion_rooms = self.grid.capacity(infusion.kind) * TARGET_UTILISATION
        consult_rooms = self.grid.capacity(consult.kind) * TARGET_UTILISATION
        low, high = (round(share * 100) for share in INFUSION_SHARE)
        for hundredths in range(high, low, -1):
            sessions = round(appointments * hundredths / 100)
            treatments = sessions + round(sessions * MAINTENANCE_PER_SESSION)
            follow_ups = appointments - consults - treatments
            if follow_ups < 0:
                continue
            treatment_cells = treatments * infusion.cells
            consult_cells = consults * consult.cells + follow_ups * types[FOLLOW_UP].cells
            if (
                treatment_cells + consult_cells <= clinicians
                and treatment_cells <= infusion_rooms
                and consult_cells <= consult_rooms
            ):
                return hundredths / 100
        return INFUSION_SHARE[0]

    def _consult(self, patient: _Patient, *, lo: dt.datetime) -> bool:
        last = self._last_day_before(self.today + dt.timedelta(days=CONSULT_BOOKED_AHEAD_DAYS))
        if last < 0:
            return False
        days = self._around(self.rng.randint(0, last), 0, last, 10)
        slot = self._place(patient, CONSULTATION, days)
        if slot is None:
            return False
        if self.rng.random() < ONLINE_SHARE:
            notice = settings.ONLINE_MIN_NOTICE
            if booked_at := self._booked_at(lo=lo, start=slot.start, lead=(2, 21), notice=notice):
                slot.via = BookedVia.ONLINE
                patient.created_at = patient.created_at or booked_at
                return self._keep(slot, booked_at) and self._consulted(patient, slot)
        booked_at = self._booked_at(lo=lo, start=slot.start, lead=(3, 21))
        if booked_at is not None and patient.created_at is None:
            patient.created_at = booked_at - dt.timedelta(minutes=self.rng.randint(5, 2880))
        return self._keep(slot, booked_at) and self._consulted(patient, slot)

    def _consulted(self, patient: _Patient, slot: _Slot) -> bool:
        patient.consult, patient.clinician = slot, slot.clinician
        return True

    def _screening(self, patient: _Patient, first: dt.datetime) -> None:
        """The patient's screening round and, after a completed consultation, the decision."""
        rng = self.rng
        available = [(pool, w) for pool, w in POOL_WEIGHTS if self.templates.get(pool)]
        patient.pool = rng.choices([p for p, _ in available], [w for _, w in available])[0]
        patient.template = rng.randrange(len(self.templates[patient.pool]))
        consult = patient.consult
        r = rng.random()
        if consult is not None and patient.created_at is not None:
            if r >= 0.9:
                patient.screening = "draft" if r < 0.95 else ""
                return
            until = min(consult.start, self.now)
            span = max(until - patient.created_at, dt.timedelta(minutes=30))
            submitted = patient.created_at + span * rng.uniform(0.1, 0.9)
        else:
            patient.created_at = first + (self.now - first) * rng.random()
            patient.created_at = patient.created_at.replace(microsecond=0)
            if r >= 0.55:
                patient.screening = "draft" if r < 0.85 else ""
                return
            submitted = patient.created_at + dt.timedelta(minutes=rng.randint(10, 4320))
        if submitted > self.now:
            patient.screening = "draft"
            return
        patient.screening, patient.submitted_at = "submitted", submitted.replace(microsecond=0)
        if patient.pool == Severity.URGENT:
            acknowledged = patient.submitted_at + dt.timedelta(minutes=rng.randint(20, 240))
            if acknowledged <= self.now:
                patient.alert_acknowledged_at = acknowledged
        self._decide(patient)

    def _decide(self, patient: _Patient) -> None:
        consult, rng = patient.consult, self.rng
        if consult is None or consult.status != AppointmentStatus.COMPLETED:
            return
        assert patient.submitted_at is not None
        decided = max(consult.end, patient.submitted_at) + dt.timedelta(hours=rng.uniform(2, 96))
        if patient.pool == Severity.URGENT:
            if patient.alert_acknowledged_at is None:
                return  # an open crisis alert: nobody may clear before it is acknowledged
            decided = max(decided, patient.alert_acknowledged_at + dt.timedelta(minutes=10))
        if decided > self.now or rng.random() < 0.1:
            return  # waiting for a clinician's review
        r = rng.random()
        if patient.pool == Severity.HARD_STOP:
            kind = DecisionKind.DECLINED
        elif r < 0.82:
            kind = DecisionKind.CLEARED
        else:
            kind = DecisionKind.NEEDS_INFORMATION if r < 0.92 else DecisionKind.DECLINED
        patient.decision, patient.decided_at = kind, decided.replace(microsecond=0)
        if kind == DecisionKind.CLEARED:
            decided_on = patient.decided_at.astimezone(self.grid.tz).date()
            patient.valid_until = decided_on + dt.timedelta(days=self.clearance_days)

    def _courses(self, budget: int) -> None:
        candidates = [p for p in self.patients if p.decision == DecisionKind.CLEARED]
        self.rng.shuffle(candidates)
        for patient in candidates:
            if budget < self.rules.min_sessions:
                return
            budget -= self._course(patient, min(budget, self.rng.choice(COURSE_SIZES)))

    def _course(self, patient: _Patient, size: int) -> int:
        """Book a course of about `size` sessions roughly weekly (twice a week at first when
        there are more sessions than weeks), all after the clearance and within it."""
        rng, rules, grid = self.rng, self.rules, self.grid
        assert patient.decided_at is not None and patient.valid_until is not None
        booked_at = patient.decided_at + dt.timedelta(hours=rng.uniform(1, 120))
        if booked_at > self.now:
            booked_at = patient.decided_at + (self.now - patient.decided_at) * rng.random()
        booked_at = booked_at.replace(microsecond=0)
        if booked_at <= patient.decided_at:
            return 0
        size = max(rules.min_sessions, min(size, rules.max_sessions))
        least = max(rules.min_weeks, math.ceil(size / rules.max_per_week))
        weeks = min(rules.max_weeks, max(least, size + rng.choice((-2, -1, 0, 0, 1))))
        plan = [i * weeks // size for i in range(size)]
        twice = len(set(plan)) < size
        weekday = rng.randrange(2) if twice else rng.randrange(5)
        booked_on = booked_at.astimezone(grid.tz).date()
        earliest = booked_on + dt.timedelta(days=rng.randint(3, 14))
        monday = earliest - dt.timedelta(days=earliest.weekday())
        if monday + dt.timedelta(days=weekday) < earliest:
            monday += dt.timedelta(days=7)
        limit = min(grid.days[-1], patient.valid_until)
        near = None
        sessions: list[_Slot] = []
        for i, week in enumerate(plan):
            week_start = monday + dt.timedelta(days=7 * week)
            target = weekday + (3 if i and plan[i - 1] == week else 0)
            options = sorted(range(7), key=lambda d: (abs(d - target), d))
            dates = [week_start + dt.timedelta(days=d) for d in options]
            previous = grid.days[sessions[-1].day] if sessions else None
            days = (
                grid.index[date]
                for date in dates
                if date in grid.index
                and booked_on + dt.timedelta(days=2) <= date <= limit
                and (previous is None or (date - previous).days >= 3)
            )
            if slot := self._place(patient, INFUSION, days, near):
                near = slot.cell
                sessions.append(slot)
        if len(sessions) < rules.min_sessions:
            for slot in sessions:
                grid.release(slot, self.types[INFUSION].cells)
            return 0
        patient.course = len(self.courses)
        for index, slot in enumerate(sessions):
            slot.course, slot.confirm = patient.course, index == 0
            self._keep(slot, booked_at)
        self.courses.append(_Course(patient.index, weeks, booked_at, sessions))
        return len(sessions)

    def _maintenance(self, budget: int) -> None:
        def completed(p: _Patient) -> bool:
            if p.course is None:
                return False
            statuses = {slot.status for slot in self.courses[p.course].sessions}
            return AppointmentStatus.COMPLETED in statuses and not statuses & set(WAITING)

        candidates = [p for p in self.patients if completed(p)]
        self.rng.shuffle(candidates)
        for patient in candidates:
            assert patient.course is not None and patient.valid_until is not None
            last = max(self.courses[patient.course].sessions, key=lambda slot: slot.start)
            anchor, previous = last.end, self.grid.days[last.day]
            limit = self._last_day_before(min(self.grid.days[-1], patient.valid_until))
            for visit in range(self.rng.choice((1, 1, 2, 2, 3))):
                if budget <= 0 or anchor > self.now - dt.timedelta(hours=1):
                    break
                gap = self.rng.randint(21, 42) if visit == 0 else self.rng.randint(28, 56)
                target = self._last_day_before(previous + dt.timedelta(days=gap))
                days = self._around(target, target - 3, min(limit, target + 3), 3)
                slot = self._place(patient, MAINTENANCE, days)
                if slot is None or self.grid.days[slot.day] <= previous:
                    break
                if not self._keep(slot, self._booked_at(lo=anchor, start=slot.start, lead=(7, 28))):
                    break
                slot.course, budget = patient.course, budget - 1
                anchor, previous = slot.end, self.grid.days[slot.day]

    def _fill(self, appointments: int) -> None:
        """Follow-ups after completed consultations, on the least busy of a few candidate days,
        until there are exactly `appointments`; a new patient's consultation when none fits."""
        eligible: list[_Patient] = []
        ranges: dict[int, tuple[int, int]] = {}
        weights: list[int] = []
        for patient in self.patients:
            consult = patient.consult
            if consult is None or consult.status != AppointmentStatus.COMPLETED:
                continue
            seen = self.grid.days[consult.day]
            until = seen + dt.timedelta(days=FOLLOW_UP_WITHIN_DAYS)
            if patient.last_treatment:
                until = max(until, patient.last_treatment + dt.timedelta(days=28))
            lo = consult.day + 2
            hi = self._last_day_before(min(until, self.grid.days[-1]))
            if lo <= hi:
                eligible.append(patient)
                ranges[patient.index] = (lo, hi)
                weight = (hi - lo + 1) * (2 if patient.course is not None else 1)
                weights.append(weight + (weights[-1] if weights else 0))
        fresh = (p for p in self.patients if p.consult is None)
        failures = 0
        while len(self.slots) < appointments:
            if eligible and failures < 50:
                patient = self.rng.choices(eligible, cum_weights=weights)[0]
                lo, hi = ranges[patient.index]
                target = min(
                    (self.rng.randint(lo, hi) for _ in range(4)), key=lambda d: self.grid.load[d]
                )
                slot = self._place(patient, FOLLOW_UP, self._around(target, lo, hi, 5))
                if slot and patient.consult is not None:
                    lo_time = patient.consult.end
                    if self._keep(
                        slot, self._booked_at(lo=lo_time, start=slot.start, lead=(3, 42))
                    ):
                        failures = 0
                        continue
                failures += 1
                continue
            if not any(self._consult(p, lo=p.created_at or self.now) for p in islice(fresh, 20)):
                raise ScaleSeedError(
                    f"Only {len(self.slots)} of {appointments} appointments fit the clinic's "
                    "hours, rooms, clinicians and patients: ask for fewer appointments or more "
                    "clinicians, rooms or patients."
                )
            failures = 0
