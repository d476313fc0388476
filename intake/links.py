"""Patients reach their own bookings and screening through signed, expiring links; no password.

A token names one patient and the patient's current `link_version`, signed with the site's secret
and timestamped. It stops working when it is older than PATIENT_LINK_MAX_AGE or when the patient's
links are revoked (the version is bumped, patient_links_revoke). patient_link_check is the one
home for why a token fails: a bad signature (or a patient that is not there) is INVALID and the
page answers 404, saying nothing more; a good signature that is too old or of an old version is
GONE and the page answers 410 with a way to get a new link. A link opens a session
(intake.link_sessions), whose TIMED_OUT refusal lives here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from intake.models import Patient
from propel.audit import audit_record
from propel.versioned_tokens import versioned_token, versioned_token_inspect

SALT = "propel.patient-link.v1"


class LinkRefusal(StrEnum):
    INVALID = "invalid"  # 404: bad signature, tampered, or no such patient
    GONE = "gone"  # 410: revoked, superseded by a newer link, or expired
    TIMED_OUT = "timed_out"  # 401: no patient session behind the `me` marker, or it went idle


@dataclass(frozen=True)
class LinkCheck:
    """A patient, or why there is none."""

    patient: Patient | None = None
    refusal: LinkRefusal | None = None


def patient_link_token(patient: Patient) -> str:
    return versioned_token(
        key="p", pk=patient.pk, version=patient.link_version, salt=SALT, compress=True
    )


def patient_link_check(token: str) -> LinkCheck:
    """The patient a valid, unexpired, unrevoked token names, or why the token fails."""
    read = versioned_token_inspect(token, key="p", salt=SALT, max_age=settings.PATIENT_LINK_MAX_AGE)
    if read is None:
        return LinkCheck(refusal=LinkRefusal.INVALID)
    patient = Patient.objects.filter(pk=read.pk).first()
    if patient is None:
        return LinkCheck(refusal=LinkRefusal.INVALID)
    if read.expired or read.version != patient.link_version:
        return LinkCheck(refusal=LinkRefusal.GONE)
    return LinkCheck(patient=patient)


def patient_from_token(token: str) -> Patient | None:
    """The patient a valid, unexpired, unrevoked token names, or None."""
    return patient_link_check(token).patient


def patient_links_revoke(
    *, patient_id: int, request: HttpRequest | None = None, reason: str = ""
) -> None:
    """Make every link sent so far stop working (410), and every session a link opened (the
    session holds the version it was opened with, intake.link_sessions). A conditional F()
    update, so two revokes at once both count; audited (`patient.links_revoked`, the staff
    member from `request`) in the same transaction."""
    with transaction.atomic():
        Patient.objects.filter(pk=patient_id).update(link_version=F("link_version") + 1)
        audit_record(
            action="patient.links_revoked",
            request=request,
            patient_id=patient_id,
            detail={"reason": reason} if reason else {},
        )
