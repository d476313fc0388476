"""The staff pages render real data in clinic time, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scheduling.models import AppointmentStatus
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ExtraOpeningFactory,
    PatientFactory,
    RoomFactory,
    open_weekdays,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]


def fill_day(count: int) -> None:
    consultation = AppointmentTypeFactory()
    rooms = RoomFactory.create_batch(4)
    clinicians = ClinicianFactory.create_batch(4)
    for index in range(count):
        AppointmentFactory(
            appointment_type=consultation,
            patient=PatientFactory(),
            room=rooms[index % 4],
            clinician=clinicians[index % 4],
            start=at(TUESDAY, 9 + index // 4),
        )


def queries_for(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_today_lists_the_days_appointments_in_clinic_time(client_for, front_desk):
    patient = PatientFactory(first_name="Robin", last_name="Sample")
    AppointmentFactory(patient=patient, start=at(TUESDAY, 9, 30))
    AppointmentFactory(start=at(TUESDAY + dt.timedelta(days=1), 9))  # tomorrow: not listed
    response = client_for(front_desk).get(reverse("scheduling:today"))
    body = response.content.decode()
    assert "Robin Sample" in body
    assert "9:30 a.m." in body
    assert len(response.context["appointments"]) == 1


def test_today_shows_cancelled_appointments_with_their_status(client_for, front_desk):
    AppointmentFactory(start=at(TUESDAY, 10), status=AppointmentStatus.CANCELLED)
    body = client_for(front_desk).get(reverse("scheduling:today")).content.decode()
    assert "Cancelled" in body


def test_today_runs_the_same_number_of_queries_for_4_or_40_appointments(client_for, front_desk):
    client = client_for(front_desk)
    fill_day(4)
    few = queries_for(client, reverse("scheduling:today"))
    fill_day(40)
    many = queries_for(client, reverse("scheduling:today"))
    assert few == many


def test_availability_page_shows_free_times_and_rooms(client_for, front_desk):
    open_weekdays()
    consultation = AppointmentTypeFactory()
    RoomFactory(name="Consult A")
    ClinicianFactory(display_name="Dr Example")
    response = client_for(front_desk).get(
        reverse("scheduling:availability"),
        {"appointment_type": consultation.pk, "start_date": "2027-01-05", "days": 1},
    )
    body = response.content.decode()
    assert "9:00 a.m." in body
    assert "6:00 p.m." in body
    assert "Consult A" in body and "Dr Example" in body


def test_availability_includes_open_saturdays_for_staff(client_for, front_desk):
    open_weekdays()
    consultation = AppointmentTypeFactory()
    RoomFactory()
    ClinicianFactory()
    ExtraOpeningFactory(date=dt.date(2027, 1, 9))
    response = client_for(front_desk).get(
        reverse("scheduling:availability"),
        {"appointment_type": consultation.pk, "start_date": "2027-01-09", "days": 1},
    )
    assert [day for day, _ in response.context["days"]] == [dt.date(2027, 1, 9)]


def test_availability_queries_do_not_grow_with_appointments(client_for, front_desk):
    open_weekdays()
    client = client_for(front_desk)
    fill_day(4)
    params = {
        "appointment_type": AppointmentTypeFactory().pk,
        "start_date": "2027-01-05",
        "days": 14,
    }
    few = queries_for(client, reverse("scheduling:availability"), **params)
    fill_day(40)
    many = queries_for(client, reverse("scheduling:availability"), **params)
    assert few == many


@pytest.mark.parametrize(
    "params",
    [
        {"appointment_type": "999", "start_date": "2027-01-05", "days": "7"},
        {"appointment_type": "x", "start_date": "not a date", "days": "-3"},
        {"start_date": "2026-01-01", "days": "7"},
        {"days": "10000"},
    ],
)
def test_bad_availability_input_reshows_the_form_with_errors(client_for, front_desk, params):
    response = client_for(front_desk).get(reverse("scheduling:availability"), params)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["days"] == []
