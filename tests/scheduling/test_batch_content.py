"""Batch messages in the health-word scan (tests/scheduling/test_reminder_content.py): the one
message listing the entries of one action (confirmed / moved / cancelled, with each reason staff
may pick), by email and by SMS, names nothing about health; it gives the reason in plain words
and the way to rebook."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.conf import settings

from scheduling.models import NoticeReason, Reminder, ReminderChannel, ReminderKind
from scheduling.reminders.messages import RenderedMessage, render_message
from tests.scheduling.test_reminder_content import (
    any_language_appointments,
    appointments,
    forbidden_in,
)

pytestmark = pytest.mark.django_db

# The scan's fixtures: a consultation and a treatment visit, for an English patient, and for an
# English then a Spanish one (issue 22).
__all__ = ["any_language_appointments", "appointments"]


# Batches (one message listing the messages of one action): every mix of entries, with and
# without the clinic's reason, by both channels.
BATCH_MIXES = {
    "confirmed": [ReminderKind.CONFIRMATION, ReminderKind.CONFIRMATION],
    "moved": [ReminderKind.RESCHEDULED_NOTICE],
    "cancelled": [ReminderKind.CANCELLED_NOTICE],
    "mixed": [
        ReminderKind.CONFIRMATION,
        ReminderKind.RESCHEDULED_NOTICE,
        ReminderKind.CANCELLED_NOTICE,
    ],
}


def rendered_batch(appointments, kinds, channel, reason: str = "") -> RenderedMessage:
    batch = uuid.uuid4()
    visits = [appointments["consultation"], appointments["infusion"]]
    rows = [
        Reminder(
            appointment=visits[index % 2],
            kind=kind,
            channel=channel,
            due_at=visits[index % 2].start,
            batch=batch,
            reason=reason,
            previous_start=visits[index % 2].start - dt.timedelta(days=1),
        )
        for index, kind in enumerate(kinds)
    ]
    return render_message(rows, channel=channel)


@pytest.mark.parametrize("mix", list(BATCH_MIXES))
@pytest.mark.parametrize("reason", ["", *NoticeReason.values])
@pytest.mark.parametrize("channel", ReminderChannel.values)
def test_batch_sms_and_subject_name_nothing_about_health(
    any_language_appointments, mix, reason, channel
):
    message = rendered_batch(any_language_appointments, BATCH_MIXES[mix], channel, reason)
    assert forbidden_in(message.sms) == []
    assert forbidden_in(message.subject) == []
    text = message.sms or message.subject
    assert text and "\n" not in text


def test_a_batch_names_the_reason_and_the_way_to_rebook(appointments):
    message = rendered_batch(
        appointments, BATCH_MIXES["mixed"], "email", NoticeReason.CLINICIAN_UNAVAILABLE
    )
    assert message.subject == "Changes to 3 of your appointments"
    for body in (message.text, message.html):
        assert "We made this change because your clinician is not available then." in body
        assert settings.CLINIC_PHONE in body and "/p/" in body
    assert "Confirmed: " in message.text and "Cancelled: " in message.text
    assert re.search(r"Moved from \w+, \w+ \d+, 2027 at [\d:]+ [ap]\.m\. to ", message.text)
    assert forbidden_in(message.text, ("ketamine", "infusion")) == []
