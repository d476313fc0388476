"""What went out to one patient: every outbox row about them (their appointments, messages about
them, their confirmed online booking requests), for the staff patient page.

Shown to every staff role (Capability.CALENDAR): a row says what kind of message it was, about
which visit, when it was due and sent, through which channel and how it ended. Never its text
(bodies may carry preparation guidance) and never a raw error: `error_summary` turns the stored
error into words that name no address, number or provider reply.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scheduling.errors import SchedulingError
from scheduling.models import Reminder, ReminderState
from scheduling.reminder_requeue import resend_refusal

# The newest rows shown; older ones stay in the overall list (/staff/reminders/).
HISTORY_LIMIT = 100

# Notes the outbox itself writes (scheduling.reminder_plan, scheduling.reminders.dispatch,
# scheduling.transitions): ours, with no address or reply in them, so shown as they are.
OWN_NOTES = (
    "appointment ",
    "visit not attended",
    "follow-up more than a day late",
    "booking request ",
    "no email address",
    "no mobile number",
    "patient opted out",
    "questionnaire already submitted",
    "quiet hours until the visit",
    "worker lost",
    "no longer planned after a change",
)
# An exception the dispatcher recorded as "ClassName: detail": the detail can hold the address or
# the provider's reply, so only the class is kept, in words where we know it.
EXCEPTION = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_.]*):")
KNOWN_ERRORS = {
    "SMTPRecipientsRefused": gettext_lazy("the mail server refused the address"),
    "SMTPSenderRefused": gettext_lazy("the mail server refused our sender address"),
    "SMTPAuthenticationError": gettext_lazy("the mail server refused our login"),
    "SMTPServerDisconnected": gettext_lazy("the mail server hung up"),
    "SmsTransientError": gettext_lazy("the text message provider was unavailable"),
    "SmsError": gettext_lazy("the text message provider refused the message"),
    "SmsPermanentError": gettext_lazy("the text message provider refused the message"),
    "UnsafeReminder": gettext_lazy("held back by the content check"),
    "TimeoutError": gettext_lazy("no answer from the provider in time"),
    "ConnectionRefusedError": gettext_lazy("could not reach the provider"),
    "OSError": gettext_lazy("could not reach the provider"),
}


def error_summary(last_error: str) -> str:
    """`last_error` in words fit for every staff role: our own notes as they are, an exception by
    its class only, anything else as "error (details in the server log)"."""
    text = last_error.strip()
    if not text:
        return ""
    if text.startswith(OWN_NOTES):
        return text
    match = EXCEPTION.match(text)
    if match:
        name = match.group("name").rsplit(".", 1)[-1]
        known = KNOWN_ERRORS.get(name)
        return str(known) if known else _("sending error (%(name)s)") % {"name": name}
    return _("error (details in the server log)")


def patient_messages(patient_id: int) -> QuerySet[Reminder]:
    """The patient's outbox rows, newest due first, with what the history shows loaded (one
    query however many rows); at most HISTORY_LIMIT when sliced by the caller."""
    return (
        Reminder.objects.filter(
            Q(appointment__patient_id=patient_id)
            | Q(patient_id=patient_id)
            | Q(booking_request__appointment__patient_id=patient_id)
        )
        .select_related("appointment__appointment_type", "booking_request")
        .order_by("-due_at", "-id")
    )


def resend_refused(reminder: Reminder, now: dt.datetime) -> str:
    """Why staff may not send this failed message again (scheduling.reminder_requeue's rule, in
    its words), "" when they may; "" for a row that did not fail (it has no button)."""
    if reminder.state != ReminderState.FAILED:
        return ""
    appointment = reminder.appointment
    code = resend_refusal(
        kind=reminder.kind,
        status=appointment.status if appointment is not None else None,
        start=appointment.start if appointment is not None else None,
        now=now,
    )
    return SchedulingError(code).message if code else ""
