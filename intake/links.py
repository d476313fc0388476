"""Patients reach their own bookings and screening through signed, expiring links; no password.

A token names one patient and the patient's current `link_version`, signed with the site's secret
and timestamped. It stops working when it is older than PATIENT_LINK_MAX_AGE or when the patient's
links are revoked (the version is bumped). A token that fails any check gives no hint which check
failed: the views answer 404.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import F

from intake.models import Patient
from propel.versioned_tokens import versioned_token, versioned_token_read

SALT = "propel.patient-link.v1"


def patient_link_token(patient: Patient) -> str:
    return versioned_token(
        key="p", pk=patient.pk, version=patient.link_version, salt=SALT, compress=True
    )


def patient_from_token(token: str) -> Patient | None:
    """The patient a valid, unexpired, unrevoked token names, or None."""
    read = versioned_token_read(token, key="p", salt=SALT, max_age=settings.PATIENT_LINK_MAX_AGE)
    if read is None:
        return None
    patient_id, version = read
    return Patient.objects.filter(pk=patient_id, link_version=version).first()


def patient_links_revoke(*, patient_id: int) -> None:
    """Make every link sent so far stop working."""
    Patient.objects.filter(pk=patient_id).update(link_version=F("link_version") + 1)
