"""The course pages on the fall-back night (7 November 2027, when 1:00-1:59 happens twice): an
alternative offered for a session in a conflict names its instant, so choosing it books that
instant without asking which; and a booked session in the repeated hour shows, on its move form,
which of the two it is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from scheduling.courses.forms import SessionMoveForm, to_local_input
from scheduling.courses.forms import choice_value as _choice_value
from scheduling.courses.forms import parse_choice as _parse_choice
from scheduling.models import InfusionCourse, RoomKind, WorkingHours
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    OpeningHoursFactory,
    PatientFactory,
    RoomFactory,
    infusion_type,
)

pytestmark = pytest.mark.django_db

FALL = dt.date(2027, 11, 7)  # a Sunday
SUNDAY = 6


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


FIRST_0130 = utc(FALL, 8, 30)  # 1:30 a.m. PDT
SECOND_0130 = utc(FALL, 9, 30)  # 1:30 a.m. PST
LATER = [utc(FALL, 18) + dt.timedelta(weeks=week) for week in (1, 2, 3)]  # Sundays, 10 AM


@pytest.fixture(autouse=True)
def before_the_fall():
    yield from stopped_clock(at(dt.date(2027, 10, 1), 8))


@pytest.fixture
def desk(client_for, front_desk) -> Client:
    return client_for(front_desk)


@pytest.fixture
def sunday_clinic(db):
    """Open Sundays from midnight to noon (so through the fall-back night), one infusion room, a
    clinician working those hours, and a patient cleared to the end of 2027."""
    OpeningHoursFactory(weekday=SUNDAY, opens=dt.time(0), closes=dt.time(12))
    clinician = ClinicianFactory(display_name="Dr Night")
    WorkingHours.objects.create(
        clinician=clinician, weekday=SUNDAY, starts=dt.time(0), ends=dt.time(12)
    )
    room = RoomFactory(name="Infusion 1", kind=RoomKind.INFUSION)
    patient = PatientFactory(cleared=dt.date(2027, 12, 31))
    return {"patient": patient, "infusion": infusion_type(), "room": room}


def course_url(patient) -> str:
    return reverse("scheduling:course_new", kwargs={"patient_id": patient.pk})


def book_data(first: str, first_occurrence: str, **extra: str) -> dict:
    data = {
        "action": "book",
        "count": "4",
        "start_0": first,
        "start_0_occurrence": first_occurrence,
    }
    data.update({f"start_{i}": to_local_input(start) for i, start in enumerate(LATER, start=1)})
    data.update(extra)
    return data


# --- The button's value -------------------------------------------------------------------------


def test_the_two_half_past_ones_have_different_values_that_read_back_as_themselves():
    first, second = _choice_value(2, FIRST_0130), _choice_value(2, SECOND_0130)
    assert first == "2|2027-11-07T08:30Z"
    assert second == "2|2027-11-07T09:30Z"
    assert _parse_choice(first, 4) == (2, FIRST_0130)
    assert _parse_choice(second, 4) == (2, SECOND_0130)
    # Any aware instant is written in UTC.
    assert _choice_value(0, SECOND_0130.astimezone(LA)) == "0|2027-11-07T09:30Z"


@pytest.mark.parametrize(
    "value",
    [
        "0|2027-11-07T01:30",  # a clinic wall time: which 1:30 is lost
        "0|2027-11-07T09:30+00:00",
        "4|2027-11-07T09:30Z",
        "-1|2027-11-07T09:30Z",
        "0|",
        "garbage",
    ],
)
def test_a_value_that_does_not_name_an_instant_is_refused(value):
    assert _parse_choice(value, 4) is None


# --- The planner ----------------------------------------------------------------------------------


def block_the_room(clinic: dict, start: dt.datetime) -> None:
    """Another patient's infusion in the only infusion room (120 minutes, and its buffers)."""
    AppointmentFactory(
        appointment_type=clinic["infusion"],
        room=clinic["room"],
        clinician=ClinicianFactory(display_name="Dr Elsewhere"),
        start=start,
    )


def test_choosing_the_first_half_past_one_offered_books_it_without_asking(desk, sunday_clinic):
    # Taken from 2:45 PST: a session at the second 1:30 clashes; the free starts before it, in
    # the first (PDT) run of the repeated hour, are offered.
    block_the_room(sunday_clinic, utc(FALL, 10, 45))
    url = course_url(sunday_clinic["patient"])

    response = desk.post(url, book_data("2027-11-07T01:30", "second"))

    assert response.status_code == 409, response.content.decode()[:3000]
    alternatives = response.context["conflict"]["alternatives"]
    alternative = next(a for a in alternatives if a["start"] == FIRST_0130)
    assert alternative["value"] == "0|2027-11-07T08:30Z"
    assert 'name="choose" value="0|2027-11-07T08:30Z"' in response.content.decode()

    response = desk.post(url, book_data("2027-11-07T01:30", "second", choose=alternative["value"]))

    assert response.status_code == 302, response.content.decode()[:3000]
    course = InfusionCourse.objects.get(patient=sunday_clinic["patient"])
    assert sorted(course.sessions.values_list("start", flat=True)) == [FIRST_0130, *LATER]


def test_a_choice_naming_the_second_half_past_one_books_the_second(desk, sunday_clinic):
    # The session as entered (the first 1:00) is replaced by the instant the button names.
    url = course_url(sunday_clinic["patient"])
    data = book_data("2027-11-07T01:00", "first", choose=_choice_value(0, SECOND_0130))

    response = desk.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    course = InfusionCourse.objects.get(patient=sunday_clinic["patient"])
    assert sorted(course.sessions.values_list("start", flat=True)) == [SECOND_0130, *LATER]


# --- The course page ------------------------------------------------------------------------------


def test_a_session_in_the_repeated_hour_shows_which_one_it_is_on_its_move_form(desk, sunday_clinic):
    url = course_url(sunday_clinic["patient"])
    data = book_data("2027-11-07T01:30", "second")
    assert desk.post(url, data).status_code == 302
    course = InfusionCourse.objects.get()

    response = desk.get(reverse("scheduling:course_detail", args=[course.pk]))

    assert response.status_code == 200
    rows = response.context["rows"]
    forms = {row["appointment"].start: row["form"] for row in rows}
    question = forms[SECOND_0130]["new_start_occurrence"]
    assert question.field.asked
    assert question.value() == "second"
    html = response.content.decode()
    assert "1:30 a.m. PDT (first)" in html and "1:30 a.m. PST (second)" in html
    # The other sessions happen once: no question.
    assert not any(forms[start]["new_start_occurrence"].field.asked for start in LATER)
    # Sent back as shown, the form means the same instant.
    form = forms[SECOND_0130]
    bound = SessionMoveForm(
        {
            "appointment_id": str(form["appointment_id"].value()),
            "new_start": form["new_start"].value(),
            "new_start_occurrence": form["new_start_occurrence"].value(),
        }
    )
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["new_start"] == SECOND_0130
