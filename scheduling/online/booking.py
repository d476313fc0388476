"""Online booking services: hold a slot, ask for a consultation, confirm it from the emailed link
(finding or creating the patient), book it.

The public form never looks anyone up (`online_booking_request`): it stores what was typed, keeps
the time held and writes the email with the confirmation link to the typed address, so its answer
is the same for a known patient and a stranger. Only opening that link and confirming
(`online_booking_confirm`) matches the details to a patient record and books
(`online_consultation_book`). Each owns its transaction and calls scheduling.booking for every
write to appointments and holds; every email is an outbox row written in the same transaction
(scheduling.reminder_plan)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest
from django.utils import timezone

from intake.consent import consents_first_recorded
from intake.models import ConsentSource, Patient
from intake.selectors import hard_stop_raised
from propel.audit import audit_record
from propel.message_language import active_language, message_language
from propel.ratelimit import ratelimit_hit
from scheduling.batch_booking import Batch, aware_utc
from scheduling.booking import (
    appointment_book_in_transaction,
    booking_transaction,
    slot_hold_create,
    slot_hold_extend,
)
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    BookedVia,
    BookingRequest,
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
from scheduling.reminder_plan import booking_request_message_plan
from scheduling.slots import clinic_tz

HOUR, DAY = 3600, 86400


@dataclass(frozen=True)
class OnlineBooking:
    appointment: Appointment
    patient: Patient
    # True only when this booking created the patient's record: only then may the person who
    # submitted the form be handed the patient's link on screen.
    new_patient: bool
    replay: bool


@dataclass(frozen=True)
class _Known:
    """A patient _known_patients found: `replayed`, their appointment booked with the key (else
    None); `hard_stop`, intake.selectors.hard_stop_raised."""

    patient: Patient
    replayed: int | None
    hard_stop: bool


def _known_patients(details: PatientDetails, key: str) -> list[_Known]:
    """In one query: the patients the details describe (e-mail and last name, both
    case-insensitive, and date of birth), oldest first, and the patient already booked with
    `key`, if any."""
    with_key = Appointment.objects.filter(idempotency_key=key)
    rows = (
        Patient.objects.filter(
            Q(
                email__iexact=normalise_email(details.email),
                date_of_birth=details.date_of_birth,
                last_name__iexact=details.last_name.strip(),
            )
            | Q(pk__in=with_key.values("patient_id"))
        )
        .annotate(
            replayed=Subquery(with_key.filter(patient=OuterRef("pk")).values("pk")[:1]),
            hard_stop=hard_stop_raised(),
        )
        .order_by("pk")
    )
    return [_Known(row, row.replayed, row.hard_stop) for row in rows]


def _replayed(known: list[_Known], details: PatientDetails) -> OnlineBooking | None:
    """The booking already made with this key (SchedulingError("key_reused") when the details
    describe someone else), or None."""
    owner = next((row for row in known if row.replayed is not None), None)
    if owner is None or owner.replayed is None:
        return None
    if not details.matches(owner.patient):
        raise SchedulingError("key_reused")
    appointment = Appointment.objects.get(pk=owner.replayed)
    return OnlineBooking(appointment, owner.patient, new_patient=False, replay=True)


def _find_or_create_patient(
    details: PatientDetails,
    known: list[_Known],
    *,
    now: dt.datetime,
    request: HttpRequest | None,
) -> tuple[Patient, bool]:
    """The oldest of the `known` patients the details describe (_known_patients, with no
    replay: every one of them matched); otherwise a new one.

    A matched record is never changed from this form: whoever typed someone else's details must
    not be able to change where that person's messages go.
    """
    if known:
        return known[0].patient, False
    patient = Patient.objects.create(
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        date_of_birth=details.date_of_birth,
        email=normalise_email(details.email),
        mobile=details.mobile,
        # The language they booked in (issue 22): every message and link then speaks it. Only a
        # new record: a matched one is never changed from this form.
        preferred_language=message_language(details.language or active_language()),
    )
    audit_record(
        action="patient.created",
        request=request,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": BookedVia.ONLINE},
    )
    # What the form said, with its time and source (intake.consent): email reminders as the box
    # was left (ticked unless the patient unticked it), texts only when ticked.
    consents_first_recorded(
        patient_id=patient.pk,
        email=details.consent_email,
        sms=details.consent_sms and bool(patient.mobile),
        source=ConsentSource.BOOKING,
        now=now,
        request=request,
    )
    patient.refresh_from_db()
    return patient, True


def online_slot_hold(
    *,
    start: dt.datetime,
    replaces: str | None = None,
    minutes: int | None = None,
    now: dt.datetime | None = None,
) -> SlotHold:
    """Hold an offered consultation start for `minutes` (default SLOT_HOLD_MINUTES, while the
    patient fills in the form). Raises SchedulingError ("slot_gone", "too_soon", "too_far",
    "busy", ...) otherwise. `replaces` is the same browser's previous hold, released in the same
    transaction."""
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
            minutes=minutes or settings.SLOT_HOLD_MINUTES,
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
    patient record, or raise SchedulingError with a message for the patient. Patients reach it
    only by confirming an emailed booking request (`online_booking_confirm`): the public form
    never calls it, so it never tells a stranger about a patient.

    Idempotent on `hold_key` (also the appointment's idempotency key): submitting again returns
    the same appointment (`replay=True`, and no second email) as long as the details describe the
    same patient. Requests with the same key take turns on an advisory lock, so a double click
    cannot create the patient twice. The hold, if still live, gives its room and clinician and is
    released; an expired hold is no obstacle if the time is still free. Nothing is written when the
    booking is refused. The confirmation email is an outbox row written in the same transaction
    (appointment_book).
    """
    now = now or timezone.now()
    try:
        # The type is read first in the transaction, setting its lock timeout (the advisory lock
        # below waits under it too).
        with booking_transaction(set_timeout=False):
            consultation = consultation_type(sets_lock_timeout=True)
            if consultation is None:
                raise refuse("online_unavailable")
            serialise_on(hold_key)
            known = _known_patients(details, hold_key)
            if (replay := _replayed(known, details)) is not None:
                return replay
            check_window(start, now)
            if age_on(details.date_of_birth, now.astimezone(clinic_tz()).date()) < ADULT_AGE:
                raise refuse("under_18")
            patient, created = _find_or_create_patient(details, known, now=now, request=request)
            if not created and known[0].hard_stop:
                raise refuse("care_team")
            appointment = appointment_book_in_transaction(
                Batch(
                    patient_id=patient.pk,
                    appointment_type=consultation,
                    starts=(aware_utc(start, name="start"),),
                    now=now,
                    via=BookedVia.ONLINE,
                    as_patient=True,
                    request=request,
                    hold_key=hold_key,
                    idempotency_key=hold_key,
                    max_online_upcoming=settings.ONLINE_MAX_UPCOMING_CONSULTATIONS,
                )
            )
    except SchedulingError as error:
        raise patient_facing(error) from error
    return OnlineBooking(appointment, patient, new_patient=created, replay=False)


def _check_limits(email: str, ip: str | None) -> None:
    """The per-address and per-IP limits on booking requests (counted whoever the person is)."""
    ip_limit = settings.BOOKING_RATE_PER_IP_PER_HOUR
    over_ip = ratelimit_hit(f"book:ip:{ip or 'unknown'}", ip_limit, HOUR)
    over_email = ratelimit_hit(
        f"book:email:{normalise_email(email)}", settings.BOOKING_RATE_PER_EMAIL_PER_DAY, DAY
    )
    if over_ip or over_email:
        raise refuse("too_many_attempts")


def _hold_until(*, start: dt.datetime, hold_key: str, until: dt.datetime, now: dt.datetime) -> str:
    """Keep `start` held until `until`: the live hold `hold_key` when it is for that start,
    otherwise a new hold (re-checked like any) replacing it. Returns the hold's key."""
    live = SlotHold.objects.filter(key=hold_key, start=start).exists()
    if live and slot_hold_extend(key=hold_key, until=until, now=now):
        return hold_key
    minutes = max(1, round((until - now).total_seconds() / 60))
    return online_slot_hold(start=start, replaces=hold_key, minutes=minutes, now=now).key


def online_booking_request(
    *,
    details: PatientDetails,
    start: dt.datetime,
    hold_key: str,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> BookingRequest:
    """Ask for a consultation at `start` from the public form, or raise SchedulingError.

    Only checks that do not depend on who the person is: the limits, the booking window, age
    from the typed date of birth, and the time still held or offered. No patient is looked up.
    Stores the typed details (deleted unconfirmed at `expires_at`, scheduling.holds), keeps the
    time held until then (BOOKING_CONFIRM_MINUTES) and writes the email with the confirmation
    link to the typed address, all in one transaction. Matching a patient needs the same email,
    so a known patient's link goes to the address on file.
    """
    now = now or timezone.now()
    if consultation_type() is None:
        raise refuse("online_unavailable")
    _check_limits(details.email, ip)
    expires_at = now + dt.timedelta(minutes=settings.BOOKING_CONFIRM_MINUTES)
    try:
        check_window(start, now)
        if age_on(details.date_of_birth, now.astimezone(clinic_tz()).date()) < ADULT_AGE:
            raise refuse("under_18")
        with booking_transaction():
            serialise_on(hold_key)
            # A double submit: the first request stands, and its email is not sent twice.
            asked = BookingRequest.objects.filter(hold_key=hold_key).first()
            if asked is not None:
                return asked
            key = _hold_until(start=start, hold_key=hold_key, until=expires_at, now=now)
            booking_request = BookingRequest.objects.create(
                **_typed(details), hold_key=key, start=start, expires_at=expires_at
            )
            booking_request_message_plan(booking_request=booking_request, now=now)
    except SchedulingError as error:
        raise patient_facing(error) from error
    return booking_request


def _typed(details: PatientDetails) -> dict[str, Any]:
    return {
        "first_name": details.first_name.strip(),
        "last_name": details.last_name.strip(),
        "date_of_birth": details.date_of_birth,
        "email": normalise_email(details.email),
        "mobile": details.mobile,
        "consent_email": details.consent_email,
        "consent_sms": details.consent_sms,
        "language": message_language(details.language or active_language()),
    }


def _details_of(booking_request: BookingRequest) -> PatientDetails:
    return PatientDetails(
        first_name=booking_request.first_name,
        last_name=booking_request.last_name,
        date_of_birth=booking_request.date_of_birth,
        email=booking_request.email,
        mobile=booking_request.mobile,
        consent_email=booking_request.consent_email,
        consent_sms=booking_request.consent_sms,
        language=booking_request.language,
    )


def online_booking_confirm(
    *,
    booking_request_id: int,
    start: dt.datetime | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> OnlineBooking:
    """Book the consultation asked for in a booking request, from its emailed link: find or
    create the patient (a hard stop is refused with "care_team"), book at the requested time or
    the chosen alternative `start`, and mark the request confirmed, in one transaction.

    Idempotent: a request already confirmed returns its appointment (`replay=True`). An expired
    or deleted request raises SchedulingError("request_gone").
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking_request = (
            BookingRequest.objects.select_for_update(of=("self",))
            .select_related("appointment__patient")
            .filter(pk=booking_request_id)
            .first()
        )
        if booking_request is None:
            raise refuse("request_gone")
        booked = booking_request.appointment
        if booked is not None:
            return OnlineBooking(booked, booked.patient, new_patient=False, replay=True)
        if not booking_request.is_live(now):
            raise refuse("request_gone")
        result = online_consultation_book(
            details=_details_of(booking_request),
            start=start or booking_request.start,
            hold_key=booking_request.hold_key,
            request=request,
            now=now,
        )
        booking_request.appointment = result.appointment
        booking_request.save(update_fields=["appointment"])
    return result
