"""A fresh link to the patient's page, emailed on request."""

from __future__ import annotations

from django.db import transaction

from intake.models import Patient
from scheduling.models import ReminderKind
from scheduling.online.rules import normalise_email
from scheduling.reminder_plan import patient_message_plan


def patient_link_request(*, email: str) -> None:
    """Email every patient with this address a fresh link to their page: an outbox row each,
    written in this request's transaction and sent by the dispatch sweep (the link is signed at
    send time), so a broker outage delays the email and never loses it.

    Returns nothing, so no caller can tell a known address from an unknown one.
    """
    with transaction.atomic():
        patient_ids = list(
            Patient.objects.filter(email__iexact=normalise_email(email)).values_list(
                "pk", flat=True
            )
        )
        for patient_id in patient_ids:
            patient_message_plan(patient_id=patient_id, kind=ReminderKind.PATIENT_LINK)
