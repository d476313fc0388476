"""Staff reminder pages: who may see them, failed messages first, resend, constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from propel.models import AuditEvent
from scheduling.models import (
    BookingRequest,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
)
from scheduling.reminder_plan import booking_request_message_plan, patient_message_plan
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db

DUE = dt.datetime(2027, 1, 3, 17, 0, tzinfo=dt.UTC)


def make_reminder(appointment, kind=ReminderKind.CONSULTATION_24H, **fields) -> Reminder:
    fields.setdefault("channel", ReminderChannel.SMS)
    fields.setdefault("due_at", DUE)
    return Reminder.objects.create(appointment=appointment, kind=kind, **fields)


@pytest.fixture
def appointment():
    return AppointmentFactory()


@pytest.fixture
def rows(appointment):
    return {
        "sent": make_reminder(
            appointment,
            ReminderKind.CONFIRMATION,
            state=ReminderState.SENT,
            sent_at=DUE,
            attempts=1,
            due_at=DUE + dt.timedelta(days=1),
        ),
        "failed": make_reminder(
            appointment,
            ReminderKind.CONSULTATION_24H,
            state=ReminderState.FAILED,
            attempts=5,
            last_error="SMS provider refused the message (400)",
            due_at=DUE - dt.timedelta(days=1),
        ),
        "pending": make_reminder(
            appointment, ReminderKind.INTAKE_NUDGE_48H, channel=ReminderChannel.EMAIL
        ),
    }


def pages(appointment_id: int) -> list[str]:
    return [
        reverse("scheduling:reminders"),
        reverse("scheduling:appointment_reminders", args=[appointment_id]),
    ]


def test_the_addresses():
    assert reverse("scheduling:reminders") == "/staff/reminders/"
    assert (
        reverse("scheduling:appointment_reminders", args=[7]) == "/staff/appointments/7/reminders/"
    )


def test_anonymous_visitors_are_sent_to_sign_in(appointment):
    for page in pages(appointment.pk):
        response = Client().get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("propel:login"))


@pytest.mark.parametrize(
    ("persona", "status"),
    [("front desk", 200), ("clinician", 200), ("admin", 200), ("no role", 403)],
)
def test_each_role(persona, status, personas, client_for, appointment, rows):
    client = client_for(personas[persona])
    for page in pages(appointment.pk):
        assert client.get(page).status_code == status


def test_failed_rows_come_first_with_their_error(client_for, front_desk, appointment, rows):
    for page in pages(appointment.pk):
        response = client_for(front_desk).get(page)
        listed = list(response.context["reminders"])
        assert listed[0] == rows["failed"]
        assert set(listed) == set(rows.values())
        html = response.content.decode()
        # Summarised for every staff role (scheduling.message_history): the provider's reply
        # stays in the server log.
        assert "SMS provider refused the message (400)" not in html
        assert "error (details in the server log)" in html
        assert reverse("scheduling:reminder_resend", args=[rows["failed"].pk]) in html
        assert reverse("scheduling:reminder_resend", args=[rows["sent"].pk]) not in html


def test_the_overall_list_filters(client_for, front_desk, rows):
    client = client_for(front_desk)
    response = client.get(reverse("scheduling:reminders"), {"state": "sent"})
    assert list(response.context["reminders"]) == [rows["sent"]]
    response = client.get(reverse("scheduling:reminders"), {"channel": "email"})
    assert list(response.context["reminders"]) == [rows["pending"]]
    response = client.get(reverse("scheduling:reminders"), {"state": "nonsense"})
    assert len(response.context["reminders"]) == 3


def test_the_navbar_links_to_the_reminders(client_for, front_desk, no_role_user):
    url = reverse("scheduling:reminders")
    assert url in client_for(front_desk).get(reverse("scheduling:today")).content.decode()


def test_resend_puts_a_failed_row_back_to_pending(client_for, front_desk, rows):
    failed = rows["failed"]
    before = timezone.now()
    response = client_for(front_desk).post(reverse("scheduling:reminder_resend", args=[failed.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == ReminderState.PENDING
    assert failed.attempts == 0
    assert failed.last_error == ""
    assert failed.due_at >= before
    event = AuditEvent.objects.get(action="reminder.resent")
    assert event.actor == front_desk
    assert event.object_id == str(failed.pk)
    assert event.patient_id == failed.appointment.patient_id


@pytest.mark.parametrize("which", ["sent", "pending"])
def test_resend_refuses_a_row_that_did_not_fail(client_for, front_desk, rows, which):
    row = rows[which]
    before = Reminder.objects.values().get(pk=row.pk)
    client_for(front_desk).post(reverse("scheduling:reminder_resend", args=[row.pk]))
    assert Reminder.objects.values().get(pk=row.pk) == before
    assert not AuditEvent.objects.filter(action="reminder.resent").exists()


def test_resend_returns_to_a_safe_page_only(client_for, front_desk, appointment, rows):
    client = client_for(front_desk)
    back = reverse("scheduling:appointment_reminders", args=[appointment.pk])
    url = reverse("scheduling:reminder_resend", args=[rows["failed"].pk])
    assert client.post(url, {"next": back})["Location"] == back
    assert client.post(url, {"next": "https://evil.example/"})["Location"] == reverse(
        "scheduling:reminders"
    )


def test_resend_needs_post_and_the_calendar_role(client_for, no_role_user, front_desk, rows):
    url = reverse("scheduling:reminder_resend", args=[rows["failed"].pk])
    assert client_for(front_desk).get(url).status_code == 405
    assert client_for(no_role_user).post(url).status_code == 403
    assert Client().post(url).status_code == 302
    rows["failed"].refresh_from_db()
    assert rows["failed"].state == ReminderState.FAILED


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def make_many(count: int) -> None:
    kinds = ReminderKind.values
    for index in range(count):
        appointment = AppointmentFactory(
            start=DUE + dt.timedelta(days=index + 1),
            end=DUE + dt.timedelta(days=index + 1, hours=1),
        )
        make_reminder(
            appointment,
            kinds[index % len(kinds)],
            state=ReminderState.FAILED if index % 3 == 0 else ReminderState.SENT,
        )


def test_the_overall_list_costs_the_same_queries_for_5_and_50(client_for, front_desk):
    client = client_for(front_desk)
    url = reverse("scheduling:reminders")
    client.get(url)  # warm the session and role caches
    make_many(5)
    few = queries_for(client, url)
    make_many(45)
    assert queries_for(client, url) == few


def test_the_appointment_page_costs_the_same_queries_for_few_and_many(client_for, front_desk):
    client = client_for(front_desk)
    appointment = AppointmentFactory()
    url = reverse("scheduling:appointment_reminders", args=[appointment.pk])
    client.get(url)
    make_reminder(appointment, ReminderKind.CONFIRMATION, state=ReminderState.FAILED)
    few = queries_for(client, url)
    for kind in ReminderKind.values[1:]:
        for channel in ReminderChannel.values:
            make_reminder(appointment, kind, channel=channel)
    many = 1 + (len(ReminderKind.values) - 1) * len(ReminderChannel.values)
    assert Reminder.objects.filter(appointment=appointment).count() == many
    assert queries_for(client, url) == few


def test_the_list_shows_and_audits_messages_about_a_patient_or_a_booking_request(
    client_for, front_desk
):
    patient = PatientFactory(first_name="Linda", last_name="Linkless")
    patient_message_plan(patient_id=patient.pk, kind=ReminderKind.PATIENT_LINK)
    request = BookingRequest.objects.create(
        first_name="Typed",
        last_name="Stranger",
        date_of_birth=dt.date(1980, 1, 1),
        email="typed@example.test",
        mobile="+19165550123",
        start=DUE,
        hold_key="k" * 32,
        expires_at=DUE,
    )
    booking_request_message_plan(booking_request=request)
    response = client_for(front_desk).get(reverse("scheduling:reminders"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Linda Linkless" in page and "Online booking request" in page
    assert "Stranger" not in page and "typed@example.test" not in page
    event = AuditEvent.objects.filter(action="patient.viewed").latest("pk")
    assert event.detail["patient_ids"] == [patient.pk]
