"""Sixteen clients try to book the same slot at the same moment, on real PostgreSQL connections.

The control test shows the race is real: a naive check-then-insert with the database constraints
removed books the slot many times. Each guard alone (row locks with a re-check, or the exclusion
constraint) lets exactly one through, and so does the booking service, which has both.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, OperationalError, connection

from propel.db import PostgresOnlySQL
from scheduling.booking import appointment_book
from scheduling.errors import SchedulingError
from scheduling.models import Appointment
from tests.app_role import as_owner
from tests.clinic_time import LA
from tests.factories import (
    AppointmentTypeFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    open_weekdays,
)
from tests.threads import all_at_once as released_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 16
# Generous: on a loaded 2-core machine sixteen connections take a while to all arrive.
BARRIER_TIMEOUT = 60
NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)
SLOT = dt.datetime(2027, 1, 5, 10, 0, tzinfo=LA)


def overlap_constraints() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conname LIKE 'appointment_%%_no_overlap'"
        )
        return {name for (name,) in cursor.fetchall()}


@pytest.fixture
def contested():
    assert len(overlap_constraints()) == 3, "an earlier test left the constraints dropped"
    open_weekdays()
    return {
        "type": AppointmentTypeFactory(),
        "room": RoomFactory(),
        "clinician": ClinicianFactory(),
        "patients": PatientFactory.create_batch(THREADS),
    }


def all_at_once(attempt: Callable[[int], object]) -> list[object]:
    """Run attempt(0..THREADS-1) in THREADS threads released together; return results or errors."""
    results, finished = released_together(
        THREADS, attempt, wait=BARRIER_TIMEOUT, join=2 * BARRIER_TIMEOUT
    )
    assert finished, "a booking thread hung"
    return results


@contextmanager
def without_overlap_constraints() -> Iterator[None]:
    migration = importlib.import_module("scheduling.migrations.0002_no_overlap_constraints")
    operations = [op for op in migration.Migration.operations if isinstance(op, PostgresOnlySQL)]
    # Schema changes: the owner's, not the app role's (tests/app_role.py).
    with as_owner(), connection.cursor() as cursor:
        for operation in operations:
            cursor.execute(operation.reverse_sql)
    assert overlap_constraints() == set()
    try:
        yield
    finally:
        Appointment.objects.all().delete()  # the constraints cannot return over overlapping rows
        with as_owner(), connection.cursor() as cursor:
            for operation in operations:
                cursor.execute(operation.sql)
        assert len(overlap_constraints()) == 3


def naive_booking(contested, *, everyone_checked: threading.Barrier | None):
    """Check, then insert, with no lock: the race the guards exist for."""

    def attempt(index: int) -> Appointment:
        end = SLOT + contested["type"].duration
        taken = Appointment.objects.active().overlapping(SLOT, end).filter(room=contested["room"])
        if taken.exists():
            raise SchedulingError("room_taken", room=contested["room"].name)
        if everyone_checked is not None:
            everyone_checked.wait(timeout=BARRIER_TIMEOUT)
        return Appointment.objects.create(
            patient=contested["patients"][index],
            appointment_type=contested["type"],
            room=contested["room"],
            clinician=contested["clinician"],
            start=SLOT,
            end=end,
        )

    return attempt


def service_booking(contested):
    def attempt(index: int) -> Appointment:
        return appointment_book(
            patient_id=contested["patients"][index].pk,
            appointment_type_id=contested["type"].pk,
            start=SLOT,
            room_id=contested["room"].pk,
            clinician_id=contested["clinician"].pk,
            now=NOW,
        )

    return attempt


def successes(results: list[object]) -> list[Appointment]:
    return [result for result in results if isinstance(result, Appointment)]


def test_control_without_any_guard_the_race_double_books(contested):
    with without_overlap_constraints():
        results = all_at_once(naive_booking(contested, everyone_checked=threading.Barrier(THREADS)))
        assert len(successes(results)) == THREADS
        assert Appointment.objects.filter(room=contested["room"], start=SLOT).count() == THREADS


def test_sixteen_clients_on_one_slot_exactly_one_books(contested):
    results = all_at_once(service_booking(contested))
    assert len(successes(results)) == 1, results
    refusals = [result for result in results if isinstance(result, SchedulingError)]
    assert len(refusals) == THREADS - 1, results
    assert {refusal.code for refusal in refusals} <= {"room_taken", "busy"}
    assert Appointment.objects.active().count() == 1


def test_row_locks_with_a_recheck_alone_stop_the_race(contested):
    with without_overlap_constraints():
        results = all_at_once(service_booking(contested))
        assert len(successes(results)) == 1, results
        assert Appointment.objects.active().count() == 1


def test_the_exclusion_constraint_alone_stops_the_race(contested):
    results = all_at_once(naive_booking(contested, everyone_checked=threading.Barrier(THREADS)))
    assert len(successes(results)) == 1, results
    # Each loser is refused by the database: a violation of the room's exclusion constraint, or,
    # when two inserts wait on each other's constraint check, PostgreSQL's deadlock detector
    # ending one of them "while checking exclusion constraint" (a documented outcome of
    # concurrent exclusion checks). Either way nothing overlapping is written.
    violations = [result for result in results if isinstance(result, IntegrityError)]
    deadlocks = [result for result in results if is_exclusion_deadlock(result)]
    assert len(violations) + len(deadlocks) == THREADS - 1, results
    assert all("appointment_room_no_overlap" in str(error) for error in violations)
    assert Appointment.objects.active().count() == 1


def is_exclusion_deadlock(result: object) -> bool:
    cause = getattr(result, "__cause__", None)
    return (
        isinstance(result, OperationalError)
        and getattr(cause, "sqlstate", None) == "40P01"
        and "exclusion constraint" in str(result)
    )


def test_a_patient_racing_for_two_rooms_at_once_gets_one(contested):
    second_room = RoomFactory()
    second_clinician = ClinicianFactory()
    patient = contested["patients"][0]
    choices = [(contested["room"], contested["clinician"]), (second_room, second_clinician)]

    def attempt(index: int) -> Appointment:
        room, clinician = choices[index % 2]
        return appointment_book(
            patient_id=patient.pk,
            appointment_type_id=contested["type"].pk,
            start=SLOT,
            room_id=room.pk,
            clinician_id=clinician.pk,
            now=NOW,
        )

    results = all_at_once(attempt)
    assert len(successes(results)) == 1, results
    assert Appointment.objects.filter(patient=patient).count() == 1
