"""A course's messages (issue 17, item 2): booking six sessions sends ONE confirmation listing
every session (date, time with zone, place) with one calendar file holding six entries, and plans
every session's own reminders; moving or cancelling one session later tells the patient about
that session only. Calendar files are read by two parsers and a model of a calendar app."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from scheduling.courses.services import course_book, course_session_move
from scheduling.ics import appointment_uid
from scheduling.models import AppointmentStatus, Reminder, ReminderKind
from scheduling.reminder_plan import (
    TREATMENT,
    new_batch,
    plan_reminders,
    reminder_notice_plan,
    reminder_times,
)
from scheduling.slots import clinic_tz
from scheduling.transitions import appointment_transition
from tests.clinic_time import LA, at
from tests.factories import UserFactory, infusion_clinic
from tests.scheduling.calendar_support import CalendarApp, calendar_files
from tests.scheduling.reminder_support import consenting_patient, deliver_due_reminders, sms_lines

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday morning
SIX_TUESDAYS = [at(dt.date(2027, 1, 5) + dt.timedelta(weeks=n), 10) for n in range(6)]
LATER = NOW + dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def clinic():
    infusion_clinic()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk():
    return UserFactory(username="desk", front_desk=True)


@pytest.fixture
def patient():
    patient = consenting_patient(cleared=True, first_name="Robin")
    patient.email = "robin@example.test"
    patient.save(update_fields=["email"])
    return patient


@pytest.fixture
def course(patient, desk):
    return course_book(patient_id=patient.pk, starts=SIX_TUESDAYS, actor=desk, now=NOW)


def sessions(course):
    return list(course.sessions.order_by("start"))


def test_booking_a_course_sends_one_confirmation_with_every_session(course, patient):
    deliver_due_reminders(NOW)
    [email] = mail.outbox
    assert email.to == [patient.email]
    assert email.subject == "Your 6 appointments are booked, from Tue, Jan 5, 2027"
    for start in SIX_TUESDAYS:
        local = start.astimezone(LA)
        line = f"Confirmed: {local:%a}, {local:%b} {local.day}, 2027 at 10:00 a.m. (Pacific time)"
        assert line in email.body
    assert email.body.count(f"Where: {settings.CLINIC_ADDRESS}") == 6
    [(method, entries)] = calendar_files(email)
    assert method == "REQUEST"
    assert [e.uid for e in entries] == [appointment_uid(s) for s in sessions(course)]
    assert [e.start for e in entries] == SIX_TUESDAYS
    assert {(e.sequence, e.status) for e in entries} == {(0, "CONFIRMED")}
    assert {e.attendee for e in entries} == {"mailto:robin@example.test"}
    assert {e.organizer for e in entries} == {"mailto:no-reply@propel.example"}
    [text] = sms_lines()
    assert text["body"].count("10:00 a.m. PT booked") == 6
    # Every confirmation row is recorded as sent by that one message.
    rows = Reminder.objects.filter(kind=ReminderKind.CONFIRMATION, channel="email")
    assert {(r.state, r.provider_message_id) for r in rows} == {
        ("sent", email.extra_headers["Message-ID"])
    }
    deliver_due_reminders(LATER)
    assert len(mail.outbox) == 1 and len(sms_lines()) == 1


def test_every_session_gets_the_reminders_of_a_treatment_visit(course, patient):
    """Sessions 2-6 used to look reminder-less: patients were asked to tick email reminders
    (unticked by default), so only the confirmation (sent to any address on file) was planned,
    and it covered session 1. With consent each session has the full per-visit plan."""
    planned = {}
    for session in sessions(course):
        planned[session.pk] = {
            (kind, channel, due)
            for kind, channel, due in plan_reminders(
                appointment_kind=TREATMENT,
                start=session.start,
                end=session.end,
                now=NOW,
                email_ok=True,
                sms_ok=True,
                intake_done=True,
                tz=clinic_tz(),
                times=reminder_times(),
            )
        }
        rows = Reminder.objects.filter(appointment=session)
        assert {(r.kind, r.channel, r.due_at) for r in rows} == planned[session.pk]
    for session in sessions(course)[1:]:
        assert {kind for kind, _, _ in planned[session.pk]} == {
            ReminderKind.CONFIRMATION,
            ReminderKind.PAPERWORK_72H,
            ReminderKind.INFUSION_PREP_48H,
            ReminderKind.CHECK_IN_LINK,
            ReminderKind.INFUSION_2H,
            ReminderKind.FOLLOW_UP_NEXT_DAY,
        }
    # Session 1, tomorrow morning: its 48-hour preparation time has passed.
    assert ReminderKind.INFUSION_PREP_48H not in {k for k, _, _ in planned[sessions(course)[0].pk]}
    assert Reminder.objects.count() == sum(len(plan) for plan in planned.values())


def test_moving_one_session_tells_the_patient_about_that_session_only(course, desk):
    deliver_due_reminders(NOW)
    calendar = CalendarApp()
    calendar.receive(mail.outbox[0])
    third = sessions(course)[2]
    new_start = at(dt.date(2027, 1, 20), 14)
    course_session_move(appointment_id=third.pk, new_start=new_start, actor=desk, now=LATER)
    # As a staff move plans its notice (one action, one batch). Where the door already plans
    # it (scheduling.notices), this returns that row: one notice per change either way.
    reminder_notice_plan(
        appointment_id=third.pk,
        kind=ReminderKind.RESCHEDULED_NOTICE,
        now=LATER,
        previous_start=third.start,
        batch=new_batch(),
    )
    mail.outbox.clear()
    deliver_due_reminders(LATER)
    [email] = mail.outbox
    # One change: the notice in its kind's own words (the list is for several).
    assert "Wed, Jan 20, 2027" in email.subject and not re.search(r"\d:\d\d", email.subject)
    assert "Wed, Jan 20, 2027 at 2:00 p.m. (Pacific time)" in email.body
    assert "It is no longer on Tue, Jan 19, 2027 at 10:00 a.m. (Pacific time)." in email.body
    for other in SIX_TUESDAYS[:2] + SIX_TUESDAYS[3:]:
        assert f"{other.astimezone(LA):%B} {other.astimezone(LA).day}," not in email.body
    [(method, [entry])] = calendar_files(email)
    assert (method, entry.uid, entry.sequence) == ("REQUEST", appointment_uid(third), 1)
    calendar.receive(email)
    assert sorted(calendar.showing().values()) == sorted(
        [*SIX_TUESDAYS[:2], new_start, *SIX_TUESDAYS[3:]]
    )


def test_cancelling_one_session_tells_the_patient_about_that_session_only(course, desk):
    deliver_due_reminders(NOW)
    calendar = CalendarApp()
    calendar.receive(mail.outbox[0])
    fourth = sessions(course)[3]
    appointment_transition(
        appointment_id=fourth.pk, to_status=AppointmentStatus.CANCELLED, actor=desk, now=LATER
    )
    reminder_notice_plan(appointment_id=fourth.pk, kind=ReminderKind.CANCELLED_NOTICE, now=LATER)
    mail.outbox.clear()
    deliver_due_reminders(LATER)
    [email] = mail.outbox
    assert "Tue, Jan 26, 2027" in email.subject and "cancel" in email.subject
    [(method, [entry])] = calendar_files(email)
    assert (method, entry.uid, entry.status) == ("CANCEL", appointment_uid(fourth), "CANCELLED")
    assert entry.sequence == 1 > 0, "higher than the REQUEST that confirmed it"
    calendar.receive(email)
    assert sorted(calendar.showing().values()) == SIX_TUESDAYS[:3] + SIX_TUESDAYS[4:]
