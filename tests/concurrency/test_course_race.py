"""Two front-desk users book overlapping courses for two patients on the clinic's only infusion
room at the same moment, on real PostgreSQL connections: exactly one course is booked, whole;
the other desk gets a CourseConflict and nothing of its course is left behind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from scheduling.courses.services import CourseConflict, course_book
from scheduling.models import Appointment, InfusionCourse
from tests.clinic_time import LA, at
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    UserFactory,
    infusion_clinic,
)
from tests.threads import all_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BARRIER_TIMEOUT = 60
NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)
TUESDAYS = [dt.date(2027, 1, 5) + dt.timedelta(weeks=n) for n in range(6)]


@pytest.fixture
def clinic():
    infusion_clinic(room_name="Infusion Suite 1")
    ClinicianFactory()  # a clinician is free for both: the room is what they contend for
    return {
        "patients": PatientFactory.create_batch(2, cleared=True),
        "desks": [
            UserFactory(username="desk-a", front_desk=True),
            UserFactory(username="desk-b", front_desk=True),
        ],
    }


def together(attempts: list[Callable[[], object]]) -> list[object]:
    results, finished = all_at_once(
        len(attempts),
        lambda index: attempts[index](),
        wait=BARRIER_TIMEOUT,
        join=2 * BARRIER_TIMEOUT,
    )
    assert finished, "a booking thread hung"
    return results


@pytest.mark.parametrize("offset", [0, 1])
def test_two_desks_booking_overlapping_courses_at_once_exactly_one_wins(clinic, offset):
    # Desk B's course starts `offset` weeks later, so it collides at its first or a later session.
    plans = [
        [at(day, 10) for day in TUESDAYS[:4]],
        [at(day, 11) for day in TUESDAYS[offset : offset + 4]],
    ]

    def attempt(index: int) -> Callable[[], object]:
        return lambda: course_book(
            patient_id=clinic["patients"][index].pk,
            starts=plans[index],
            actor=clinic["desks"][index],
            now=NOW,
        )

    results = together([attempt(0), attempt(1)])
    courses = [result for result in results if isinstance(result, InfusionCourse)]
    conflicts = [result for result in results if isinstance(result, CourseConflict)]
    assert len(courses) == 1 and len(conflicts) == 1, results
    assert InfusionCourse.objects.count() == 1
    winner = InfusionCourse.objects.get()
    assert Appointment.objects.count() == 4
    assert set(Appointment.objects.values_list("course_id", flat=True)) == {winner.pk}
    assert conflicts[0].reason in {"no_resource", "room_taken", "patient_taken"}
    assert "Infusion Suite 1 is already booked" in conflicts[0].message
