"""A patient's own changes online: move or cancel a consultation. Each owns its transaction; the
notice of the change is a reminder row written in it, sent once by the dispatch sweep."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from intake.selectors import has_hard_stop
from scheduling.booking import (
    appointment_book,
    booking_transaction,
)
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BookedVia,
    ReminderKind,
)
from scheduling.online.guards import (
    change_refused,
    check_window,
    patient_facing,
    refuse,
    serialise_on,
)
from scheduling.online.rules import CANCEL_REASONS
from scheduling.queries import RESCHEDULED_REASON
from scheduling.reminder_plan import reminder_notice_plan
from scheduling.transitions import appointment_transition


def _own_appointment(patient_id: int, appointment_id: int) -> Appointment:
    appointment = (
        Appointment.objects.with_type().filter(pk=appointment_id, patient_id=patient_id).first()
    )
    if appointment is None:
        raise SchedulingError("not_found")
    return appointment


def _check_changeable(appointment: Appointment, now: dt.datetime) -> None:
    refused = change_refused(appointment, now)
    if refused is not None:
        raise refused


def _cancel_as_patient(
    appointment_id: int, *, reason: str, request: HttpRequest | None, now: dt.datetime
) -> Appointment:
    """The patient cancels their own appointment, through the lifecycle door."""
    return appointment_transition(
        appointment_id=appointment_id,
        to_status=AppointmentStatus.CANCELLED,
        as_patient=True,
        reason=reason,
        request=request,
        now=now,
    )


def online_consultation_reschedule(
    *,
    patient_id: int,
    appointment_id: int,
    start: dt.datetime,
    idempotency_key: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move the patient's own consultation to `start`: in one transaction the old appointment is
    cancelled (its sequence bumped) and the new one booked, so if the new time cannot be booked the
    old one stays. Same online rules as a new booking (window, hard stop), except the cap: a move
    adds nothing. Idempotent on `idempotency_key`. The notice of the move, the one email the
    patient gets (the new time, the old one named, a REQUEST file for the new entry and a CANCEL
    file for the old), is planned in the same transaction (reminder_notice_plan) and sent by the
    dispatch sweep. Returns the new appointment."""
    now = now or timezone.now()
    try:
        with booking_transaction():
            serialise_on(idempotency_key)
            existing = Appointment.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.patient_id != patient_id:
                    raise SchedulingError("key_reused")
                return existing
            old = _own_appointment(patient_id, appointment_id)
            _check_changeable(old, now)
            check_window(start, now)
            if has_hard_stop(patient_id):
                raise refuse("care_team")
            _cancel_as_patient(old.pk, reason=RESCHEDULED_REASON, request=request, now=now)
            new = appointment_book(
                patient_id=patient_id,
                appointment_type_id=old.appointment_type_id,
                start=start,
                via=BookedVia.ONLINE,
                request=request,
                now=now,
                idempotency_key=idempotency_key,
                # One email for the move (issue 17): its notice names the new time and the
                # old, and carries both calendar files; no separate confirmation.
                confirm=False,
            )
            reminder_notice_plan(
                appointment_id=new.pk, kind=ReminderKind.RESCHEDULED_NOTICE, now=now
            )
    except SchedulingError as error:
        raise patient_facing(error) from error
    return new


def online_consultation_cancel(
    *,
    patient_id: int,
    appointment_id: int,
    reason: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Cancel the patient's own consultation until ONLINE_CHANGE_CUTOFF before it starts.

    Cancelling an appointment that is already cancelled returns it unchanged (a double click).
    `reason` is one of CANCEL_REASONS' codes (never free text: the history and the audit log
    must not collect health details). The cancellation notice is planned in the same transaction
    (reminder_notice_plan) and sent by the dispatch sweep."""
    now = now or timezone.now()
    labels = dict(CANCEL_REASONS)
    appointment = _own_appointment(patient_id, appointment_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    _check_changeable(appointment, now)
    text = "Cancelled online by the patient"
    if reason in labels:
        text = f"{text}: {labels[reason]}"
    with transaction.atomic():
        appointment = _cancel_as_patient(appointment.pk, reason=text, request=request, now=now)
        reminder_notice_plan(
            appointment_id=appointment.pk, kind=ReminderKind.CANCELLED_NOTICE, now=now
        )
    return appointment
