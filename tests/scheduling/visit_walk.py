"""Walking a visit through its real steps (scheduling.visits), for tests that need an appointment
checked in, in progress or completed: the lifecycle allows no shortcut."""

from __future__ import annotations

import datetime as dt

from scheduling.models import Appointment
from scheduling.visits import (
    visit_check_in,
    visit_discharge,
    visit_end_infusion,
    visit_record_vitals,
    visit_start,
)
from tests.factories import UserFactory

ESCORT = {"escort_name": "Pat Driver", "escort_phone": "+19165550123"}
ANSWERS = {"alcohol_or_drugs": False, "food_as_instructed": True, "new_medicines": False}
NORMAL = {"systolic": 120, "diastolic": 75, "heart_rate": 70, "spo2": 98}
# The discharge checklist, every box ticked.
DISCHARGE_CHECKS = {"alert": True, "vitals_near_baseline": True, "escort_present": True}
# The visit screen's check-in form, filled in as the desk would.
CHECK_IN_FORM = {
    "identity_confirmed": "on",
    "escort_name": "Sam Driver",
    "escort_phone": "(916) 555-0111",
    "alcohol_or_drugs": "no",
    "food_as_instructed": "yes",
    "new_medicines": "no",
}


def desk_user():
    return UserFactory(front_desk=True)


def clinician():
    return UserFactory(clinician=True)


def check_in(appointment: Appointment, *, now: dt.datetime, actor=None) -> None:
    visit_check_in(
        appointment_id=appointment.pk,
        actor=actor or desk_user(),
        identity_confirmed=True,
        now=now,
        **ESCORT,
        **ANSWERS,
    )


def start_infusion(appointment: Appointment, *, now: dt.datetime, actor=None) -> None:
    """Check in, vital signs within the lines, start (the whole START gate, honestly)."""
    check_in(appointment, now=now)
    actor = actor or clinician()
    visit_record_vitals(appointment_id=appointment.pk, actor=actor, now=now, **NORMAL)
    visit_start(appointment_id=appointment.pk, actor=actor, now=now)


def complete_infusion(appointment: Appointment, *, now: dt.datetime) -> None:
    """From booked to completed through every step: check-in, vitals, start, end, discharge."""
    actor = clinician()
    start_infusion(appointment, now=now, actor=actor)
    later = now + dt.timedelta(minutes=90)
    visit_end_infusion(appointment_id=appointment.pk, actor=actor, now=later)
    visit_discharge(
        appointment_id=appointment.pk,
        actor=actor,
        **DISCHARGE_CHECKS,
        now=later + dt.timedelta(minutes=30),
    )
