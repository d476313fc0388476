"""The staff calendar: day and week views drawn in clinic time, htmx partials, fixed queries,
and who may see them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.models import Patient
from scheduling.models import Appointment, AppointmentStatus
from tests.clinic_time import SATURDAY, TUESDAY, at
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

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]

DST_SUNDAY = dt.date(2027, 3, 14)


@pytest.fixture
def staff(client_for, front_desk) -> Client:
    return client_for(front_desk)


def day_page(client: Client, day: dt.date, **headers):
    return client.get(reverse("scheduling:calendar"), {"date": day.isoformat()}, **headers)


def blocks(response) -> dict[str, list]:
    """Room (or day) title -> the blocks drawn in its column."""
    return {column.title: column.blocks for column in response.context["columns"]}


def test_day_view_draws_opening_hours_and_a_column_per_active_room_in_kind_order(staff):
    open_weekdays()
    RoomFactory(name="Infusion 1", kind="infusion")
    RoomFactory(name="Consult B")
    RoomFactory(name="Consult A")
    RoomFactory(name="Old room", active=False)
    response = day_page(staff, TUESDAY)
    assert response.status_code == 200
    assert [c.title for c in response.context["columns"]] == [
        "Consult A",
        "Consult B",
        "Infusion 1",
    ]
    body = response.content.decode()
    assert "9:00 a.m." in body and "6:30 p.m." in body
    assert "slot-rows-40" in body
    assert 'style="' not in body.split('id="calendar"')[1]


def test_appointments_sit_in_their_room_column_and_rows_with_patient_type_status_and_badge(staff):
    open_weekdays()
    room_a, room_b = RoomFactory(name="Consult A"), RoomFactory(name="Consult B")
    patient = PatientFactory(first_name="Robin", last_name="Sample")
    AppointmentFactory(patient=patient, room=room_b, start=at(TUESDAY, 10, 30))
    response = day_page(staff, TUESDAY)
    drawn = blocks(response)
    assert drawn["Consult A"] == []
    [block] = drawn["Consult B"]
    assert block.placement.css == "slot-start-6 slot-span-4"
    body = response.content.decode()
    assert 'class="cal-appt status-booked slot-start-6 slot-span-4"' in body
    assert "Robin Sample" in body and "Consultation" in body and "Booked" in body
    assert "No screening sent yet" in body  # clearance badge
    assert "10:30 a.m." in body
    assert room_a  # an empty column is still drawn


def test_cancelled_appointments_are_drawn_with_their_status(staff):
    open_weekdays()
    AppointmentFactory(start=at(TUESDAY, 11), status=AppointmentStatus.CANCELLED)
    body = day_page(staff, TUESDAY).content.decode()
    assert "status-cancelled" in body and "Cancelled" in body


def test_a_closure_shows_its_reason_drawn_over_the_grid_with_nothing_to_book(staff):
    open_weekdays()
    RoomFactory(name="Consult A")
    ClosureFactory(start_date=TUESDAY, reason="Staff training")
    response = day_page(staff, TUESDAY)
    assert response.context["grid"].rows == 40
    [column] = response.context["columns"]
    [blocked] = column.blocked
    assert blocked.placement.css == "slot-start-0 slot-span-40"
    assert column.cells == []
    body = response.content.decode()
    assert "The clinic is closed: Staff training" in body
    assert 'class="cal-blocked cal-blocked-closure slot-start-0 slot-span-40">Closed: Staff' in body
    assert "cal-cell" not in body


def test_an_extra_opening_is_drawn_only_on_its_own_date(staff):
    open_weekdays()
    RoomFactory()
    ExtraOpeningFactory(date=SATURDAY, opens=dt.time(9), closes=dt.time(13), note="Open Saturday")
    saturday = day_page(staff, SATURDAY)
    assert saturday.context["grid"].rows == 16
    assert "Open Saturday" in saturday.content.decode()
    next_saturday = day_page(staff, SATURDAY + dt.timedelta(days=7))
    assert next_saturday.context["grid"] is None
    assert "not open on this day" in next_saturday.content.decode()


def test_labels_and_rows_are_clinic_time_on_the_day_clocks_change(staff):
    RoomFactory(name="Consult A")
    ExtraOpeningFactory(date=DST_SUNDAY, opens=dt.time(9), closes=dt.time(13))
    AppointmentFactory(start=at(DST_SUNDAY, 9), room__name="Consult B")
    response = day_page(staff, DST_SUNDAY)
    labels = response.context["grid"].labels()
    assert labels[0][0] == dt.time(9)
    [block] = blocks(response)["Consult B"]
    assert block.placement.css == "slot-start-0 slot-span-4"
    body = response.content.decode()
    assert "9:00 a.m.\u201310:00 a.m." in body


def test_previous_next_and_today_links_and_a_bad_date_is_a_form_error(staff):
    open_weekdays()
    response = day_page(staff, TUESDAY)
    assert response.context["previous"].endswith("date=2027-01-04")
    assert response.context["next"].endswith("date=2027-01-06")
    default = staff.get(reverse("scheduling:calendar"))
    assert default.context["day"] == TUESDAY
    bad = staff.get(reverse("scheduling:calendar"), {"date": "2027-13-45"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["date"]
    assert bad.context["day"] == TUESDAY


def test_an_htmx_request_gets_only_the_calendar_partial(staff):
    open_weekdays()
    RoomFactory()
    full = day_page(staff, TUESDAY)
    partial = day_page(staff, TUESDAY, HTTP_HX_REQUEST="true")
    assert "<html" in full.content.decode()
    body = partial.content.decode()
    assert "<html" not in body and "cal-grid" in body
    assert 'data-hx-target="#calendar"' in body and 'data-hx-push-url="true"' in body
    assert "HX-Request" in partial["Vary"]
    week = staff.get(reverse("scheduling:calendar_week"), HTTP_HX_REQUEST="true")
    assert "<html" not in week.content.decode()


def test_week_view_per_room_shows_that_rooms_appointments_monday_to_sunday(staff):
    open_weekdays()
    room_a, room_b = RoomFactory(name="Consult A"), RoomFactory(name="Consult B")
    wednesday = TUESDAY + dt.timedelta(days=1)
    mine = AppointmentFactory(room=room_a, start=at(wednesday, 10))
    AppointmentFactory(room=room_b, start=at(wednesday, 10))
    response = staff.get(
        reverse("scheduling:calendar_week"), {"date": "2027-01-07", "room": room_a.pk}
    )
    assert response.status_code == 200
    columns = response.context["columns"]
    assert [c.day for c in columns] == [
        dt.date(2027, 1, 4) + dt.timedelta(days=n) for n in range(7)
    ]
    assert [b.appointment for b in columns[2].blocks] == [mine]
    assert sum(len(c.blocks) for c in columns) == 1
    assert columns[5].open_spans == [] and columns[6].open_spans == []


def test_week_view_per_clinician_shows_their_appointments_in_any_room(staff):
    open_weekdays()
    doctor = ClinicianFactory(display_name="Dr Who")
    first = AppointmentFactory(clinician=doctor, start=at(TUESDAY, 9))
    second = AppointmentFactory(clinician=doctor, start=at(TUESDAY + dt.timedelta(days=2), 15))
    AppointmentFactory(start=at(TUESDAY, 11))
    response = staff.get(
        reverse("scheduling:calendar_week"), {"date": "2027-01-05", "clinician": doctor.pk}
    )
    drawn = [b.appointment for c in response.context["columns"] for b in c.blocks]
    assert drawn == [first, second]
    assert "Dr Who" in response.content.decode()


def test_week_view_refuses_a_room_and_a_clinician_together(staff):
    room, doctor = RoomFactory(), ClinicianFactory()
    response = staff.get(
        reverse("scheduling:calendar_week"), {"room": room.pk, "clinician": doctor.pk}
    )
    assert response.status_code == 400
    assert response.context["form"].errors


def fill(count: int, day: dt.date) -> None:
    """`count` half-hour follow-ups on `day`, 20 per room, each for its own patient (bulk)."""
    follow_up = AppointmentTypeFactory(
        code="follow-up", name="Follow-up", duration_minutes=30, needs_clinician=False
    )
    rooms = RoomFactory.create_batch((count + 19) // 20)
    patients = Patient.objects.bulk_create(
        Patient(
            first_name=f"Bulk{n}",
            last_name="Patient",
            date_of_birth=dt.date(1980, 1, 1),
            email=f"bulk{day}{n}@example.test",
        )
        for n in range(count)
    )
    Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            appointment_type=follow_up,
            room=rooms[n // 20],
            start=at(day, 9) + dt.timedelta(minutes=30 * (n % 20)),
            end=at(day, 9) + dt.timedelta(minutes=30 * (n % 20 + 1)),
        )
        for n, patient in enumerate(patients)
    )


def count_queries(client: Client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_day_view_runs_the_same_queries_for_10_or_1000_appointments(staff):
    open_weekdays()
    wednesday = TUESDAY + dt.timedelta(days=1)
    fill(10, TUESDAY)
    few = count_queries(staff, reverse("scheduling:calendar"), {"date": "2027-01-05"})
    fill(1000, wednesday)
    many = count_queries(staff, reverse("scheduling:calendar"), {"date": "2027-01-06"})
    assert few == many
    assert (
        len(staff.get(reverse("scheduling:calendar"), {"date": "2027-01-06"}).context["columns"])
        == 51
    )


def test_week_view_runs_the_same_queries_for_10_or_1000_appointments(staff):
    open_weekdays()
    fill(10, TUESDAY)
    room = Appointment.objects.first().room
    few = count_queries(
        staff, reverse("scheduling:calendar_week"), {"date": "2027-01-05", "room": room.pk}
    )
    fill(1000, TUESDAY + dt.timedelta(days=7))
    busy_room = Appointment.objects.order_by("-id").first().room
    many = count_queries(
        staff, reverse("scheduling:calendar_week"), {"date": "2027-01-12", "room": busy_room.pk}
    )
    assert few == many
