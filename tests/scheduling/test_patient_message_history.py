"""Issue 17 §7: staff see what went out. The staff patient page lists every outbox row about the
patient (their appointments, messages about them, their confirmed booking requests) with kind,
visit, times, channel, state and a safe error summary, never a message's text; a failed row has
"Send again", which goes through the outbox once, audited, and is refused for a visit that is
cancelled or past."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from propel.models import AuditEvent
from scheduling.message_history import error_summary, patient_messages
from scheduling.models import (
    AppointmentStatus,
    BookingRequest,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
)
from scheduling.reminder_requeue import resend_refusal
from scheduling.reminders.messages import render_reminder
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
VISIT = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)  # 09:00 Pacific
SMTP_ERROR = "SMTPRecipientsRefused: {'patient-secret@example.test': (550, b'no such user')}"


def page_url(patient) -> str:
    return reverse("scheduling:patient", args=[patient.pk])


def resend_url(reminder) -> str:
    return reverse("scheduling:reminder_resend", args=[reminder.pk])


def row(appointment=None, kind=ReminderKind.CONSULTATION_24H, **fields) -> Reminder:
    fields.setdefault("channel", ReminderChannel.EMAIL)
    fields.setdefault("due_at", VISIT - dt.timedelta(days=1))
    return Reminder.objects.create(appointment=appointment, kind=kind, **fields)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def visit(patient):
    return AppointmentFactory(patient=patient, start=VISIT)


def test_the_history_holds_every_message_about_the_patient_and_only_theirs(
    patient, other_patient, visit
):
    about_visit = row(visit, state=ReminderState.SENT, sent_at=NOW)
    about_patient = row(patient=patient, kind=ReminderKind.PATIENT_LINK, due_at=NOW)
    request = BookingRequest.objects.create(
        first_name="A",
        last_name="B",
        date_of_birth=dt.date(1980, 1, 1),
        email=patient.email,
        mobile="+19165550123",
        start=VISIT,
        hold_key="k" * 32,
        expires_at=NOW,
        appointment=visit,
    )
    about_request = row(booking_request=request, kind=ReminderKind.BOOKING_REQUEST, due_at=NOW)
    row(AppointmentFactory(patient=other_patient, start=VISIT + dt.timedelta(days=1)))
    row(patient=other_patient, kind=ReminderKind.PATIENT_LINK)

    assert set(patient_messages(patient.pk)) == {about_visit, about_patient, about_request}


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user", "admin_user"])
def test_every_staff_role_sees_what_went_out_without_any_text_or_raw_error(
    client_as, patient, visit, persona
):
    sent = row(visit, ReminderKind.CONFIRMATION, state=ReminderState.SENT, sent_at=NOW)
    failed = row(
        visit, ReminderKind.INFUSION_PREP_48H, state=ReminderState.FAILED, last_error=SMTP_ERROR
    )
    skipped = row(
        visit,
        channel=ReminderChannel.SMS,
        state=ReminderState.SKIPPED,
        last_error="patient opted out of text messages",
    )
    page = client_as(persona).get(page_url(patient)).text

    history = page[page.index('id="message-history"') :]
    for message in (sent, failed, skipped):
        assert f'id="message-{message.pk}"' in history
    assert "Booking confirmation" in history and "Visit in two days: preparation" in history
    assert "Text message" in history and "Email" in history
    assert "Tue, Jan 5, 2027, 9:00 a.m." in history  # the visit, in clinic time
    assert "the mail server refused the address" in history
    assert "patient opted out of text messages" in history
    assert "patient-secret@example.test" not in page and "no such user" not in page
    assert resend_url(failed) in history
    assert resend_url(sent) not in history and resend_url(skipped) not in history
    # Never a message's words: the preparation email's body is not on the page.
    body = render_reminder(failed, channel=ReminderChannel.EMAIL).text
    assert any(line.strip() and line.strip() not in page for line in body.splitlines())
    assert "Do not eat" not in page and "driver" not in page.lower()


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("", ""),
        ("appointment cancelled", "appointment cancelled"),
        ("quiet hours until the visit", "quiet hours until the visit"),
        (SMTP_ERROR, "the mail server refused the address"),
        ("SmsTransientError: 503 from https://sms.example/?to=+19165550100", "unavailable"),
        ("ValueError: phone +19165550100 is bad", "sending error (ValueError)"),
        ("SMS provider said +19165550100 is bad", "error (details in the server log)"),
    ],
)
def test_an_error_is_summarised_without_addresses_numbers_or_replies(stored, shown):
    summary = error_summary(stored)
    assert shown in summary
    assert "+1916" not in summary and "@" not in summary


def test_the_page_costs_the_same_queries_with_many_messages(
    client_for, front_desk, patient, visit, django_assert_max_num_queries
):
    staff = client_for(front_desk)
    row(visit, state=ReminderState.FAILED, last_error=SMTP_ERROR)
    staff.get(page_url(patient))  # warm: the session and roles
    with CaptureQueriesContext(connection) as few:
        assert staff.get(page_url(patient)).status_code == 200
    for day in range(1, 8):
        appointment = AppointmentFactory(patient=patient, start=VISIT + dt.timedelta(days=day))
        for kind in (ReminderKind.CONFIRMATION, ReminderKind.CONSULTATION_24H):
            for channel in ReminderChannel.values:
                row(appointment, kind, channel=channel, state=ReminderState.FAILED)
    row(patient=patient, kind=ReminderKind.INFORMATION_REQUEST)
    with django_assert_max_num_queries(len(few)):
        assert staff.get(page_url(patient)).status_code == 200


def test_send_again_from_the_patient_page_goes_back_once_and_is_audited(
    client_for, front_desk, patient, visit
):
    failed = row(visit, state=ReminderState.FAILED, attempts=5, last_error=SMTP_ERROR)
    staff = client_for(front_desk)
    back = page_url(patient)

    first = staff.post(resend_url(failed), {"next": back}, follow=True)
    second = staff.post(resend_url(failed), {"next": back}, follow=True)  # the double click

    assert first.redirect_chain == [(back, 302)]
    assert "will be sent again shortly" in first.text
    assert "nothing more was done" in second.text
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.due_at) == (ReminderState.PENDING, 0, NOW)
    assert AuditEvent.objects.filter(action="reminder.resent", patient_id=patient.pk).count() == 1


@pytest.mark.parametrize(
    ("status", "start", "kind", "said"),
    [
        (AppointmentStatus.CANCELLED, VISIT, ReminderKind.CONSULTATION_24H, "was cancelled"),
        (
            AppointmentStatus.BOOKED,
            NOW - dt.timedelta(hours=1),
            ReminderKind.CONFIRMATION,
            "passed",
        ),
        (
            AppointmentStatus.NO_SHOW,
            NOW - dt.timedelta(hours=1),
            ReminderKind.CANCELLED_NOTICE,
            "passed",
        ),
    ],
)
def test_send_again_is_refused_for_a_cancelled_or_past_visit(
    client_for, front_desk, patient, status, start, kind, said
):
    appointment = AppointmentFactory(patient=patient, start=start, status=status)
    failed = row(appointment, kind, state=ReminderState.FAILED, last_error=SMTP_ERROR)
    response = client_for(front_desk).post(
        resend_url(failed), {"next": page_url(patient)}, follow=True
    )
    assert said in response.text and "not sent again" in response.text
    failed.refresh_from_db()
    assert failed.state == ReminderState.FAILED
    assert not AuditEvent.objects.filter(action="reminder.resent").exists()


def test_a_failed_message_about_a_cancelled_visit_has_no_button_but_says_why(
    client_for, front_desk, patient
):
    appointment = AppointmentFactory(
        patient=patient, start=VISIT, status=AppointmentStatus.CANCELLED
    )
    failed = row(appointment, state=ReminderState.FAILED, last_error=SMTP_ERROR)
    page = client_for(front_desk).get(page_url(patient)).text
    assert resend_url(failed) not in page
    assert "is about a visit that was cancelled, so it is not sent again." in page


def test_which_failed_messages_may_go_again():
    before, after = VISIT - dt.timedelta(days=1), VISIT + dt.timedelta(hours=1)
    booked, cancelled = AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED
    refusal = resend_refusal
    assert refusal(kind=ReminderKind.PATIENT_LINK, status=None, start=None, now=after) is None
    assert (
        refusal(kind=ReminderKind.CONSULTATION_24H, status=booked, start=VISIT, now=before) is None
    )
    assert (
        refusal(kind=ReminderKind.CONSULTATION_24H, status=cancelled, start=VISIT, now=before)
        == "resend_visit_cancelled"
    )
    # The notice of a cancellation is about a cancelled visit: it may go until the visit's time.
    assert (
        refusal(kind=ReminderKind.CANCELLED_NOTICE, status=cancelled, start=VISIT, now=before)
        is None
    )
    assert (
        refusal(kind=ReminderKind.CANCELLED_NOTICE, status=cancelled, start=VISIT, now=after)
        == "resend_visit_past"
    )
    # The follow-up comes after the visit: only a cancelled visit stops it.
    completed = AppointmentStatus.COMPLETED
    assert (
        refusal(kind=ReminderKind.FOLLOW_UP_NEXT_DAY, status=completed, start=VISIT, now=after)
        is None
    )


def test_a_patient_with_no_messages_says_so(client_for, front_desk):
    patient = PatientFactory()
    page = client_for(front_desk).get(page_url(patient)).text
    assert "No messages yet." in page
