"""How one message goes out: its rendering (scheduling.reminders.messages) through the email or
SMS backend, with the key that makes a retry the same message to the provider.

The dispatcher (scheduling.reminders.dispatch) calls `deliver` with the locked rows of one message
(a lone row, or the live rows of a batch) inside the transaction that records the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from intake.opt_out import list_unsubscribe_headers
from propel.sms import get_sms_backend
from scheduling.models import Reminder, ReminderChannel
from scheduling.reminders import messages
from scheduling.reminders.relevance import recipient_email, recipient_patient


def idempotency_key(reminder: Reminder) -> str:
    """Stable for the message: every retry of one reminder (or of one batch, through any of its
    rows) carries the same key."""
    if reminder.batch is not None:
        return f"reminder-batch-{reminder.batch}-{reminder.channel}"
    return f"reminder-{reminder.pk}"


def email_message_id(reminder: Reminder) -> str:
    domain = urlparse(settings.SITE_URL).hostname or "propel.invalid"
    return f"<{idempotency_key(reminder)}@{domain}>"


def deliver(
    rows: list[Reminder],
    *,
    questionnaires: Mapping[int, str] | None = None,
) -> str:
    """Send the message of these rows (one row, or the live rows of one batch) through their
    channel; return the provider's message id. A chunk passes its patients' questionnaire states
    (read once for the chunk)."""
    reminder = rows[0]
    rendered = messages.render_message(
        rows, channel=reminder.channel, questionnaires=questionnaires
    )
    if reminder.channel == ReminderChannel.SMS:
        return get_sms_backend().send(
            to=str(recipient_patient(reminder).mobile),
            body=rendered.sms,
            idempotency_key=idempotency_key(reminder),
        )
    message_id = email_message_id(reminder)
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient_email(reminder)],
        # The one-click opt-out (RFC 8058) on every email to a patient (intake.opt_out).
        headers={"Message-ID": message_id, **list_unsubscribe_headers(rendered.opt_out_url)},
    )
    if rendered.html:
        message.attach_alternative(rendered.html, "text/html")
    for filename, content, mimetype in rendered.attachments:
        message.attach(filename, content, mimetype)
    message.send()
    return message_id
