"""Calendar files calendar apps understand (issue 17, item 4): a patient's email carries
METHOD:REQUEST for a new, moved or confirmed visit (same UID, the appointment's SEQUENCE) and
METHOD:CANCEL with STATUS:CANCELLED and a higher SEQUENCE for a cancelled one, one METHOD per
file, with the clinic as ORGANIZER and the patient as ATTENDEE; read by icalendar and vobject
and applied with Google's and Outlook's rules (same UID replaces, higher SEQUENCE wins). A
patient's own online move is ONE email (item 5). Downloads and the clinicians' feeds publish."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db.models import F

from scheduling.booking import appointment_book, appointment_move
from scheduling.calendar.feeds import clinician_feed_ics
from scheduling.ics import appointment_uid, appointments_ics
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BookedVia,
    NoticeReason,
    Reminder,
    ReminderKind,
)
from scheduling.online.changes import online_consultation_reschedule
from scheduling.reminder_plan import new_batch, reminder_notice_plan
from scheduling.transitions import appointment_transition
from tests.clinic_time import WEDNESDAY, at, stopped_clock
from tests.factories import UserFactory, consultation_at
from tests.scheduling.calendar_support import CalendarApp, calendar_files
from tests.scheduling.reminder_support import consenting_patient, deliver_due_reminders

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon
THURSDAY = dt.date(2027, 1, 7)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def patient():
    patient = consenting_patient(sms=False, first_name="Robin")
    patient.email = "robin@example.test"
    patient.save(update_fields=["email"])
    return patient


def one_email():
    deliver_due_reminders(NOW)
    [email] = mail.outbox
    mail.outbox.clear()
    return email


def test_confirm_move_and_cancel_update_the_same_entry(online_clinic, patient):
    appointment = appointment_book(
        patient_id=patient.pk,
        appointment_type_id=online_clinic.consultation.pk,
        start=at(WEDNESDAY, 15),
        now=NOW,
    )
    uid = appointment_uid(appointment)
    calendar = CalendarApp()

    confirmed = one_email()
    [(method, [entry])] = calendar_files(confirmed)
    assert (method, entry.uid, entry.sequence, entry.status) == ("REQUEST", uid, 0, "CONFIRMED")
    assert entry.organizer == "mailto:no-reply@propel.example"
    assert entry.attendee == "mailto:robin@example.test"
    mime = confirmed.message().as_string()
    assert 'Content-Type: text/calendar; method="REQUEST"; charset="utf-8"' in mime
    calendar.receive(confirmed)
    assert calendar.showing() == {uid: at(WEDNESDAY, 15)}

    desk = UserFactory(username="desk", front_desk=True)
    # The booking door plans the notice of a staff move itself.
    appointment_move(appointment_id=appointment.pk, new_start=at(THURSDAY, 10), actor=desk, now=NOW)
    moved = one_email()
    assert "It is no longer on Wed, Jan 6, 2027 at 3:00 p.m. (Pacific time)." in moved.body
    [(method, [entry])] = calendar_files(moved)
    assert (method, entry.uid, entry.sequence) == ("REQUEST", uid, 1)
    calendar.receive(moved)
    assert calendar.showing() == {uid: at(THURSDAY, 10)}, "the same UID replaced the entry"

    appointment_transition(
        appointment_id=appointment.pk, to_status=AppointmentStatus.CANCELLED, actor=desk
    )
    cancelled = one_email()
    [(method, [entry])] = calendar_files(cancelled)
    assert (method, entry.uid, entry.status) == ("CANCEL", uid, "CANCELLED")
    assert entry.sequence == 2 > 1, "higher than the last REQUEST sent"
    assert entry.organizer and entry.attendee
    calendar.receive(cancelled)
    assert calendar.showing() == {}
    # An older REQUEST arriving late (a retried first email) does not bring it back.
    calendar.receive(confirmed)
    calendar.receive(moved)
    assert calendar.showing() == {}


def test_a_patients_reschedule_is_one_email(online_clinic, patient):
    old = consultation_at(
        online_clinic, at(WEDNESDAY, 15), patient=patient, booked_via=BookedVia.ONLINE
    )
    calendar = CalendarApp()
    calendar.receive(_confirmation_of(old))
    new = online_consultation_reschedule(
        patient_id=patient.pk,
        appointment_id=old.pk,
        start=at(THURSDAY, 10),
        idempotency_key="k" * 32,
        now=NOW,
    )
    email = one_email()
    deliver_due_reminders(NOW + dt.timedelta(minutes=5))
    assert mail.outbox == [], "no separate confirmation of the new time"
    assert email.subject == "Your consultation has moved to Thu, Jan 7, 2027"
    assert "has moved to Thu, Jan 7, 2027 at 10:00 a.m. (Pacific time)" in email.body
    assert "It is no longer on Wed, Jan 6, 2027 at 3:00 p.m. (Pacific time)." in email.body
    files = dict(calendar_files(email))
    assert set(files) == {"REQUEST", "CANCEL"}, "one METHOD per file"
    [requested] = files["REQUEST"]
    [cancelled] = files["CANCEL"]
    assert (requested.uid, requested.sequence) == (appointment_uid(new), 0)
    assert (cancelled.uid, cancelled.sequence, cancelled.status) == (
        appointment_uid(old),
        1,
        "CANCELLED",
    )
    calendar.receive(email)
    assert calendar.showing() == {appointment_uid(new): at(THURSDAY, 10)}


def _confirmation_of(appointment):
    """The confirmation the patient got at booking, as sent."""
    Reminder.objects.create(
        appointment=appointment, kind=ReminderKind.CONFIRMATION, channel="email", due_at=NOW
    )
    return one_email()


def test_downloads_and_clinician_feeds_publish(online_clinic, patient):
    appointment = consultation_at(online_clinic, at(WEDNESDAY, 15), patient=patient)
    assert b"METHOD:PUBLISH" in appointments_ics([appointment], now=NOW)
    assert b"ORGANIZER" not in appointments_ics([appointment], now=NOW)
    assert b"METHOD:PUBLISH" in clinician_feed_ics(online_clinic.clinician, now=NOW)


def test_one_action_over_two_visits_is_one_email_with_a_file_per_method(online_clinic, patient):
    """As one staff action plans them (scheduling.reminder_plan: one batch, the clinic's reason):
    one visit moved and one cancelled make one email, a REQUEST file and a CANCEL file."""
    first = consultation_at(online_clinic, at(WEDNESDAY, 15), patient=patient)
    second = consultation_at(online_clinic, at(THURSDAY, 15), patient=patient)
    batch = new_batch()
    # The changes themselves, as the booking and lifecycle doors leave them (moved: new time,
    # sequence bumped; cancelled: status, sequence bumped); this test is about their message.
    Appointment.objects.filter(pk=first.pk).update(
        start=at(WEDNESDAY, 17), end=at(WEDNESDAY, 18), sequence=F("sequence") + 1
    )
    Appointment.objects.filter(pk=second.pk).update(
        status=AppointmentStatus.CANCELLED, sequence=F("sequence") + 1
    )
    for appointment, kind, previous in (
        (first, ReminderKind.RESCHEDULED_NOTICE, at(WEDNESDAY, 15)),
        (second, ReminderKind.CANCELLED_NOTICE, None),
    ):
        reminder_notice_plan(
            appointment_id=appointment.pk,
            kind=kind,
            now=NOW,
            previous_start=previous,
            reason=NoticeReason.SCHEDULE_CHANGE,
            batch=batch,
        )
    email = one_email()
    assert email.subject == "Changes to 2 of your appointments"
    assert "Moved from Wed, Jan 6, 2027 at 3:00 p.m. to Wed, Jan 6, 2027 at " in (email.body)
    assert "Cancelled: Thu, Jan 7, 2027 at 3:00 p.m. (Pacific time)" in email.body
    assert email.body.count("because we had to change our schedule") == 2
    assert "To book another time" in email.body
    files = dict(calendar_files(email))
    assert [(e.uid, e.sequence) for e in files["REQUEST"]] == [(appointment_uid(first), 1)]
    assert [(e.uid, e.sequence, e.status) for e in files["CANCEL"]] == [
        (appointment_uid(second), 1, "CANCELLED")
    ]
