"""A caller registered by the front desk on the phone: the Patient row, the consents the caller
gave on the call (intake.consent's door, source STAFF, with the staff member) and an audit event,
in one transaction. The caller's likely duplicates (intake.duplicates) are shown before this is
called; the page (scheduling.calendar.new_patient_views) asks for a deliberate "create new" when
there are any, and queues the questionnaire link in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from intake.consent import consents_first_recorded
from intake.models import ConsentSource, Patient
from propel.audit import audit_record


def registration_serialise(date_of_birth: dt.date) -> None:
    """Inside a transaction: make registrations of callers born the same day take turns (a
    transaction-level PostgreSQL advisory lock), so two submits at once of one caller cannot both
    pass the duplicate check. SQLite, the demo database, already runs one writer at a time."""
    if connection.vendor != "postgresql":
        return
    key = date_of_birth.toordinal()  # two-int keys never clash with the one-bigint keys elsewhere
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [20_001, key])


@dataclass(frozen=True)
class NewCaller:
    first_name: str
    last_name: str
    date_of_birth: dt.date
    email: str
    mobile: str = ""
    preferred_language: str = "en"
    heard_about: str = ""
    heard_about_other: str = ""
    referrer_name: str = ""
    referrer_practice: str = ""
    referrer_phone: str = ""
    sms_consent: bool = False


def patient_register(
    caller: NewCaller, *, request: HttpRequest | None = None, now: dt.datetime | None = None
) -> Patient:
    """Create the patient. Email reminders start on (the Patient default) and are recorded as the
    caller's first word; texts only when `sms_consent` (the caller said yes on this call), which
    needs a mobile (ValueError otherwise: the form checks it first). Audited `patient.created`
    (no field values in the detail, only what was asked)."""
    now = now or timezone.now()
    with transaction.atomic():
        patient = Patient.objects.create(
            first_name=caller.first_name.strip(),
            last_name=caller.last_name.strip(),
            date_of_birth=caller.date_of_birth,
            email=caller.email.strip(),
            mobile=caller.mobile,
            preferred_language=caller.preferred_language,
            heard_about=caller.heard_about,
            heard_about_other=caller.heard_about_other.strip(),
            referrer_name=caller.referrer_name.strip(),
            referrer_practice=caller.referrer_practice.strip(),
            referrer_phone=caller.referrer_phone,
            consent_email_at=now,
        )
        audit_record(
            action="patient.created",
            request=request,
            patient_id=patient.pk,
            obj=patient,
            detail={"source": "staff_phone"},
        )
        consents_first_recorded(
            patient_id=patient.pk,
            email=True,
            sms=caller.sms_consent,
            source=ConsentSource.STAFF,
            now=now,
            request=request,
        )
        patient.refresh_from_db()
    return patient
