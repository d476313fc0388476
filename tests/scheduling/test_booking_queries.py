"""How many queries a booking costs (issue 18): a front-desk booking, an online booking and a whole
course, counted exactly so that a query that creeps back in fails here. A course costs the same
for 4 sessions as for 8: it is booked as one batch (scheduling.batch_booking).

Counted as the bench counts them (bench/items/booking.py): the booking's BEGIN and COMMIT are
two of them (inside a test, where the booking's transaction is a savepoint of the test's own,
SAVEPOINT and RELEASE stand for them). A front-desk consultation, in order: BEGIN; the type,
whose read also sets the lock timeout; the rooms, the clinicians and the patient locked (the
patient with their screening status); the type's clearance policy FOR SHARE; the calendar,
working hours and what is taken in the window, in one query; one INSERT each for the
appointment, its status history, its reminder rows and its audit event; COMMIT. Online adds the
advisory lock on the key, the patient match (with the replay and hard-stop checks) and the
release of the hold. An infusion adds the clearance (two queries).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from propel.roles import roles_of
from scheduling.booking import appointment_book
from scheduling.courses.services import course_book
from scheduling.models import Appointment, Reminder
from scheduling.online.booking import online_consultation_book, online_slot_hold
from scheduling.online.rules import PatientDetails
from tests.clinic_time import LA, TUESDAY, at
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    clear_patient,
    consult_clinic,
    infusion_clinic,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday morning
NEXT_TUESDAY = TUESDAY + dt.timedelta(weeks=1)
FRONT_DESK = 12
ONLINE = 15
INFUSION = 14
# The course's checks before its transaction (the patient and the type: 2), BEGIN, SET LOCAL,
# the course row, the batch's locks and reads as for one infusion, the clearance read there, once,
# under the locks (7), the appointments' INSERT in a savepoint (it names the session an overlap
# refusal is about: 3), one INSERT each for the history, reminders and audit events, COMMIT.
COURSE = 19


@pytest.fixture(autouse=True)
def clinic_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk():
    desk = UserFactory(front_desk=True)
    roles_of(desk)  # read once per request: a view's access check has done it before it books
    return desk


def texting_patient(**fields):
    """A patient reminded by email and text: the most reminder rows a booking plans."""
    return PatientFactory(consent_email=True, consent_sms=True, consent_sms_at=NOW, **fields)


def test_a_front_desk_consultation_runs_twelve_queries(desk, django_assert_num_queries):
    clinic = consult_clinic()
    RoomFactory(name="Consult B")
    ClinicianFactory()
    patient = texting_patient()
    with django_assert_num_queries(FRONT_DESK):
        appointment = appointment_book(
            patient_id=patient.pk,
            appointment_type_id=clinic.consultation.pk,
            start=at(NEXT_TUESDAY, 10),
            actor=desk,
        )
    # Every row one INSERT: confirmation, 72-hour paperwork, 24-hour reminder and intake nudge,
    # by email and text.
    assert Reminder.objects.filter(appointment=appointment).count() == 8


def test_an_online_consultation_runs_fifteen_queries(django_assert_num_queries):
    consult_clinic()
    RoomFactory(name="Consult B")
    patient = texting_patient(email="robin@example.test", last_name="Example")
    details = PatientDetails(
        first_name=patient.first_name,
        last_name="Example",
        date_of_birth=patient.date_of_birth,
        email="Robin@Example.test",
        mobile=str(patient.mobile),
        consent_email=True,
        consent_sms=True,
    )
    hold = online_slot_hold(start=at(TUESDAY, 15))
    with django_assert_num_queries(ONLINE):
        booked = online_consultation_book(details=details, start=at(TUESDAY, 15), hold_key=hold.key)
    assert booked.patient == patient and not booked.replay
    assert (booked.appointment.room_id, booked.appointment.clinician_id) == (
        hold.room_id,
        hold.clinician_id,
    )


def test_an_infusion_runs_fourteen_queries(desk, django_assert_num_queries):
    clinic = infusion_clinic()
    patient = texting_patient()
    clear_patient(patient)
    with django_assert_num_queries(INFUSION):
        appointment_book(
            patient_id=patient.pk,
            appointment_type_id=clinic.infusion.pk,
            start=at(TUESDAY, 10),
            actor=desk,
        )


def twice_a_week(sessions: int) -> list[dt.datetime]:
    """Tuesdays and Thursdays at 10:00 from 5 January 2027."""
    days = [
        dt.date(2027, 1, 5) + dt.timedelta(weeks=week, days=offset)
        for week in range(sessions)
        for offset in (0, 2)
    ]
    return [at(day, 10) for day in days[:sessions]]


@pytest.mark.parametrize("sessions", [4, 8])
def test_a_course_costs_the_same_queries_for_four_or_eight_sessions(
    sessions, desk, django_assert_num_queries
):
    infusion_clinic()
    RoomFactory(infusion=True)
    ClinicianFactory()
    patient = texting_patient()
    clear_patient(patient)
    with django_assert_num_queries(COURSE):
        course = course_book(
            patient_id=patient.pk, starts=twice_a_week(sessions), actor=desk, weeks=4, now=NOW
        )
    assert Appointment.objects.filter(course=course).count() == sessions
