"""Rows behind the clinical resources (vital-sign readings need a visit of an appointment)."""

from __future__ import annotations

import datetime as dt

from intake.models import Patient
from propel.roles import Role
from scheduling.models import AppointmentStatus, ReadingPhase, Visit, VitalReading
from tests.factories import AppointmentFactory, UserFactory

FIRST_VISIT = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)
TAKEN = FIRST_VISIT + dt.timedelta(minutes=10)


def vital_reading(
    patient: Patient | None = None, *, day: int = 0, weight_lb: int | None = None
) -> VitalReading:
    """One reading before an infusion on FIRST_VISIT's day + `day`, taken ten minutes in."""
    start = FIRST_VISIT + dt.timedelta(days=day)
    appointment = AppointmentFactory(
        infusion=True,
        status=AppointmentStatus.CHECKED_IN,
        start=start,
        **({"patient": patient} if patient else {}),
    )
    return VitalReading.objects.create(
        visit=Visit.objects.create(appointment=appointment),
        phase=ReadingPhase.BEFORE,
        systolic=128,
        diastolic=82,
        heart_rate=71,
        spo2=97,
        weight_lb=weight_lb,
        taken_at=start + dt.timedelta(minutes=10),
        taken_by=UserFactory(role=Role.CLINICIAN),
    )
