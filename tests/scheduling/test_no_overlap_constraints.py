"""The database itself refuses overlapping active appointments (PostgreSQL exclusion constraints),
whatever code writes them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import IntegrityError, connection, transaction

from scheduling.models import ACTIVE_STATUSES, AppointmentStatus
from tests.factories import AppointmentFactory, ClinicianFactory, PatientFactory, RoomFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NINE = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql", "the scheduling guarantees need PostgreSQL"


@pytest.mark.parametrize("shared", ["room", "clinician", "patient"])
def test_overlap_on_a_shared_resource_is_refused_by_the_database(shared):
    first = AppointmentFactory(start=NINE)
    others = {
        "room": RoomFactory(),
        "clinician": ClinicianFactory(),
        "patient": PatientFactory(),
    }
    others[shared] = getattr(first, shared)
    with pytest.raises(IntegrityError, match=f"appointment_{shared}_no_overlap"):
        with transaction.atomic():
            AppointmentFactory(start=NINE + dt.timedelta(minutes=30), **others)


def test_back_to_back_is_allowed_by_the_database():
    first = AppointmentFactory(start=NINE)
    AppointmentFactory(
        start=NINE + HOUR, room=first.room, clinician=first.clinician, patient=first.patient
    )


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
def test_cancelled_and_no_show_appointments_do_not_hold_their_resources(status):
    first = AppointmentFactory(start=NINE, status=status)
    AppointmentFactory(
        start=NINE, room=first.room, clinician=first.clinician, patient=first.patient
    )


def test_reactivating_a_cancelled_appointment_into_a_taken_slot_is_refused():
    first = AppointmentFactory(start=NINE, status=AppointmentStatus.CANCELLED)
    AppointmentFactory(start=NINE, room=first.room)
    with pytest.raises(IntegrityError), transaction.atomic():
        type(first).objects.filter(pk=first.pk).update(status=AppointmentStatus.BOOKED)


def test_the_constraints_use_exactly_the_active_statuses_of_the_model():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname LIKE 'appointment_%%_no_overlap'"
        )
        definitions = dict(cursor.fetchall())
    assert set(definitions) == {
        "appointment_room_no_overlap",
        "appointment_clinician_no_overlap",
        "appointment_patient_no_overlap",
    }
    for definition in definitions.values():
        assert "'[)'" in definition  # half-open ranges
        assert set(re.findall(r"'(\w+)'::character varying", definition)) == {
            str(status) for status in ACTIVE_STATUSES
        }


def test_end_must_follow_start():
    with pytest.raises(IntegrityError, match="appointment_start_before_end"):
        with transaction.atomic():
            AppointmentFactory(start=NINE, end=NINE)
