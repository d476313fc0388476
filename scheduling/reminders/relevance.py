"""Whether a claimed reminder still makes sense to send now, and to whom it goes.

The dispatcher (scheduling.reminders.dispatch) asks `skip_reason` for every row it has locked,
just before sending: a "before" reminder whose appointment has started or is no longer booked, the
follow-up for a visit not attended or more than a day late, a notice once the time it names passed,
a booking request already confirmed or expired, a channel the patient has no address for or opted
out of, the questionnaire nudge once the questionnaire is in, and the paperwork reminder once
nothing is missing on file for the visit (scheduling.paperwork), are skipped, not sent late.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from intake.models import Patient
from intake.selectors import questionnaire_status
from scheduling.models import (
    ATTENDED_STATUSES,
    AppointmentStatus,
    Reminder,
    ReminderChannel,
    ReminderKind,
)
from scheduling.paperwork import visits_missing
from scheduling.reminder_plan import NOTICE_KINDS, PATIENT_KINDS
from scheduling.slots import clinic_tz

# Sent to any address on file: the patient asked for the booking, made the change themselves, asked
# for a link, or the care team needs their answers.
TRANSACTIONAL_KINDS = frozenset({ReminderKind.CONFIRMATION, *NOTICE_KINDS, *PATIENT_KINDS})
# The follow-up is pointless this long after it was meant to go.
FOLLOW_UP_STALE_AFTER = dt.timedelta(hours=24)


def _appointment_skip_reason(reminder: Reminder, *, now: dt.datetime) -> str | None:
    """Why a message about an appointment is pointless now (its time passed, it is no longer
    on, the visit was not attended), or None."""
    appointment = reminder.appointment
    assert appointment is not None
    if reminder.kind in NOTICE_KINDS:
        # A notice reports a change already made (the appointment is cancelled, or moved and
        # possibly changed again since): only a time already past makes it pointless.
        if appointment.start <= now:
            return "appointment time already passed"
    elif reminder.kind == ReminderKind.FOLLOW_UP_NEXT_DAY:
        if appointment.status not in ATTENDED_STATUSES:
            return f"visit not attended (status {appointment.status})"
        if now > reminder.due_at + FOLLOW_UP_STALE_AFTER:
            return "follow-up more than a day late"
    else:
        if appointment.status != AppointmentStatus.BOOKED:
            return f"appointment is {appointment.status}"
        if appointment.start <= now:
            return "appointment already started"
    return None


def _booking_request_skip_reason(reminder: Reminder, *, now: dt.datetime) -> str | None:
    request = reminder.booking_request
    assert request is not None
    if request.appointment_id is not None:
        return "booking request already confirmed"
    if not request.is_live(now):
        return "booking request expired"
    return None


def _consent_skip_reason(reminder: Reminder, patient: Patient) -> str | None:
    if reminder.channel == ReminderChannel.EMAIL:
        if not patient.email:
            return "no email address"
        if reminder.kind not in TRANSACTIONAL_KINDS and not patient.consent_email:
            return "patient opted out of email"
        return None
    if not patient.mobile:
        return "no mobile number"
    if not patient.consent_sms:
        return "patient opted out of text messages"
    return None


def skip_reason(
    reminder: Reminder, *, now: dt.datetime, questionnaires: Mapping[int, str] | None = None
) -> str | None:
    """Why this message should not go out now, or None. `questionnaires`: the patients'
    questionnaire states when the caller read them already (a chunk's, in one query)."""
    if reminder.booking_request_id is not None:
        return _booking_request_skip_reason(reminder, now=now)
    patient = recipient_patient(reminder)
    reason = None
    if reminder.appointment_id is not None:
        reason = _appointment_skip_reason(reminder, now=now)
    reason = reason or _consent_skip_reason(reminder, patient)
    if (
        reason is None
        and reminder.kind == ReminderKind.INTAKE_NUDGE_48H
        and (
            questionnaires[patient.pk]
            if questionnaires is not None and patient.pk in questionnaires
            else questionnaire_status(patient.pk)
        )
        == "submitted"
    ):
        return "questionnaire already submitted"
    if reason is None and reminder.kind == ReminderKind.PAPERWORK_72H:
        return paperwork_skip_reason(reminder, now=now)
    return reason


def paperwork_skip_reason(reminder: Reminder, *, now: dt.datetime) -> str | None:
    """The paperwork reminder goes only while something is still missing for its visit's step
    (intake.requirements, read when it is due: a form signed or a document sent since booking,
    or a clinician's waiver, and it is not sent)."""
    appointment = reminder.appointment
    assert appointment is not None
    today = now.astimezone(clinic_tz()).date()
    if not visits_missing([appointment], today=today)[appointment.pk]:
        return "nothing missing on file"
    return None


def recipient_patient(reminder: Reminder) -> Patient:
    """The patient a message about an appointment or a patient goes to."""
    if reminder.appointment is not None:
        return reminder.appointment.patient
    assert reminder.patient is not None
    return reminder.patient


def recipient_email(reminder: Reminder) -> str:
    """A booking request's typed address (whoever typed it confirms from it); otherwise the
    patient's address on file."""
    if reminder.booking_request is not None:
        return reminder.booking_request.email
    return recipient_patient(reminder).email
