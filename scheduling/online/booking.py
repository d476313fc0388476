"""Online booking services: hold a slot, book a consultation (finding or creating the patient).

Each owns its transaction and calls scheduling.booking for every write to appointments and holds;
the confirmation is a reminder row written in the same transaction (scheduling.reminder_plan)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from intake.models import Patient
from intake.selectors import has_hard_stop
from propel.audit import audit_record
from scheduling.booking import (
    appointment_book,
    booking_transaction,
    slot_hold_create,
)
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    BookedVia,
    SlotHold,
)
from scheduling.online.guards import check_window, patient_facing, refuse, serialise_on
from scheduling.online.offer import is_offered
from scheduling.online.rules import (
    ADULT_AGE,
    PatientDetails,
    age_on,
    consultation_type,
    normalise_email,
)
from scheduling.slots import clinic_tz


@dataclass(frozen=True)
class OnlineBooking:
    appointment: Appointment
    patient: Patient
    # True only when this booking created the patient's record: only then may the person who
    # submitted the form be handed the patient's link on screen.
    new_patient: bool
    replay: bool


def _find_or_create_patient(
    details: PatientDetails, *, now: dt.datetime, request: HttpRequest | None
) -> tuple[Patient, bool]:
    """Match on e-mail and last name (both case-insensitive) and date of birth; otherwise create.

    A matched record is never changed from this form: whoever typed someone else's details must
    not be able to change where that person's messages go.
    """
    email = normalise_email(details.email)
    existing = (
        Patient.objects.filter(
            email__iexact=email,
            date_of_birth=details.date_of_birth,
            last_name__iexact=details.last_name.strip(),
        )
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return existing, False
    patient = Patient.objects.create(
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        date_of_birth=details.date_of_birth,
        email=email,
        mobile=details.mobile,
        consent_email=details.consent_email,
        consent_email_at=now if details.consent_email else None,
        consent_sms=details.consent_sms,
        consent_sms_at=now if details.consent_sms else None,
    )
    audit_record(
        action="patient.created",
        request=request,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": BookedVia.ONLINE},
    )
    return patient, True


def online_slot_hold(
    *, start: dt.datetime, replaces: str | None = None, now: dt.datetime | None = None
) -> SlotHold:
    """Hold an offered consultation start for SLOT_HOLD_MINUTES while the patient fills in the
    form. Raises SchedulingError ("slot_gone", "too_soon", "too_far", "busy", ...) otherwise.
    `replaces` is the same browser's previous hold, released in the same transaction."""
    now = now or timezone.now()
    consultation = consultation_type()
    if consultation is None:
        raise refuse("online_unavailable")
    check_window(start, now)
    if not is_offered(consultation, start, now=now, hold_key=replaces):
        raise SchedulingError("slot_gone")
    try:
        return slot_hold_create(
            appointment_type_id=consultation.pk,
            start=start,
            minutes=settings.SLOT_HOLD_MINUTES,
            replaces=replaces,
            now=now,
        )
    except SchedulingError as error:
        if error.code == "busy":
            raise
        raise SchedulingError("slot_gone") from error


def online_consultation_book(
    *,
    details: PatientDetails,
    start: dt.datetime,
    hold_key: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> OnlineBooking:
    """Book a consultation for the person described by `details`, finding or creating their
    patient record, or raise SchedulingError with a message for the patient.

    Idempotent on `hold_key` (also the appointment's idempotency key): submitting again returns
    the same appointment (`replay=True`, and no second email) as long as the details describe the
    same patient. Requests with the same key take turns on an advisory lock, so a double click
    cannot create the patient twice. The hold, if still live, gives its room and clinician and is
    released; an expired hold is no obstacle if the time is still free. Nothing is written when the
    booking is refused. The confirmation email is queued after commit.
    """
    now = now or timezone.now()
    consultation = consultation_type()
    if consultation is None:
        raise refuse("online_unavailable")
    try:
        with booking_transaction():
            serialise_on(hold_key)
            existing = (
                Appointment.objects.select_related("patient")
                .filter(idempotency_key=hold_key)
                .first()
            )
            if existing is not None:
                if not details.matches(existing.patient):
                    raise SchedulingError("key_reused")
                return OnlineBooking(existing, existing.patient, new_patient=False, replay=True)
            check_window(start, now)
            if age_on(details.date_of_birth, now.astimezone(clinic_tz()).date()) < ADULT_AGE:
                raise refuse("under_18")
            patient, created = _find_or_create_patient(details, now=now, request=request)
            if not created and has_hard_stop(patient.pk):
                raise refuse("care_team")
            appointment = appointment_book(
                patient_id=patient.pk,
                appointment_type_id=consultation.pk,
                start=start,
                via=BookedVia.ONLINE,
                request=request,
                now=now,
                hold_key=hold_key,
                idempotency_key=hold_key,
                max_online_upcoming=settings.ONLINE_MAX_UPCOMING_CONSULTATIONS,
            )
    except SchedulingError as error:
        raise patient_facing(error) from error
    return OnlineBooking(appointment, patient, new_patient=created, replay=False)
