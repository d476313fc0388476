"""Rows of the day of a visit: check-in rounds and their flags, arrival, vital signs from the
real vitals rules, the infusion's timeline and discharge."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.conf import settings

from demo.scale_data.answers import _Template
from demo.scale_data.grid import _Slot
from demo.scale_data.parameters import BATCH
from demo.scale_data.placement import _Patient
from demo.scale_data.rows import _phone, _Rows
from intake.models import Flag, IntakeSubmission, Patient, SubmissionKind, SubmissionStatus
from intake.questions import CHECK_IN_SECTION_KEYS
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    PreInfusionCheckIn,
    ReadingPhase,
    Visit,
    VitalReading,
)
from scheduling.vitals import Reading, assess, needs_repeat


class _VisitRows(_Rows):
    """The writer's visit-day rows; _Writer.write says in which order they are inserted."""

    # The day of the visit: check-in round, arrival, vital signs, discharge ----------------

    def _visits(self, people: list[Patient], pairs: list[tuple[_Slot, Appointment]]) -> None:
        c = self.c
        seen = (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED)
        happened = sorted(
            ((s, a) for s, a in pairs if s.status in seen), key=lambda pair: pair[0].start
        )
        check_ins, links, visits = [], [], []
        readings: list[tuple[Visit, dict[str, Any]]] = []
        rounds: Counter[int] = Counter()
        for slot, appointment in happened:
            p = self.plan.patients[slot.patient]
            clinician = c.clinician_users[slot.clinician]
            arrived = slot.start - dt.timedelta(minutes=10)
            treatment = c.kinds[slot.code].needs_clearance
            assert slot.changed_at is not None  # the visit happened
            visit = Visit(
                appointment=appointment,
                identity_confirmed_at=arrived,
                identity_confirmed_by_id=c.front_desk,
                created_at=arrived,
                updated_at=slot.changed_at,
            )
            if treatment:
                check_in, template = self._check_in_round(people, slot, rounds)
                check_ins.append((check_in, template))
                link = PreInfusionCheckIn(appointment=appointment, submission=check_in)
                link.created_at = check_in.started_at
                links.append(link)
                _arrived_for_treatment(visit, p, arrived)
                readings += self._gate(visit, slot, clinician, p)
            if slot.status == AppointmentStatus.COMPLETED:
                visit.discharge_alert = visit.discharge_vitals_near_baseline = True
                visit.discharge_escort_present = True
                visit.discharged_at, visit.discharged_by_id = slot.changed_at, clinician
            visits.append(visit)
        self._write_check_ins(check_ins)
        PreInfusionCheckIn.objects.bulk_create(links, batch_size=BATCH)
        Visit.objects.bulk_create(visits, batch_size=BATCH)
        VitalReading.objects.bulk_create(
            (VitalReading(visit=visit, **values) for visit, values in readings), batch_size=BATCH
        )

    def _check_in_round(
        self,
        people: list[Patient],
        slot: _Slot,
        rounds: Counter[int],
    ) -> tuple[IntakeSubmission, _Template]:
        """The patient's submitted pre-infusion check-in for this visit, from a random template."""
        rng = self.rng
        templates = self.plan.templates["check_in"]
        rounds[slot.patient] += 1
        template = templates[rng.randrange(len(templates))]
        sent = slot.start - dt.timedelta(minutes=rng.randint(120, 2400))
        sent = max(sent, slot.booked_at + dt.timedelta(minutes=10))
        check_in = IntakeSubmission(
            patient=people[slot.patient],
            kind=SubmissionKind.CHECK_IN,
            round=rounds[slot.patient],
            status=SubmissionStatus.SUBMITTED,
            answers=template.answers,
            completed_sections=list(CHECK_IN_SECTION_KEYS),
            scores=template.scores,
            submitted_at=sent,
            started_at=sent - dt.timedelta(minutes=6),
            updated_at=sent,
        )
        return check_in, template

    def _write_check_ins(self, check_ins: list[tuple[IntakeSubmission, _Template]]) -> None:
        """The check-in rounds, their flags and their "intake.submitted" events."""
        now = self.c.now
        IntakeSubmission.objects.bulk_create([s for s, _ in check_ins], batch_size=BATCH)
        flags = []
        for submission, template in check_ins:
            assert submission.submitted_at is not None and submission.submitted_at <= now
            flags += self._sent_round(submission, template)
        Flag.objects.bulk_create(flags, batch_size=BATCH)

    def _gate(
        self, visit: Visit, slot: _Slot, clinician: int, p: _Patient
    ) -> list[tuple[Visit, dict[str, Any]]]:
        """Vital signs before (a repeat when the first is at a flag line), during and at
        discharge, and the infusion's timeline, as far as `now`; the gate outcome from the real
        vitals rules."""
        rng, now, t = self.rng, self.c.now, self.thresholds
        weight = self.plan.templates[p.pool][p.template].answers.get("weight_lb")

        def values(phase: str, at: dt.datetime, high: bool = False) -> dict[str, Any]:
            reading = Reading(
                systolic=rng.randint(141, 152) if high else rng.randint(104, 136),
                diastolic=rng.randint(62, 86),
                heart_rate=rng.randint(56, 94),
                spo2=rng.randint(96, 99),
            )
            return {
                "phase": phase,
                "systolic": reading.systolic,
                "diastolic": reading.diastolic,
                "heart_rate": reading.heart_rate,
                "spo2": reading.spo2,
                "weight_lb": weight if phase == ReadingPhase.BEFORE else None,
                "taken_at": at,
                "taken_by_id": clinician,
            }

        moments = _moments(slot.start)
        rows = []
        if moments["before"] <= now:
            first = values(ReadingPhase.BEFORE, moments["before"], high=rng.random() < 0.08)
            rows.append(first)
            decisive = Reading(
                first["systolic"], first["diastolic"], first["heart_rate"], first["spo2"]
            )
            if needs_repeat(decisive, t):
                if moments["repeat"] > now:
                    return [(visit, row) for row in rows]
                repeat = values(ReadingPhase.BEFORE, moments["repeat"])
                rows.append(repeat)
                decisive = Reading(
                    repeat["systolic"], repeat["diastolic"], repeat["heart_rate"], repeat["spo2"]
                )
            visit.gate_outcome = assess(decisive, t).outcome
        if moments["started"] <= now and visit.gate_outcome:
            visit.started_at, visit.started_by_id = moments["started"], clinician
            if moments["during"] <= now:
                rows.append(values(ReadingPhase.DURING, moments["during"]))
            if moments["ended"] <= now:
                visit.ended_at = moments["ended"]
            if moments["discharge"] <= now and slot.status == AppointmentStatus.COMPLETED:
                rows.append(values(ReadingPhase.DISCHARGE, moments["discharge"]))
        return [(visit, row) for row in rows]


def _arrived_for_treatment(visit: Visit, p: _Patient, arrived: dt.datetime) -> None:
    """A treatment visit's escort and day-of answers, as the desk records them."""
    visit.escort_name = f"Scale Driver {p.number:05d}"
    visit.escort_phone = _phone(p.number + 37)
    visit.escort_confirmed_at = arrived
    visit.alcohol_or_drugs, visit.food_as_instructed = False, True
    visit.new_medicines = False


def _moments(start: dt.datetime) -> dict[str, dt.datetime]:
    """When each step of a scale-data visit happens, from the appointment's start."""
    return {
        "before": start + dt.timedelta(minutes=2),
        "repeat": start + dt.timedelta(minutes=2 + settings.VITALS_REPEAT_MINUTES),
        "started": start + dt.timedelta(minutes=20),
        "during": start + dt.timedelta(minutes=45),
        "ended": start + dt.timedelta(minutes=65),
        "discharge": start + dt.timedelta(minutes=95),
    }
