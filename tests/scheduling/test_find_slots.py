"""find_slots through the database: the same slots as the pure engine sees, in a fixed number of
queries whatever the number of appointments or days."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling.models import AppointmentStatus, WorkingHours
from scheduling.slots import find_slots
from tests.clinic_time import LA, MONDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ClosureFactory,
    ExtraOpeningFactory,
    PatientFactory,
    RoomFactory,
    open_weekdays,
)

pytestmark = pytest.mark.django_db

FIND_SLOTS_QUERIES = 7


@pytest.fixture
def clinic():
    open_weekdays()
    return {
        "type": AppointmentTypeFactory(),
        "rooms": [RoomFactory(name="Consult A"), RoomFactory(name="Consult B")],
        "infusion_room": RoomFactory(infusion=True),
        "clinicians": [ClinicianFactory(), ClinicianFactory()],
    }


def starts(slots) -> list[str]:
    return [slot.start.astimezone(LA).strftime("%a %H:%M") for slot in slots]


def monday_hourly(clinic, **kwargs) -> list[str]:
    """Monday's free starts of the clinic's type, on the hour, without extra openings."""
    return starts(
        find_slots(
            appointment_type=clinic["type"],
            start_date=MONDAY,
            end_date=MONDAY,
            include_extra_openings=False,
            step=dt.timedelta(hours=1),
            **kwargs,
        )
    )


def test_slots_use_only_rooms_of_the_types_kind(clinic):
    slots = find_slots(
        appointment_type=clinic["type"],
        start_date=MONDAY,
        end_date=MONDAY,
        include_extra_openings=False,
    )
    room_ids = {room_id for slot in slots for room_id in slot.room_ids}
    assert room_ids == {room.pk for room in clinic["rooms"]}


def test_a_time_disappears_only_when_every_room_or_clinician_is_busy(clinic):
    for room, clinician in zip(clinic["rooms"], clinic["clinicians"], strict=True):
        AppointmentFactory(
            appointment_type=clinic["type"], room=room, clinician=clinician, start=at(MONDAY, 9)
        )
    AppointmentFactory(
        appointment_type=clinic["type"],
        room=clinic["rooms"][0],
        clinician=clinic["clinicians"][0],
        start=at(MONDAY, 11),
    )
    AppointmentFactory(
        appointment_type=clinic["type"],
        room=clinic["rooms"][1],
        clinician=clinic["clinicians"][1],
        start=at(MONDAY, 13),
        status=AppointmentStatus.CANCELLED,
    )
    found = monday_hourly(clinic)
    assert "Mon 09:00" not in found
    assert {"Mon 10:00", "Mon 11:00", "Mon 13:00"} <= set(found)


def test_the_patients_own_appointments_are_excluded(clinic, patient):
    AppointmentFactory(appointment_type=clinic["type"], patient=patient, start=at(MONDAY, 10))
    found = monday_hourly(clinic, patient_id=patient.pk)
    assert "Mon 10:00" not in found
    assert "Mon 11:00" in found


def test_closures_and_staff_only_openings_come_from_the_database(clinic):
    ClosureFactory(start_date=MONDAY, reason="Training day")
    saturday = MONDAY + dt.timedelta(days=5)
    ExtraOpeningFactory(date=saturday, opens=dt.time(9), closes=dt.time(11))
    kwargs = {"appointment_type": clinic["type"], "start_date": MONDAY, "end_date": saturday}
    patient_view = starts(find_slots(include_extra_openings=False, **kwargs))
    staff_view = starts(find_slots(include_extra_openings=True, **kwargs))
    assert not any(start.startswith("Mon") for start in staff_view)
    assert not any(start.startswith("Sat") for start in patient_view)
    assert [s for s in staff_view if s.startswith("Sat")] == [
        "Sat 09:00",
        "Sat 09:15",
        "Sat 09:30",
        "Sat 09:45",
        "Sat 10:00",
    ]


def test_extra_opening_on_a_dst_sunday_gives_nine_oclock_local(clinic):
    sunday = dt.date(2027, 3, 14)
    ExtraOpeningFactory(date=sunday, opens=dt.time(9), closes=dt.time(12))
    WorkingHours.objects.create(
        clinician=clinic["clinicians"][0], weekday=6, starts=dt.time(9), ends=dt.time(12)
    )
    slots = find_slots(
        appointment_type=clinic["type"],
        start_date=sunday,
        end_date=sunday,
        include_extra_openings=True,
    )
    assert slots[0].start == dt.datetime(2027, 3, 14, 16, 0, tzinfo=dt.UTC)  # 9:00 PDT
    assert slots[0].start.astimezone(LA).hour == 9


@pytest.mark.parametrize("appointments", [10, 300])
def test_query_count_is_fixed_whatever_the_number_of_appointments(
    clinic, appointments, django_assert_num_queries
):
    patients = PatientFactory.create_batch(3)
    for index in range(appointments):
        day = MONDAY + dt.timedelta(days=7 * (index // 20) + (index % 5))
        AppointmentFactory(
            appointment_type=clinic["type"],
            patient=patients[index % 3],
            room=clinic["rooms"][index % 2],
            clinician=clinic["clinicians"][index % 2],
            start=at(day, 9 + (index % 20) // 5 * 2),
        )
    with django_assert_num_queries(FIND_SLOTS_QUERIES):
        find_slots(
            appointment_type=clinic["type"],
            start_date=MONDAY,
            end_date=MONDAY + dt.timedelta(weeks=8),
            include_extra_openings=True,
            patient_id=patients[0].pk,
        )
