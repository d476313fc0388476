"""What a visit still needs on file (intake.requirements), as scheduling sees it: the step of each
visit (a consultation: its own requirements; a treatment visit: the first infusion's, asked at
every start; other visits: none), and the missing items of many visits at once in the fixed
number of queries of intake.requirements.missing_items_by_step.

Read by the lifecycle's gate (scheduling.transitions), the day sheet, the visit screen, the
patient's own page and the 72-hour reminder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from intake.requirements import MissingItem, missing_items_by_step, visit_step
from scheduling.models import Appointment, AppointmentStatus


def appointment_step(appointment: Appointment) -> str | None:
    """The requirements step of this visit (its type loaded), or None."""
    return visit_step(
        needs_clearance=appointment.appointment_type.needs_clearance,
        type_code=appointment.appointment_type.code,
    )


def visits_missing(
    appointments: Iterable[Appointment], *, today: dt.date
) -> dict[int, list[MissingItem]]:
    """appointment id -> what its patient has not given for its step (types loaded); at most
    six queries for any number of visits."""
    appointments = list(appointments)
    steps = {a.pk: appointment_step(a) for a in appointments}
    found = missing_items_by_step(
        {(a.patient_id, step) for a in appointments if (step := steps[a.pk])}, today=today
    )
    return {
        a.pk: found[step].get(a.patient_id, []) if (step := steps[a.pk]) else []
        for a in appointments
    }


def next_visit_missing(
    appointments: Iterable[Appointment], *, today: dt.date
) -> tuple[Appointment, list[MissingItem]] | None:
    """The first of the patient's booked visits (in start order) that still needs something on
    file, with what: the patient's page says "Before your visit on <date>"."""
    booked = [a for a in appointments if a.status == AppointmentStatus.BOOKED]
    missing = visits_missing(booked, today=today)
    for appointment in booked:
        if missing.get(appointment.pk):
            return appointment, missing[appointment.pk]
    return None
