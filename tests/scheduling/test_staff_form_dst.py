"""Clinic wall times typed on the staff forms on the two clock-change days of 2027: 14 March
(2:00-2:59 do not exist) and 7 November (1:00-1:59 happen twice). The rule
(scheduling.time_fields.wall_to_instant), the forms that use it, and the staff pages end to end:
never a 500, a field error naming the change, a question when a time happens twice, and
bookings that last the type's elapsed minutes across the change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from scheduling.calendar.forms import BookingForm, MoveForm
from scheduling.courses.forms import (
    CourseSessionsForm,
    MaintenanceForm,
    SessionMoveForm,
    to_local_input,
)
from scheduling.models import Appointment, WorkingHours
from scheduling.time_fields import (
    FIRST,
    SECOND,
    AmbiguousTime,
    NonexistentTime,
    OffsetMismatch,
    wall_to_instant,
)
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ExtraOpeningFactory,
    PatientFactory,
    RoomFactory,
    infusion_type,
)

SPRING = dt.date(2027, 3, 14)
FALL = dt.date(2027, 11, 7)
GAP_MESSAGE = "Clocks go forward at 2:00 on this date; choose 3:00 or later."
TWICE_MESSAGE = "Clocks go back at 2:00 on this date, so 1:30 happens twice; choose which."


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def wall(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


# --- The rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (1, 59, utc(SPRING, 9, 59)),  # PST, -8
        (3, 0, utc(SPRING, 10, 0)),  # PDT, -7
        (9, 0, utc(SPRING, 16, 0)),
    ],
)
def test_a_time_that_exists_once_on_the_spring_day_is_one_instant(hour, minute, expected):
    assert wall_to_instant(wall(SPRING, hour, minute), LA) == expected


@pytest.mark.parametrize("minute", [0, 30, 59])
def test_a_time_in_the_spring_gap_does_not_exist_and_names_the_jump(minute):
    with pytest.raises(NonexistentTime) as gap:
        wall_to_instant(wall(SPRING, 2, minute), LA)
    assert gap.value.jumps_at == wall(SPRING, 2)
    assert gap.value.first_valid == wall(SPRING, 3)


def test_a_choice_or_an_offset_does_not_make_a_gap_time_exist():
    with pytest.raises(NonexistentTime):
        wall_to_instant(wall(SPRING, 2, 30), LA, occurrence=SECOND)
    with pytest.raises(NonexistentTime):
        wall_to_instant(wall(SPRING, 2, 30), LA, offset=dt.timedelta(hours=-7))


@pytest.mark.parametrize("minute", [0, 30, 59])
def test_a_time_in_the_fall_back_hour_happens_twice(minute):
    with pytest.raises(AmbiguousTime) as twice:
        wall_to_instant(wall(FALL, 1, minute), LA)
    assert twice.value.first == utc(FALL, 8, minute)  # PDT
    assert twice.value.second == utc(FALL, 9, minute)  # PST
    assert twice.value.goes_back_at == wall(FALL, 2)


def test_the_choice_or_the_offset_picks_one_of_the_two():
    time = wall(FALL, 1, 30)
    assert wall_to_instant(time, LA, occurrence=FIRST) == utc(FALL, 8, 30)
    assert wall_to_instant(time, LA, occurrence=SECOND) == utc(FALL, 9, 30)
    assert wall_to_instant(time, LA, offset=dt.timedelta(hours=-7)) == utc(FALL, 8, 30)
    assert wall_to_instant(time, LA, offset=dt.timedelta(hours=-8)) == utc(FALL, 9, 30)


def test_an_offset_the_time_never_has_is_refused():
    with pytest.raises(OffsetMismatch):
        wall_to_instant(wall(FALL, 1, 30), LA, offset=dt.timedelta(hours=-5))
    with pytest.raises(OffsetMismatch):
        wall_to_instant(wall(FALL, 9), LA, offset=dt.timedelta(hours=-7))  # PST by then


@pytest.mark.parametrize(("hour", "expected"), [(0, utc(FALL, 7)), (2, utc(FALL, 10))])
def test_times_either_side_of_the_fall_back_hour_are_one_instant(hour, expected):
    assert wall_to_instant(wall(FALL, hour, 0), LA) == expected
    assert wall_to_instant(wall(FALL, hour, 0), LA, occurrence=SECOND) == expected


# --- The forms ------------------------------------------------------------------------------------


@pytest.fixture
def booking_data(db) -> dict[str, object]:
    return {"patient": PatientFactory().pk, "appointment_type": AppointmentTypeFactory().pk}


def booking_form(data: dict[str, object], **fields: str) -> BookingForm:
    return BookingForm({**data, **fields})


def test_booking_form_gives_an_aware_utc_start(booking_data):
    form = booking_form(booking_data, date="2027-03-14", time="09:00")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["start"] == utc(SPRING, 16)
    assert form.cleaned_data["start"].tzinfo is dt.UTC


def test_booking_form_refuses_a_time_in_the_gap_on_the_time_field(booking_data):
    form = booking_form(booking_data, date="2027-03-14", time="02:30")
    assert not form.is_valid()
    assert form.errors == {"time": [GAP_MESSAGE]}
    assert not form.fields["time_occurrence"].asked


def test_booking_form_asks_which_when_the_time_happens_twice(booking_data):
    form = booking_form(booking_data, date="2027-11-07", time="01:30")
    assert not form.is_valid()
    assert form.errors == {"time_occurrence": [TWICE_MESSAGE]}
    chooser = form.fields["time_occurrence"]
    assert chooser.asked and chooser.required
    assert [label for _value, label in chooser.choices] == [
        "1:30 a.m. PDT (first)",
        "1:30 a.m. PST (second)",
    ]


@pytest.mark.parametrize(
    ("choice", "expected"), [(FIRST, utc(FALL, 8, 30)), (SECOND, utc(FALL, 9, 30))]
)
def test_booking_form_with_the_choice_gives_that_instant(booking_data, choice, expected):
    form = booking_form(booking_data, date="2027-11-07", time="01:30", time_occurrence=choice)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["start"] == expected
    # Still asked, so a form re-shown for another reason keeps the choice on screen.
    assert form.fields["time_occurrence"].asked


@pytest.mark.parametrize(
    ("time", "expected"), [("01:30-0700", utc(FALL, 8, 30)), ("01:30-08:00", utc(FALL, 9, 30))]
)
def test_a_listed_free_time_carries_its_offset_and_needs_no_question(booking_data, time, expected):
    form = booking_form(booking_data, date="2027-11-07", time=time)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["start"] == expected
    assert not form.fields["time_occurrence"].asked


def test_a_choice_left_over_for_a_time_that_happens_once_is_ignored(booking_data):
    form = booking_form(booking_data, date="2027-11-07", time="09:00", time_occurrence=SECOND)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["start"] == utc(FALL, 17)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"date": "2027-03-14", "time": "garbage"}, "time"),
        ({"date": "2027-03-14", "time": "25:00"}, "time"),
        ({"date": "2027-03-14", "time": "09:00+9900"}, "time"),
        ({"date": "2027-03-14", "time": "09:00-0500"}, "time"),
        ({"date": "2027-02-30", "time": "09:00"}, "date"),
        ({"date": "9999-12-31", "time": "23:59"}, "date"),
        ({"date": "0001-01-01", "time": "00:00"}, "date"),
        ({"date": "2027-11-07", "time": "01:30", "time_occurrence": "third"}, "time_occurrence"),
    ],
)
def test_tampered_values_are_field_errors(booking_data, fields, field):
    form = booking_form(booking_data, **fields)
    assert not form.is_valid()
    assert field in form.errors
    assert "start" not in form.cleaned_data


def test_move_form_uses_the_same_rule():
    assert MoveForm({"date": "2027-03-14", "time": "02:30"}).errors == {"time": [GAP_MESSAGE]}
    form = MoveForm({"date": "2027-11-07", "time": "01:30", "time_occurrence": SECOND})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["start"] == utc(FALL, 9, 30)


@pytest.mark.parametrize(
    ("form_class", "name", "extra"),
    [
        (SessionMoveForm, "new_start", {"appointment_id": "1"}),
        (MaintenanceForm, "start", {}),
        (CourseSessionsForm, "start_0", {"count": "1"}),
    ],
)
def test_course_forms_use_the_same_rule(form_class, name, extra):
    gap = form_class({**extra, name: "2027-03-14T02:30"})
    assert not gap.is_valid()
    assert gap.errors[name] == [GAP_MESSAGE]

    twice = form_class({**extra, name: "2027-11-07T01:30"})
    assert not twice.is_valid()
    assert twice.errors[f"{name}_occurrence"] == [TWICE_MESSAGE]

    chosen = form_class({**extra, name: "2027-11-07T01:30", f"{name}_occurrence": SECOND})
    chosen.is_valid()
    assert name not in chosen.errors and f"{name}_occurrence" not in chosen.errors
    assert chosen.cleaned_data[name] == utc(FALL, 9, 30)

    plain = form_class({**extra, name: "2027-11-07T09:00"})
    plain.is_valid()
    assert plain.cleaned_data[name] == utc(FALL, 17)

    for bad in ("garbage", "2027-13-01T09:00", "9999-12-31T23:59"):
        assert name in form_class({**extra, name: bad}).errors


def test_course_sessions_proposed_in_the_second_hour_keep_which_one():
    starts = [utc(FALL, 9, 30) + dt.timedelta(weeks=week) for week in range(4)]
    proposed = CourseSessionsForm.proposed(starts)
    # Only the session in the repeated hour shows the question, answered with its own instant.
    asked = [name for name, field in proposed.fields.items() if getattr(field, "asked", False)]
    assert asked == ["start_0_occurrence"]
    html = str(proposed["start_0_occurrence"])
    assert (
        "1:30 a.m. PST (second)" in html
        and 'value="second" required id="id_start_0_occurrence_1" checked' in html
    )
    data = {"count": "4"}
    for name in proposed.fields:
        if name != "count" and proposed[name].value():
            data[name] = proposed[name].value()
    bound = CourseSessionsForm(data)
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["starts"] == starts
    replaced = CourseSessionsForm(bound.replaced(1, utc(FALL, 8, 30)))
    assert replaced.is_valid(), replaced.errors
    assert replaced.cleaned_data["starts"][1] == utc(FALL, 8, 30)
    # A wall time in the clinic zone (how an alternative's button value is parsed) has lost
    # which 1:30 it was: the form asks instead of guessing the first.
    guessed = CourseSessionsForm(bound.replaced(0, dt.datetime(2027, 11, 7, 1, 30, tzinfo=LA)))
    assert not guessed.is_valid()
    assert guessed.errors == {"start_0_occurrence": [TWICE_MESSAGE]}


# --- The staff pages --------------------------------------------------------------------------


@pytest.fixture
def desk(client_for, front_desk) -> Client:
    return client_for(front_desk)


@pytest.fixture
def night_clinic(db):
    """Extra openings and a clinician working through both clock-change nights (Sundays), one
    infusion room, the 120-minute infusion and a patient cleared for it all year."""
    for day in (SPRING, FALL):
        ExtraOpeningFactory(date=day, opens=dt.time(0), closes=dt.time(12), note="Night test")
    clinician = ClinicianFactory(display_name="Dr Night")
    WorkingHours.objects.create(clinician=clinician, weekday=6, starts=dt.time(0), ends=dt.time(12))
    RoomFactory(name="Infusion 1", kind="infusion")
    patient = PatientFactory(cleared=dt.date(2027, 12, 31))
    return {"patient": patient, "infusion": infusion_type()}


def post_booking(client: Client, clinic: dict, day: dt.date, time: str, **extra: str):
    return client.post(
        reverse("scheduling:appointment_new"),
        {
            "patient": clinic["patient"].pk,
            "appointment_type": clinic["infusion"].pk,
            "date": day.isoformat(),
            "time": time,
            **extra,
        },
    )


@pytest.fixture
def before_spring():
    yield from stopped_clock(at(dt.date(2027, 3, 1), 8))


@pytest.mark.usefixtures("before_spring")
@pytest.mark.parametrize(
    ("day", "time", "expected_start"),
    [
        (SPRING, "00:30", utc(SPRING, 8, 30)),
        (SPRING, "01:00", utc(SPRING, 9)),
        (FALL, "00:30", utc(FALL, 7, 30)),
        (FALL, "01:00-0700", utc(FALL, 8)),  # as the free-times list sends it
    ],
)
def test_an_infusion_across_the_clock_change_lasts_its_120_minutes(
    desk, night_clinic, day, time, expected_start
):
    response = post_booking(desk, night_clinic, day, time)
    assert response.status_code == 302, response.content.decode()
    appointment = Appointment.objects.get()
    assert appointment.start == expected_start
    assert appointment.end - appointment.start == dt.timedelta(minutes=120)


@pytest.mark.usefixtures("before_spring")
def test_a_time_in_the_gap_is_a_400_with_the_message_and_the_entered_values(desk, night_clinic):
    response = post_booking(desk, night_clinic, SPRING, "02:30")
    assert response.status_code == 400
    body = response.content.decode()
    assert GAP_MESSAGE in body
    assert 'name="date" value="2027-03-14"' in body
    assert "02:30" in body
    assert f'value="{night_clinic["infusion"].pk}"' in body
    assert not Appointment.objects.exists()


@pytest.mark.usefixtures("before_spring")
def test_a_time_that_happens_twice_is_a_400_asking_which(desk, night_clinic):
    response = post_booking(desk, night_clinic, FALL, "01:30")
    assert response.status_code == 400
    body = response.content.decode()
    assert TWICE_MESSAGE in body
    assert "1:30 a.m. PDT (first)" in body and "1:30 a.m. PST (second)" in body
    assert 'type="radio" name="time_occurrence"' in body
    assert '<input type="hidden" name="time" value="01:30">' in body
    assert not Appointment.objects.exists()


@pytest.mark.usefixtures("before_spring")
@pytest.mark.parametrize(
    ("choice", "expected"), [(FIRST, utc(FALL, 8, 30)), (SECOND, utc(FALL, 9, 30))]
)
def test_with_the_choice_made_the_booking_is_at_that_instant(desk, night_clinic, choice, expected):
    response = post_booking(desk, night_clinic, FALL, "01:30", time_occurrence=choice)
    assert response.status_code == 302, response.content.decode()
    appointment = Appointment.objects.get()
    assert appointment.start == expected
    assert appointment.end - appointment.start == dt.timedelta(minutes=120)


@pytest.mark.usefixtures("before_spring")
def test_the_free_times_on_the_fall_back_day_name_their_zone_and_offset(desk, night_clinic):
    response = desk.get(
        reverse("scheduling:appointment_new"),
        {
            "patient": night_clinic["patient"].pk,
            "appointment_type": night_clinic["infusion"].pk,
            "date": FALL.isoformat(),
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="00:00-0700"' in body
    assert "12:00 a.m. PDT" in body


@pytest.mark.usefixtures("before_spring")
@pytest.mark.parametrize(
    "fields",
    [
        {"time": "garbage"},
        {"time": "99:99"},
        {"time": "09:00-0500"},
        {"time": "01:30-0700", "date": "not-a-date"},
        {"time": "09:00", "date": "9999-12-31"},
        {"time": "01:30", "time_occurrence": "both"},
        {"time": ""},
    ],
)
def test_tampered_booking_posts_are_400_with_a_message(desk, night_clinic, fields):
    day = fields.pop("date", FALL.isoformat())
    data = {
        "patient": night_clinic["patient"].pk,
        "appointment_type": night_clinic["infusion"].pk,
        "date": day,
        **fields,
    }
    response = desk.post(reverse("scheduling:appointment_new"), data)
    assert response.status_code == 400
    assert (
        'role="alert"' in response.content.decode()
        or "invalid-feedback" in response.content.decode()
    )
    assert not Appointment.objects.exists()


@pytest.mark.usefixtures("before_spring")
def test_a_far_future_date_in_the_free_times_lookup_is_a_400_not_a_500(desk, night_clinic):
    response = desk.get(
        reverse("scheduling:appointment_new"),
        {
            "patient": night_clinic["patient"].pk,
            "appointment_type": night_clinic["infusion"].pk,
            "date": "9999-12-31",
        },
    )
    assert response.status_code == 400


@pytest.mark.usefixtures("before_spring")
def test_moving_into_the_gap_or_the_repeated_hour_on_the_move_page(desk, night_clinic):
    appointment = AppointmentFactory(
        patient=night_clinic["patient"],
        appointment_type=night_clinic["infusion"],
        room=RoomFactory(name="Infusion 2", kind="infusion"),
        start=at(dt.date(2027, 3, 2), 10),
    )
    url = reverse("scheduling:appointment_move", kwargs={"appointment_id": appointment.pk})
    gap = desk.post(url, {"date": SPRING.isoformat(), "time": "02:30"})
    assert gap.status_code == 400
    assert GAP_MESSAGE in gap.content.decode()

    twice = desk.post(url, {"date": FALL.isoformat(), "time": "01:30"})
    assert twice.status_code == 400
    assert "1:30 a.m. PST (second)" in twice.content.decode()

    moved = desk.post(url, {"date": FALL.isoformat(), "time": "01:30", "time_occurrence": SECOND})
    assert moved.status_code == 302, moved.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == utc(FALL, 9, 30)
    assert appointment.end - appointment.start == dt.timedelta(minutes=120)


@pytest.mark.usefixtures("before_spring")
def test_the_course_planner_asks_which_for_a_session_in_the_repeated_hour(desk, night_clinic):
    url = reverse("scheduling:course_new", kwargs={"patient_id": night_clinic["patient"].pk})
    later = [to_local_input(utc(FALL, 18) + dt.timedelta(weeks=week)) for week in (1, 2, 3)]
    sessions = {f"start_{index}": start for index, start in enumerate(later, start=1)}
    response = desk.post(
        url,
        {"action": "book", "count": "4", "start_0": "2027-11-07T01:30", **sessions},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert TWICE_MESSAGE in body
    assert "1:30 a.m. PST (second)" in body

    gap = desk.post(
        url, {"action": "book", "count": "4", "start_0": "2027-03-14T02:30", **sessions}
    )
    assert gap.status_code == 400
    assert GAP_MESSAGE in gap.content.decode()
