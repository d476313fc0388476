"""Shared by the waitlist tests: put patients on the waitlist and free a time for them."""

from __future__ import annotations

import datetime as dt

from scheduling.models import WaitlistOffer
from scheduling.waitlist.services import entry_add, slot_freed


def offer_to(clinic, *patients, start: dt.datetime, now: dt.datetime) -> WaitlistOffer | None:
    """Each patient waits for the clinic's consultation (in order); then `start` is freed."""
    for patient in patients:
        entry_add(patient_id=patient.pk, appointment_type=clinic.consultation)
    return slot_freed(
        appointment_type_id=clinic.consultation.pk,
        start=start,
        room_id=clinic.room.pk,
        clinician_id=clinic.clinician.pk,
        now=now,
    )
