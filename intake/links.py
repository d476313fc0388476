"""Patients reach their own bookings and screening through signed, expiring links; no password.

A token names one patient and the patient's current `link_version`, signed with the site's secret
and timestamped. It stops working when it is older than PATIENT_LINK_MAX_AGE or when the patient's
links are revoked (the version is bumped). A token that fails any check gives no hint which check
failed: the views answer 404.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db.models import F

from intake.models import Patient

SALT = "propel.patient-link.v1"


def patient_link_token(patient: Patient) -> str:
    return signing.dumps({"p": patient.pk, "v": patient.link_version}, salt=SALT, compress=True)


def patient_from_token(token: str) -> Patient | None:
    """The patient a valid, unexpired, unrevoked token names, or None."""
    try:
        # django-stubs says int or timedelta; Django compares any number of seconds.
        payload = signing.loads(
            token,
            salt=SALT,
            max_age=settings.PATIENT_LINK_MAX_AGE.total_seconds(),  # type: ignore[arg-type]
        )
    except signing.BadSignature:  # also covers SignatureExpired
        return None
    if not isinstance(payload, dict):
        return None
    patient_id, version = payload.get("p"), payload.get("v")
    if not isinstance(patient_id, int) or not isinstance(version, int):
        return None
    return Patient.objects.filter(pk=patient_id, link_version=version).first()


def patient_links_revoke(*, patient_id: int) -> None:
    """Make every link sent so far stop working."""
    Patient.objects.filter(pk=patient_id).update(link_version=F("link_version") + 1)
