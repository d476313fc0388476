"""A fresh link to the patient's page, emailed on request."""

from __future__ import annotations

from django.db import transaction

from intake.models import Patient
from propel.tasks_queue import enqueue_on_commit
from scheduling.online.rules import normalise_email


def patient_link_request(*, email: str) -> None:
    """Email every patient with this address a fresh link to their page (queued after commit).

    Returns nothing, so no caller can tell a known address from an unknown one.
    """
    patient_ids = list(
        Patient.objects.filter(email__iexact=normalise_email(email)).values_list("pk", flat=True)
    )
    with transaction.atomic():
        for patient_id in patient_ids:
            enqueue_on_commit("scheduling.tasks.send_patient_link", patient_id)
