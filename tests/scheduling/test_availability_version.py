"""The availability version (migration 0009, scheduling.slots.availability_version): every
committed insert, update or delete of a row that availability is computed from moves it on, once
per transaction; nothing else does, and a rolled-back transaction leaves it as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from intake.models import Patient
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
    SlotHold,
    WorkingHours,
)
from scheduling.slots import availability_version
from tests.app_role import as_owner
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ClosureFactory,
    ExtraOpeningFactory,
    OpeningHoursFactory,
    PatientFactory,
    RoomFactory,
    SlotHoldFactory,
)

# Committed transactions: the version moves at commit, so the test cannot run inside one.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def moves(change: Callable[[], object]) -> int:
    """By how much one committed transaction running `change` moves the version."""
    before = availability_version()
    with transaction.atomic():
        change()
    return availability_version() - before


def _clinician_hours() -> None:
    WorkingHours.objects.filter(weekday=0).update(ends=dt.time(17))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda: AppointmentFactory(start=at(TUESDAY, 10)), id="appointment booked"),
        pytest.param(
            lambda: Appointment.objects.update(status=AppointmentStatus.CANCELLED),
            id="appointment cancelled",
        ),
        pytest.param(
            lambda: Appointment.objects.update(start=at(TUESDAY, 11), end=at(TUESDAY, 12)),
            id="appointment moved",
        ),
        pytest.param(lambda: Appointment.objects.all().delete(), id="appointment deleted"),
        pytest.param(lambda: SlotHoldFactory(), id="hold made"),
        pytest.param(lambda: SlotHold.objects.all().delete(), id="hold released"),
        pytest.param(lambda: ClosureFactory(start_date=TUESDAY), id="closure added"),
        pytest.param(lambda: Closure.objects.all().delete(), id="closure removed"),
        pytest.param(lambda: OpeningHoursFactory(weekday=5), id="opening hours added"),
        pytest.param(
            lambda: OpeningHours.objects.update(closes=dt.time(17)), id="opening hours changed"
        ),
        pytest.param(lambda: ExtraOpeningFactory(), id="extra opening added"),
        pytest.param(lambda: ExtraOpening.objects.all().delete(), id="extra opening removed"),
        pytest.param(lambda: Room.objects.update(active=False), id="room out of use"),
        pytest.param(lambda: RoomFactory(), id="room added"),
        pytest.param(lambda: ClinicianFactory(), id="clinician added"),
        pytest.param(_clinician_hours, id="working hours changed"),
        pytest.param(
            lambda: AppointmentType.objects.update(duration_minutes=90), id="type changed"
        ),
    ],
)
def test_a_committed_change_moves_the_version_once(change):
    AppointmentTypeFactory()
    OpeningHoursFactory(weekday=1)
    ClosureFactory()
    ExtraOpeningFactory()
    SlotHoldFactory()
    AppointmentFactory(start=at(TUESDAY, 15))
    assert moves(change) == 1


def test_many_changes_in_one_transaction_move_it_once():
    def course() -> None:
        patient = PatientFactory()
        for week in range(4):
            AppointmentFactory(patient=patient, start=at(TUESDAY + dt.timedelta(weeks=week), 10))
        ClosureFactory(start_date=dt.date(2027, 2, 1))

    assert moves(course) == 1


def test_a_rolled_back_transaction_leaves_it_alone():
    before = availability_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        AppointmentFactory(start=at(TUESDAY, 10))
        raise RuntimeError("changed my mind")
    assert availability_version() == before


def test_changes_to_anything_else_leave_it_alone():
    AppointmentFactory(start=at(TUESDAY, 10))
    assert moves(lambda: PatientFactory()) == 0
    assert moves(lambda: Patient.objects.update(first_name="Renamed")) == 0


def test_a_truncate_moves_it():
    AppointmentFactory(start=at(TUESDAY, 10))
    before = availability_version()
    # The app role may not TRUNCATE (tests/app_role.py); the owner may.
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE scheduling_slothold")
    assert availability_version() == before + 1
