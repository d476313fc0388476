"""A course booked as one batch (scheduling.batch_booking) writes for every session what a single
booking writes, checks each session against the ones placed before it, and keeps the exclusion
constraints as the last word: an overlap that slipped past the checks refuses the session it is
about, and nothing of the course is kept."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from propel.models import AuditEvent
from scheduling import batch_booking
from scheduling.booking_facts import Window
from scheduling.courses.services import CourseConflict, course_book
from scheduling.models import (
    Appointment,
    AppointmentStatusChange,
    InfusionCourse,
    Reminder,
    ReminderKind,
)
from tests.clinic_time import LA, at
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    UserFactory,
    clear_patient,
    infusion_clinic,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday morning
TUESDAYS = [dt.date(2027, 1, 5) + dt.timedelta(weeks=n) for n in range(4)]
STARTS = [at(day, 10) for day in TUESDAYS]


@pytest.fixture
def clinic():
    with time_machine.travel(NOW, tick=False):
        yield infusion_clinic(room_name="Infusion Suite 1")


@pytest.fixture
def desk():
    return UserFactory(front_desk=True)


@pytest.fixture
def cleared():
    patient = PatientFactory(consent_email=True)
    clear_patient(patient)
    return patient


def test_every_session_gets_its_history_reminders_and_audit_event(clinic, cleared, desk):
    course = course_book(patient_id=cleared.pk, starts=STARTS, actor=desk, now=NOW)
    sessions = list(course.sessions.order_by("start"))
    assert [session.start for session in sessions] == STARTS
    history = AppointmentStatusChange.objects.filter(appointment__course=course)
    assert sorted(history.values_list("appointment_id", "to_status", "by")) == [
        (session.pk, "booked", desk.pk) for session in sessions
    ]
    booked = AuditEvent.objects.filter(action="appointment.booked")
    assert sorted(booked.values_list("object_id", flat=True)) == sorted(
        str(session.pk) for session in sessions
    )
    assert set(booked.values_list("patient_id", "actor")) == {(cleared.pk, desk.pk)}
    (course_event,) = AuditEvent.objects.filter(action="course.booked")
    assert course_event.detail == {
        "sessions": 4,
        "appointments": [session.pk for session in sessions],
    }
    for session in sessions:
        kinds = set(session.reminders.values_list("kind", flat=True))
        assert {ReminderKind.CONFIRMATION, ReminderKind.INFUSION_2H} <= kinds
    confirmations = Reminder.objects.filter(kind=ReminderKind.CONFIRMATION)
    assert confirmations.count() == 4 and len(set(confirmations.values_list("batch"))) == 1


def test_an_overlap_the_checks_missed_refuses_its_session_through_the_constraint(
    clinic, cleared, desk, other_patient, monkeypatch
):
    """The last line: the third Tuesday's room was booked by a write that took no locks and the
    window read missed it; the INSERT meets the exclusion constraint, and the refusal names the
    third session."""
    AppointmentFactory(
        patient=other_patient,
        appointment_type=clinic.infusion,
        room=clinic.room,
        clinician=clinic.clinician,
        start=at(TUESDAYS[2], 11),
    )
    read = batch_booking.load_booking_facts

    def blind(query):
        facts, _ = read(query)
        return facts, Window(booked=[], held=[], treatments=[], online_upcoming=0)

    monkeypatch.setattr(batch_booking, "load_booking_facts", blind)
    with pytest.raises(CourseConflict) as conflict:
        course_book(patient_id=cleared.pk, starts=STARTS, actor=desk, now=NOW)
    assert conflict.value.index == 2
    assert conflict.value.reason == "room_taken"
    assert conflict.value.message.startswith(
        "Session 3 on Tue, Jan 19, 2027 at 10:00 a.m.: Infusion Suite 1"
    )
    assert Appointment.objects.filter(patient=cleared).count() == 0
    assert not InfusionCourse.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["appointment.booked", "course.booked"])
