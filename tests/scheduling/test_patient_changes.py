"""Moving and cancelling a consultation from the patient's page: allowed until the cutoff, refused
by the server after it; a move is one transaction; the notices are reminder rows written with the
change (nothing waits for the broker), sent once by the sweep, with updated calendar entries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from intake.models import Flag, Severity, SubmissionStatus
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    BookedVia,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
    RoomKind,
)
from scheduling.online.changes import online_consultation_cancel
from scheduling.queries import rescheduled_from
from scheduling.reminders.dispatch import email_message_id
from scheduling.waitlist.hooks import FREED_SLOT_TASK
from tests.clinic_time import LA, WEDNESDAY, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    IntakeSubmissionFactory,
    RoomFactory,
    consultation_at,
)
from tests.patient_links import open_session
from tests.scheduling.reminder_support import deliver_due_reminders


def broker_calls(callbacks: list) -> list:
    """What a change queued after commit, but the waitlist's offer of the freed time
    (scheduling.waitlist.hooks): the change itself queues nothing."""
    return [call for call in callbacks if FREED_SLOT_TASK not in getattr(call, "args", ())]


pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon
HEALTH_WORDS = ("ketamine", "infusion", "depress", "anxiety", "ptsd", "pain", "cancer", "psych")


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def consultation(online_clinic, patient) -> Appointment:
    return consultation_at(
        online_clinic, at(WEDNESDAY, 15), patient=patient, booked_via=BookedVia.ONLINE
    )


@pytest.fixture
def token(client, patient) -> str:
    """The patient's link, opened in `client`: addresses carry its session's marker."""
    return open_session(client, patient)


def url(name: str, token: str, appointment: Appointment) -> str:
    return reverse(f"scheduling:{name}", args=[token, appointment.pk])


def calendar_of(message) -> Calendar:
    """Every calendar file of the message in one calendar (a REQUEST file for what is on, a
    CANCEL file for what was cancelled)."""
    merged = Calendar()
    for _, content, _ in message.attachments:
        for event in Calendar.from_ical(content).walk("VEVENT"):
            merged.add_component(event)
    return merged


def notice(appointment: Appointment, kind: str) -> Reminder:
    return Reminder.objects.get(appointment=appointment, kind=kind, channel=ReminderChannel.EMAIL)


def assert_discreet(message) -> None:
    assert "ketamine" not in message.subject.lower()
    for text in (message.body.lower(), message.alternatives[0][0].lower()):
        assert not any(word in text for word in HEALTH_WORDS)


# Cancel -----------------------------------------------------------------------------------------


def test_cancel_asks_first_then_cancels_and_emails_a_cancelled_calendar_entry(
    client, patient, consultation, token, django_capture_on_commit_callbacks
):
    page = client.get(url("patient_cancel", token, consultation))
    assert page.status_code == 200
    assert "Yes, cancel it" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            url("patient_cancel", token, consultation), {"reason": "plans_changed"}
        )
    assert broker_calls(callbacks) == [], "nothing is queued on the broker: the notice is a row"
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:patient_home", args=[token])
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.CANCELLED
    assert consultation.sequence == 1
    change = AppointmentStatusChange.objects.get(appointment=consultation, to_status="cancelled")
    assert change.reason == "Cancelled online by the patient: My plans changed"

    row = notice(consultation, ReminderKind.CANCELLED_NOTICE)
    assert (row.state, row.due_at) == (ReminderState.PENDING, NOW)
    assert mail.outbox == []
    assert deliver_due_reminders() == [row.pk]
    (message,) = mail.outbox
    assert message.extra_headers["Message-ID"] == email_message_id(row)
    assert message.subject == "Your consultation on Wed, Jan 6, 2027 is cancelled"
    assert_discreet(message)
    (event,) = calendar_of(message).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    assert event.decoded("sequence") == 1
    followed = client.get(response["Location"]).content.decode()
    assert "is cancelled. We have emailed you a confirmation." in followed


def test_cancel_without_a_reason_is_fine_and_a_made_up_reason_is_refused(
    client, consultation, token
):
    bad = client.post(url("patient_cancel", token, consultation), {"reason": "I feel awful"})
    assert bad.status_code == 200
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED
    assert client.post(url("patient_cancel", token, consultation)).status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.CANCELLED


def test_cancelling_twice_is_harmless(client, consultation, token):
    client.post(url("patient_cancel", token, consultation))
    again = client.post(url("patient_cancel", token, consultation))
    assert again.status_code == 302
    consultation.refresh_from_db()
    assert consultation.sequence == 1


def test_after_the_cutoff_the_page_gives_the_phone_and_the_server_refuses(
    client, consultation, token, frozen
):
    frozen.move_to(consultation.start - dt.timedelta(hours=23))
    token = open_session(client, consultation.patient)  # the first session went idle
    page = client.get(url("patient_cancel", token, consultation))
    assert page.status_code == 200
    text = page.content.decode()
    assert "can no longer be changed online" in text and "(916) 915-9215" in text
    assert "Yes, cancel it" not in text
    refused = client.post(url("patient_cancel", token, consultation))
    assert refused.status_code == 409
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED
    assert not mail.outbox


def test_a_staff_booked_visit_cannot_be_cancelled_online(client, patient, online_clinic, token):
    infusion = AppointmentFactory(
        patient=patient,
        appointment_type=AppointmentTypeFactory(
            code="infusion", room_kind=RoomKind.INFUSION, self_bookable=False
        ),
        room=RoomFactory(infusion=True),
        clinician=online_clinic.clinician,
        start=at(dt.date(2027, 1, 8), 10),
    )
    refused = client.post(url("patient_cancel", token, infusion))
    assert refused.status_code == 409
    assert "please call us" in refused.content.decode()
    infusion.refresh_from_db()
    assert infusion.status == AppointmentStatus.BOOKED


# Reschedule --------------------------------------------------------------------------------------


def offered_links(page: str) -> list[str]:
    return re.findall(r'href="([^"]*reschedule/confirm/\?start=[^"]+)"', page)


def test_reschedule_shows_free_times_then_asks_before_moving(client, consultation, token):
    picker = client.get(url("patient_reschedule", token, consultation))
    assert picker.status_code == 200
    links = offered_links(picker.content.decode())
    assert links
    confirm = client.get(links[0].replace("&amp;", "&"))
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "Yes, move it" in text
    assert "Wed, Jan 6, 2027 at 3:00 p.m. PT" in text  # from
    assert "Tue, Jan 5, 2027 at 12:00 p.m. PT" in text  # to: the first free time


def move(client, token, appointment, start: dt.datetime, key: str = "k" * 32):
    return client.post(
        url("patient_reschedule_confirm", token, appointment),
        {"start": start.isoformat(), "key": key},
    )


def test_reschedule_cancels_the_old_and_books_the_new_in_one_go(
    client, patient, consultation, token, django_capture_on_commit_callbacks
):
    new_start = at(dt.date(2027, 1, 7), 10)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = move(client, token, consultation, new_start)
    assert broker_calls(callbacks) == [], "nothing is queued on the broker: the notice is a row"
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.CANCELLED
    assert consultation.sequence == 1
    new = Appointment.objects.get(patient=patient, status=AppointmentStatus.BOOKED)
    assert new.start == new_start
    assert new.booked_via == BookedVia.ONLINE
    assert rescheduled_from(new) == consultation

    row = notice(new, ReminderKind.RESCHEDULED_NOTICE)
    assert mail.outbox == []
    deliver_due_reminders()
    # One email for the move: no separate booking confirmation for the new time.
    (message,) = mail.outbox
    assert message.extra_headers["Message-ID"] == email_message_id(row)
    assert message.subject == "Your consultation has moved to Thu, Jan 7, 2027"
    assert "It is no longer on Wed, Jan 6, 2027 at 3:00 p.m. (Pacific time)." in message.body
    assert_discreet(message)
    events = {str(event["uid"]): event for event in calendar_of(message).walk("VEVENT")}
    old_event = events[f"appointment-{consultation.pk}@127.0.0.1"]
    new_event = events[f"appointment-{new.pk}@127.0.0.1"]
    assert (str(old_event["status"]), old_event.decoded("sequence")) == ("CANCELLED", 1)
    assert str(new_event["status"]) == "CONFIRMED"
    assert new_event.decoded("dtstart").astimezone(LA).hour == 10


def test_a_moved_visit_reads_moved_to_the_new_time_not_cancelled(
    client, patient, consultation, token
):
    """Issue 17 §6: the online move cancels the old appointment row, but the patient reads that it
    moved, and where to (the patient's page and the old visit's own pages)."""
    assert move(client, token, consultation, at(dt.date(2027, 1, 7), 10)).status_code == 302
    moved = (
        "Your consultation on Wed, Jan 6, 2027 at 3:00 p.m. was moved to Thu, "
        "Jan 7, 2027 at 10:00 a.m."
    )
    home = client.get(reverse("scheduling:patient_home", args=[token])).content.decode()
    old_page = client.get(url("patient_reschedule", token, consultation)).content.decode()
    for page in (home, old_page):
        assert moved in page
        assert "was cancelled" not in page


def test_moving_by_half_an_hour_into_its_own_time_works(client, patient, consultation, token):
    assert move(client, token, consultation, at(WEDNESDAY, 15, 30)).status_code == 302
    assert Appointment.objects.get(status=AppointmentStatus.BOOKED).start == at(WEDNESDAY, 15, 30)


def test_when_the_new_time_is_taken_the_old_booking_stays(
    client, patient, online_clinic, consultation, token
):
    taken = at(dt.date(2027, 1, 7), 10)
    consultation_at(online_clinic, taken)
    response = move(client, token, consultation, taken)
    assert response.status_code == 409
    text = response.content.decode()
    assert "Sorry, that time is no longer free." in text
    assert "The nearest free times" in text
    assert "Yes, move it" not in text
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED
    assert consultation.sequence == 0
    assert not mail.outbox


def test_the_same_move_submitted_twice_moves_once(client, patient, consultation, token):
    new_start = at(dt.date(2027, 1, 7), 10)
    assert move(client, token, consultation, new_start).status_code == 302
    assert move(client, token, consultation, new_start).status_code == 302
    assert Appointment.objects.filter(patient=patient, status="booked").count() == 1
    assert Appointment.objects.filter(patient=patient).count() == 2


def test_the_new_time_must_respect_the_notice(client, consultation, token):
    response = move(client, token, consultation, at(dt.date(2027, 1, 5), 11))
    assert response.status_code == 409
    assert "Online bookings need at least 24 hours" in response.content.decode()
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED


def test_after_the_cutoff_reschedule_gives_the_phone_and_the_server_refuses(
    client, consultation, token, frozen
):
    frozen.move_to(consultation.start - dt.timedelta(hours=20))
    token = open_session(client, consultation.patient)  # the first session went idle
    page = client.get(url("patient_reschedule", token, consultation)).content.decode()
    assert "can no longer be changed online" in page
    assert not offered_links(page)
    response = move(client, token, consultation, at(dt.date(2027, 1, 8), 10))
    assert response.status_code == 409
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED
    assert Appointment.objects.count() == 1


def test_a_hard_stop_patient_is_not_moved_online(client, patient, consultation, token):
    submission = IntakeSubmissionFactory(
        patient=patient, status=SubmissionStatus.SUBMITTED, submitted_at=NOW
    )
    Flag.objects.create(
        submission=submission, rule_id="A22", severity=Severity.HARD_STOP, title="x", source="y"
    )
    response = move(client, token, consultation, at(dt.date(2027, 1, 7), 10))
    assert response.status_code == 409
    assert "Our care team will contact you" in response.content.decode()
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"start": "yesterday", "key": "k" * 32},
        {"start": "2027-01-07T10:00:00-08:00", "key": "short"},
        {"start": "2027-01-07T10:00:00-08:00", "key": "bad key with spaces!!!!!!!!"},
    ],
)
def test_a_malformed_move_goes_back_to_the_picker(client, consultation, token, data):
    response = client.post(url("patient_reschedule_confirm", token, consultation), data)
    assert response.status_code == 302
    assert response["Location"] == url("patient_reschedule", token, consultation)
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED


def test_a_key_used_by_another_patient_moves_nothing(client, consultation, token, online_clinic):
    AppointmentFactory(
        appointment_type=online_clinic.consultation,
        start=at(dt.date(2027, 1, 12), 10),
        idempotency_key="k" * 32,
    )
    response = move(client, token, consultation, at(dt.date(2027, 1, 7), 10))
    assert response.status_code == 409
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.BOOKED


def test_each_notice_is_sent_once_however_often_the_sweep_runs(
    client, patient, consultation, token
):
    new_start = at(dt.date(2027, 1, 7), 10)
    assert move(client, token, consultation, new_start).status_code == 302
    new = Appointment.objects.get(patient=patient, status=AppointmentStatus.BOOKED)
    assert client.post(url("patient_cancel", token, new)).status_code == 302
    deliver_due_reminders()
    deliver_due_reminders()
    moved, cancelled = (
        notice(new, ReminderKind.RESCHEDULED_NOTICE),
        notice(new, ReminderKind.CANCELLED_NOTICE),
    )
    # The move was announced before the new time was cancelled: both notices go, once each, so
    # the patient's calendar ends with neither time in it.
    assert (moved.state, cancelled.state) == (ReminderState.SENT, ReminderState.SENT)
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert ids.count(email_message_id(moved)) == 1
    assert ids.count(email_message_id(cancelled)) == 1
    subjects = [m.subject for m in mail.outbox]
    assert "Your consultation has moved to Thu, Jan 7, 2027" in subjects
    assert "Your consultation on Thu, Jan 7, 2027 is cancelled" in subjects


def test_a_notice_is_skipped_once_the_time_it_names_has_passed(consultation, patient, frozen):
    online_consultation_cancel(patient_id=patient.pk, appointment_id=consultation.pk)
    frozen.move_to(consultation.start + dt.timedelta(minutes=1))
    deliver_due_reminders()
    row = notice(consultation, ReminderKind.CANCELLED_NOTICE)
    assert row.state == ReminderState.SKIPPED
    assert mail.outbox == []


def test_a_patient_without_an_email_address_gets_no_notice_row(consultation, patient):
    patient.email = ""
    patient.save(update_fields=["email"])
    online_consultation_cancel(patient_id=patient.pk, appointment_id=consultation.pk)
    assert not Reminder.objects.filter(kind=ReminderKind.CANCELLED_NOTICE).exists()
