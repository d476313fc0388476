"""Treatment visits keep the course spacing whether or not they belong to a course: at least 48
hours between starts and at most two in a Monday-Sunday week, for booking, moving and planning."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from scheduling.booking import appointment_book, appointment_move
from scheduling.courses.services import course_propose
from scheduling.errors import SchedulingError
from scheduling.models import RoomKind
from tests.clinic_time import LA, at
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    infusion_type,
    open_weekdays,
)

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2027, 1, 11)
NOW = at(dt.date(2027, 1, 4), 8)


@pytest.fixture
def clinic():
    open_weekdays()
    RoomFactory.create_batch(2, kind=RoomKind.INFUSION)
    ClinicianFactory.create_batch(2)
    patient = PatientFactory(cleared=True)
    with time_machine.travel(NOW, tick=False):
        yield {"patient": patient, "infusion": infusion_type()}


def book(clinic, start):
    return appointment_book(
        patient_id=clinic["patient"].pk, appointment_type_id=clinic["infusion"].pk, start=start
    )


def test_a_second_infusion_within_48_hours_is_refused_naming_the_first(clinic):
    book(clinic, at(MONDAY, 13))
    with pytest.raises(SchedulingError) as refused:
        book(clinic, at(MONDAY + dt.timedelta(days=2), 9))  # 44 hours later
    assert refused.value.code == "infusion_too_close"
    assert "Mon, Jan 11, 2027, 1:00 p.m." in refused.value.message


def test_exactly_48_hours_later_is_allowed(clinic):
    book(clinic, at(MONDAY, 10))
    assert book(clinic, at(MONDAY + dt.timedelta(days=2), 10)).pk


def test_a_third_infusion_in_one_week_is_refused(clinic):
    book(clinic, at(MONDAY, 9))
    book(clinic, at(MONDAY + dt.timedelta(days=2), 9))
    with pytest.raises(SchedulingError) as refused:
        book(clinic, at(MONDAY + dt.timedelta(days=4), 9))
    assert refused.value.code == "infusion_week_full"


def test_moving_an_infusion_next_to_another_is_refused(clinic):
    book(clinic, at(MONDAY, 9))
    later = book(clinic, at(MONDAY + dt.timedelta(days=3), 9))
    with pytest.raises(SchedulingError) as refused:
        appointment_move(
            appointment_id=later.pk,
            new_start=at(MONDAY + dt.timedelta(days=1), 9),
            actor=UserFactory(front_desk=True),
        )
    assert refused.value.code == "infusion_too_close"


def test_planning_a_course_keeps_clear_of_an_infusion_already_booked(clinic):
    existing = book(clinic, at(MONDAY, 13))
    starts = course_propose(
        patient_id=clinic["patient"].pk,
        sessions=4,
        weeks=4,
        start_date=MONDAY,
        weekdays={0, 2, 4},
        window=(dt.time(9), dt.time(15)),
    )
    assert all(abs(start - existing.start) >= dt.timedelta(hours=48) for start in starts)
    assert starts[0].astimezone(LA).date() > MONDAY
