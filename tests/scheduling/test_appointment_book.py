"""appointment_book: the rules a booking must pass, and the clear error for each refusal."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from propel.models import AuditEvent
from scheduling.booking import appointment_book
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    BookedVia,
    RoomKind,
)
from tests.clinic_time import LA, TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ClosureFactory,
    ExtraOpeningFactory,
    RoomFactory,
    UserFactory,
    open_weekdays,
)

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday morning

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clinic():
    open_weekdays()
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def consultation():
    return AppointmentTypeFactory()


@pytest.fixture
def room():
    return RoomFactory(name="Consult A")


@pytest.fixture
def doctor():
    return ClinicianFactory(display_name="Dr Example")


def book(patient, appointment_type, start, **kwargs):
    return appointment_book(
        patient_id=patient.pk, appointment_type_id=appointment_type.pk, start=start, **kwargs
    )


def test_booking_writes_the_appointment_its_history_and_an_audit_event(
    patient, consultation, room, doctor
):
    actor = UserFactory(front_desk=True)
    appointment = book(patient, consultation, at(TUESDAY, 10), actor=actor)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.end - appointment.start == dt.timedelta(minutes=60)
    assert (appointment.room, appointment.clinician) == (room, doctor)
    history = AppointmentStatusChange.objects.get(appointment=appointment)
    assert (history.from_status, history.to_status, history.by) == ("", "booked", actor)
    event = AuditEvent.objects.get(action="appointment.booked")
    assert (event.patient_id, event.actor, event.object_id) == (
        patient.pk,
        actor,
        str(appointment.pk),
    )


def test_start_is_stored_in_utc_and_means_local_clinic_time(patient, consultation, room, doctor):
    appointment = book(patient, consultation, at(TUESDAY, 9))
    stored = Appointment.objects.values_list("start", flat=True).get(pk=appointment.pk)
    assert stored == dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)


def test_back_to_back_in_the_same_room_with_the_same_clinician_is_allowed(
    patient, other_patient, consultation, room, doctor
):
    book(patient, consultation, at(TUESDAY, 10), room_id=room.pk, clinician_id=doctor.pk)
    second = book(
        other_patient, consultation, at(TUESDAY, 11), room_id=room.pk, clinician_id=doctor.pk
    )
    assert second.start == at(TUESDAY, 11)


def test_same_room_at_an_overlapping_time_is_refused_naming_the_room(
    patient, other_patient, consultation, room
):
    ClinicianFactory.create_batch(2)
    book(patient, consultation, at(TUESDAY, 10), room_id=room.pk)
    with pytest.raises(SchedulingError) as refused:
        book(other_patient, consultation, at(TUESDAY, 10, 30), room_id=room.pk)
    assert refused.value.code == "room_taken"
    assert "Consult A" in refused.value.message


def test_same_clinician_at_an_overlapping_time_is_refused_naming_the_clinician(
    patient, other_patient, consultation, doctor
):
    RoomFactory.create_batch(2)
    book(patient, consultation, at(TUESDAY, 10), clinician_id=doctor.pk)
    with pytest.raises(SchedulingError) as refused:
        book(other_patient, consultation, at(TUESDAY, 10, 45), clinician_id=doctor.pk)
    assert refused.value.code == "clinician_taken"
    assert "Dr Example" in refused.value.message


def test_a_patient_cannot_be_in_two_appointments_at_once(patient, consultation, room, doctor):
    RoomFactory()
    ClinicianFactory()
    book(patient, consultation, at(TUESDAY, 10))
    with pytest.raises(SchedulingError) as refused:
        book(patient, consultation, at(TUESDAY, 10, 15))
    assert refused.value.code == "patient_taken"


def test_without_a_room_given_the_first_free_room_is_chosen(
    patient, other_patient, consultation, room, doctor
):
    second_room = RoomFactory(name="Consult B")
    ClinicianFactory()
    book(patient, consultation, at(TUESDAY, 10))
    second = book(other_patient, consultation, at(TUESDAY, 10))
    assert second.room == second_room


def test_when_every_room_is_taken_the_patient_is_told_to_choose_another_time(
    patient, other_patient, consultation, room
):
    ClinicianFactory.create_batch(2)
    book(patient, consultation, at(TUESDAY, 10))
    with pytest.raises(SchedulingError) as refused:
        book(other_patient, consultation, at(TUESDAY, 10))
    assert refused.value.code == "no_resource"


def test_a_cancelled_appointment_frees_its_time(patient, other_patient, consultation, room, doctor):
    AppointmentFactory(
        patient=patient,
        appointment_type=consultation,
        room=room,
        clinician=doctor,
        start=at(TUESDAY, 10),
        status=AppointmentStatus.CANCELLED,
    )
    assert book(other_patient, consultation, at(TUESDAY, 10)).room == room


def test_outside_opening_hours_is_refused(patient, consultation, room, doctor):
    with pytest.raises(SchedulingError) as early:
        book(patient, consultation, at(TUESDAY, 8, 30))
    with pytest.raises(SchedulingError) as late:
        book(patient, consultation, at(TUESDAY, 18, 30))  # would end at 19:30
    assert early.value.code == late.value.code == "outside_hours"


def test_a_closure_is_refused_with_its_reason(patient, consultation, room, doctor):
    ClosureFactory(start_date=TUESDAY, reason="Staff training day")
    with pytest.raises(SchedulingError) as refused:
        book(patient, consultation, at(TUESDAY, 10))
    assert refused.value.code == "closed"
    assert "Staff training day" in refused.value.message
    assert "Tue, Jan 5, 2027" in refused.value.message


def test_staff_may_book_an_open_saturday_but_patients_online_may_not(
    patient, other_patient, consultation, room, doctor
):
    saturday = dt.date(2027, 1, 9)
    ExtraOpeningFactory(date=saturday)
    assert book(patient, consultation, at(saturday, 9), via=BookedVia.STAFF).start == at(
        saturday, 9
    )
    with pytest.raises(SchedulingError) as refused:
        book(other_patient, consultation, at(saturday, 11), via=BookedVia.ONLINE)
    assert refused.value.code == "outside_hours"


def test_clinician_outside_working_hours_is_refused(patient, consultation, room):
    doctor = ClinicianFactory(weekday_hours=False, display_name="Dr Off")
    with pytest.raises(SchedulingError) as refused:
        book(patient, consultation, at(TUESDAY, 10), clinician_id=doctor.pk)
    assert refused.value.code == "clinician_off"
    assert "Dr Off" in refused.value.message


def test_a_time_in_the_past_is_refused(patient, consultation, room, doctor):
    with pytest.raises(SchedulingError) as refused:
        book(patient, consultation, NOW - dt.timedelta(days=1))
    assert refused.value.code == "in_past"


def test_online_booking_of_a_staff_only_type_is_refused(patient, room, doctor):
    follow_up = AppointmentTypeFactory(code="follow-up", duration_minutes=30, self_bookable=False)
    with pytest.raises(SchedulingError) as refused:
        book(patient, follow_up, at(TUESDAY, 10), via=BookedVia.ONLINE)
    assert refused.value.code == "not_self_bookable"


def test_a_type_that_needs_clearance_is_refused_without_one(patient, doctor):
    RoomFactory(infusion=True)
    infusion = AppointmentTypeFactory(
        code="infusion",
        duration_minutes=120,
        room_kind=RoomKind.INFUSION,
        self_bookable=False,
        needs_clearance=True,
    )
    with pytest.raises(SchedulingError) as refused:
        book(patient, infusion, at(TUESDAY, 10))
    assert refused.value.code == "needs_clearance"
    assert not Appointment.objects.exists()


def test_a_room_of_the_wrong_kind_is_refused(patient, consultation, doctor):
    infusion_room = RoomFactory(kind=RoomKind.INFUSION, name="Infusion 1")
    with pytest.raises(SchedulingError) as refused:
        book(patient, consultation, at(TUESDAY, 10), room_id=infusion_room.pk)
    assert refused.value.code == "wrong_room_kind"


def test_an_inactive_type_or_unknown_patient_is_refused(consultation, room, doctor):
    consultation.active = False
    consultation.save()
    with pytest.raises(SchedulingError) as inactive:
        appointment_book(patient_id=1, appointment_type_id=consultation.pk, start=at(TUESDAY, 10))
    assert inactive.value.code == "type_unavailable"
    consultation.active = True
    consultation.save()
    with pytest.raises(SchedulingError) as unknown:
        appointment_book(
            patient_id=999999, appointment_type_id=consultation.pk, start=at(TUESDAY, 10)
        )
    assert unknown.value.code == "patient_not_found"


def test_a_naive_start_is_a_programming_error(patient, consultation, room, doctor):
    with pytest.raises(ValueError, match="aware"):
        book(patient, consultation, dt.datetime(2027, 1, 5, 10))


def test_a_refused_booking_leaves_nothing_behind(
    patient, other_patient, consultation, room, doctor
):
    book(patient, consultation, at(TUESDAY, 10), room_id=room.pk)
    with pytest.raises(SchedulingError):
        book(other_patient, consultation, at(TUESDAY, 10), room_id=room.pk)
    assert Appointment.objects.count() == 1
    assert AuditEvent.objects.filter(action="appointment.booked").count() == 1
