"""The course planner and course pages (scheduling.courses.views) end to end through the services of
scheduling.courses.services: plan and book a cleared patient's course in two submits, resolve a
conflict with one click, follow the course, move a session, cancel the rest, add maintenance; who
may do it; hostile input gives form errors, never a 500."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.urls import reverse

from propel.models import AuditEvent
from scheduling.courses.forms import to_local_input
from scheduling.models import Appointment, AppointmentStatus, CourseStatus, InfusionCourse, RoomKind
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClearanceDecisionFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    SubmittedScreeningFactory,
    open_weekdays,
)
from tests.personas import STAFF_PAGE_ACCESS

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday morning
FIRST_DAY = dt.date(2027, 1, 11)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def clinic():
    """The clinic's hours, one infusion room and one clinician: any clash is a real conflict."""
    open_weekdays()
    infusion_type = dict(
        duration_minutes=120, room_kind=RoomKind.INFUSION, self_bookable=False, needs_clearance=True
    )
    return SimpleNamespace(
        infusion=AppointmentTypeFactory(code="infusion", name="Infusion visit", **infusion_type),
        maintenance=AppointmentTypeFactory(
            code="maintenance", name="Maintenance infusion", **infusion_type
        ),
        room=RoomFactory(name="Infusion 1", kind=RoomKind.INFUSION),
        clinician=ClinicianFactory(display_name="Dr Course"),
    )


@pytest.fixture
def cleared(clinic):
    """A patient a clinician cleared until 5 July 2027."""
    patient = PatientFactory(first_name="Casey", last_name="Cleared")
    ClearanceDecisionFactory(submission=SubmittedScreeningFactory(patient=patient))
    return patient


@pytest.fixture
def desk(client_for, front_desk):
    return client_for(front_desk)


def new_url(patient) -> str:
    return reverse("scheduling:course_new", args=[patient.pk])


def plan(**overrides) -> dict:
    data = {
        "sessions": "6",
        "weeks": "6",
        "weekdays": ["0", "2", "4"],
        "window_from": "09:00",
        "window_to": "12:00",
        "start_date": FIRST_DAY.isoformat(),
        "action": "propose",
    }
    data.update(overrides)
    return data


def proposed_starts(response) -> list[str]:
    form = response.context["sessions_form"]
    return [form[f"start_{index}"].value() for index in range(form.size)]


def book_data(starts: list[str], **overrides) -> dict:
    data = plan(action="book", count=str(len(starts)))
    data.update({f"start_{index}": value for index, value in enumerate(starts)})
    data.update(overrides)
    return data


def propose(client, patient, **overrides) -> list[str]:
    response = client.post(new_url(patient), plan(**overrides))
    assert response.status_code == 200, response.content.decode()[:2000]
    return proposed_starts(response)


def local(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=LA)


def booked_course(client, patient) -> InfusionCourse:
    starts = propose(client, patient)
    response = client.post(new_url(patient), book_data(starts))
    assert response.status_code == 302
    return InfusionCourse.objects.get(patient=patient)


# --- Planning and booking -----------------------------------------------------------------------


def test_the_planner_shows_the_clearance_and_a_plan_form(desk, cleared):
    response = desk.get(new_url(cleared))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cleared until Mon, Jul 5, 2027" in page
    assert 'value="propose"' in page
    assert response.context["sessions_form"] is None


def test_a_six_infusion_course_books_in_two_submits(desk, cleared):
    response = desk.post(new_url(cleared), plan())
    assert response.status_code == 200
    starts = proposed_starts(response)
    assert len(starts) == 6
    assert 'value="book"' in response.content.decode()
    assert not Appointment.objects.exists()  # proposing reserves nothing

    response = desk.post(new_url(cleared), book_data(starts))

    course = InfusionCourse.objects.get(patient=cleared)
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:course_detail", args=[course.pk])
    sessions = list(course.sessions.order_by("start"))
    assert [s.start for s in sessions] == [local(value) for value in starts]
    assert {s.appointment_type.code for s in sessions} == {"infusion"}
    assert (course.planned_sessions, course.span_weeks, course.status) == (6, 6, "active")
    assert AuditEvent.objects.filter(action="course.booked", patient_id=cleared.pk).count() == 1
    page = desk.get(response["Location"]).content.decode()
    assert "Booked a course of 6 infusions." in page


def test_proposed_sessions_are_in_clinic_time_on_the_chosen_weekdays(desk, cleared):
    starts = [local(value) for value in propose(desk, cleared)]
    assert all(start.weekday() in (0, 2, 4) for start in starts)
    assert all(dt.time(9) <= start.time() <= dt.time(12) for start in starts)
    assert starts[0].date() >= FIRST_DAY


def test_staff_change_a_proposed_session_before_booking(desk, cleared):
    starts = propose(desk, cleared)
    edited = local(starts[2]) + dt.timedelta(hours=3)
    starts[2] = to_local_input(edited)
    assert desk.post(new_url(cleared), book_data(starts)).status_code == 302
    course = InfusionCourse.objects.get(patient=cleared)
    assert course.sessions.filter(start=edited).exists()


def test_a_conflict_on_the_fourth_session_keeps_nothing_and_one_click_books(desk, cleared, clinic):
    starts = propose(desk, cleared)
    # Someone else takes the only infusion room at session 4's time meanwhile.
    AppointmentFactory(
        appointment_type=clinic.infusion,
        room=clinic.room,
        clinician=ClinicianFactory(display_name="Dr Elsewhere"),
        start=local(starts[3]),
    )

    response = desk.post(new_url(cleared), book_data(starts))

    assert response.status_code == 409
    assert not InfusionCourse.objects.exists()
    assert not Appointment.objects.filter(patient=cleared).exists()
    conflict = response.context["conflict"]
    assert conflict["index"] == 3 and conflict["number"] == 4
    page = response.content.decode()
    assert "Session 4" in conflict["message"]
    assert conflict["message"] in page.replace("&#x27;", "'")
    assert 'id="session-3"' in page and "conflict-session" in page
    # The whole list is kept as it was.
    assert proposed_starts(response) == starts
    assert conflict["alternatives"]
    choice = conflict["alternatives"][0]
    assert f'name="choose" value="{choice["value"]}"' in page

    response = desk.post(new_url(cleared), book_data(starts, choose=choice["value"]))

    assert response.status_code == 302
    course = InfusionCourse.objects.get(patient=cleared)
    booked = sorted(course.sessions.values_list("start", flat=True))
    assert len(booked) == 6
    assert choice["start"] in booked and local(starts[3]) not in booked


def test_a_plan_that_cannot_fit_is_a_form_error(desk, cleared):
    response = desk.post(new_url(cleared), plan(sessions="8", weeks="4", weekdays=["0"]))
    assert response.status_code == 400
    assert response.context["plan_form"].non_field_errors()
    assert response.context["sessions_form"] is None


def test_a_course_breaking_the_rules_is_a_form_error(desk, cleared):
    starts = propose(desk, cleared)
    starts[1] = to_local_input(local(starts[0]) + dt.timedelta(hours=24))
    response = desk.post(new_url(cleared), book_data(starts))
    assert response.status_code == 400
    assert "48 hours" in " ".join(response.context["sessions_form"].non_field_errors())
    assert not Appointment.objects.exists()


def test_an_uncleared_patient_gets_no_plan_and_a_post_is_refused(desk, clinic):
    patient = PatientFactory()
    SubmittedScreeningFactory(patient=patient)
    response = desk.get(new_url(patient))
    assert response.status_code == 200
    page = response.content.decode()
    assert "not cleared" in page and 'value="propose"' not in page

    assert desk.post(new_url(patient), plan()).status_code == 403
    starts = [to_local_input(at(FIRST_DAY + dt.timedelta(weeks=w), 10)) for w in range(6)]
    assert desk.post(new_url(patient), book_data(starts)).status_code == 403
    assert not Appointment.objects.exists() and not InfusionCourse.objects.exists()


def test_an_unknown_patient_is_not_found(desk, clinic):
    assert desk.get(reverse("scheduling:course_new", args=[999999])).status_code == 404


# --- Hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sessions": "3"}, "sessions"),
        ({"sessions": "9"}, "sessions"),
        ({"sessions": "-1"}, "sessions"),
        ({"sessions": "9" * 5000}, "sessions"),
        ({"sessions": "six"}, "sessions"),
        ({"weeks": "12"}, "weeks"),
        ({"weekdays": ["6"]}, "weekdays"),
        ({"weekdays": []}, "weekdays"),
        ({"start_date": "not-a-date"}, "start_date"),
        ({"start_date": "2027-01-04"}, "start_date"),  # today
        ({"start_date": "2027-02-30"}, "start_date"),
        ({"start_date": "99999-01-01"}, "start_date"),
        ({"window_from": "25:00"}, "window_from"),
        ({"window_from": "14:00", "window_to": "10:00"}, "window_to"),
        ({"window_to": "x" * 100_000}, "window_to"),
    ],
)
def test_bad_plans_are_form_errors(desk, cleared, overrides, field):
    response = desk.post(new_url(cleared), plan(**overrides))
    assert response.status_code == 400
    assert field in response.context["plan_form"].errors


@pytest.mark.parametrize(
    "overrides",
    [
        {"count": "3"},
        {"count": "100000"},
        {"count": "abc"},
        {"count": ""},
        {"start_0": "garbage"},
        {"start_0": ""},
        {"start_1": "2027-13-40T10:00"},
        {"start_2": "x" * 100_000},
        {"start_3": "2027-03-14T02:30"},  # does not exist: clocks go forward
    ],
)
def test_bad_session_lists_are_form_errors(desk, cleared, overrides):
    starts = propose(desk, cleared)
    response = desk.post(new_url(cleared), book_data(starts, **overrides))
    assert response.status_code == 400
    assert response.context["sessions_form"].errors
    assert not Appointment.objects.exists()


def test_a_five_megabyte_post_is_refused_politely(desk, cleared):
    response = desk.post(new_url(cleared), plan(window_to="9" * 5_000_000))
    assert response.status_code == 400
    assert "more than we can accept" in response.content.decode()


@pytest.mark.parametrize("choice", ["garbage", "99|2027-01-20T10:00", "0|not-a-time", "|"])
def test_a_forged_alternative_books_the_list_as_shown(desk, cleared, choice):
    starts = propose(desk, cleared)
    response = desk.post(new_url(cleared), book_data(starts, choose=choice))
    assert response.status_code == 302
    booked = sorted(InfusionCourse.objects.get().sessions.values_list("start", flat=True))
    assert booked == [local(value) for value in starts]


# --- The course page ----------------------------------------------------------------------------


def detail_url(course) -> str:
    return reverse("scheduling:course_detail", args=[course.pk])


def test_the_course_page_shows_progress_and_sessions_in_time_order(desk, cleared):
    course = booked_course(desk, cleared)
    sessions = list(course.sessions.order_by("start"))
    statuses = [AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED]
    for session, status in zip(sessions, statuses, strict=False):
        Appointment.objects.filter(pk=session.pk).update(status=status)

    response = desk.get(detail_url(course))

    assert response.status_code == 200
    progress = response.context["progress"]
    assert (progress["done"], progress["no_show"], progress["cancelled"], progress["upcoming"]) == (
        1,
        1,
        1,
        3,
    )
    page = response.content.decode()
    assert 'id="progress-done">1<' in page and 'id="progress-remaining">3<' in page
    assert [row["appointment"].pk for row in response.context["rows"]] == [s.pk for s in sessions]
    assert "Infusion 1" in page and "Dr Course" in page and "Casey Cleared" in page
    assert page.index("No-show") < page.index("Cancelled</span>")


def test_an_unknown_course_is_not_found(desk, clinic):
    assert desk.get(reverse("scheduling:course_detail", args=[999999])).status_code == 404


def move(client, course, session, new_start):
    return client.post(
        reverse("scheduling:course_move", args=[course.pk]),
        {"appointment_id": str(session.pk), "new_start": new_start},
    )


def test_moving_a_session_within_the_rules(desk, cleared):
    course = booked_course(desk, cleared)
    session = course.sessions.order_by("start")[2]
    later = session.start + dt.timedelta(hours=2)
    response = move(desk, course, session, to_local_input(later))
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.start == later and session.sequence == 1


def test_a_move_breaking_the_course_rules_is_a_form_error(desk, cleared):
    course = booked_course(desk, cleared)
    first, second = course.sessions.order_by("start")[:2]
    too_close = first.start + dt.timedelta(hours=24)
    response = move(desk, course, second, to_local_input(too_close))
    assert response.status_code == 400
    assert "48 hours" in " ".join(response.context["rows"][1]["form"].errors["new_start"])
    second.refresh_from_db()
    assert second.start != too_close


@pytest.mark.parametrize("new_start", ["garbage", "", "2027-01-02T10:00", "x" * 100_000])
def test_a_bad_move_is_a_form_error(desk, cleared, new_start):
    course = booked_course(desk, cleared)
    session = course.sessions.order_by("start")[0]
    before = session.start
    assert move(desk, course, session, new_start).status_code == 400
    session.refresh_from_db()
    assert session.start == before


def test_moving_another_courses_session_is_refused(desk, cleared, clinic):
    course = booked_course(desk, cleared)
    stranger = AppointmentFactory(appointment_type=clinic.infusion, start=at(FIRST_DAY, 15))
    assert move(desk, course, stranger, to_local_input(at(FIRST_DAY, 16))).status_code == 400
    stranger.refresh_from_db()
    assert stranger.start == at(FIRST_DAY, 15)
    response = desk.post(
        reverse("scheduling:course_move", args=[course.pk]), {"appointment_id": "abc"}
    )
    assert response.status_code == 400


def test_ending_the_course_early_cancels_the_remaining_sessions(desk, cleared):
    course = booked_course(desk, cleared)
    first = course.sessions.order_by("start")[0]
    Appointment.objects.filter(pk=first.pk).update(status=AppointmentStatus.COMPLETED)
    response = desk.post(
        reverse("scheduling:course_cancel", args=[course.pk]), {"end_reason": "moved_away"}
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == CourseStatus.ENDED_EARLY and course.end_reason == "moved_away"
    assert course.sessions.filter(status=AppointmentStatus.CANCELLED).count() == 5
    page = desk.get(detail_url(course)).content.decode()
    assert "Course ended; 5 remaining sessions cancelled." in page
    # Ending again is refused with the service's message, not a 500.
    again = desk.post(reverse("scheduling:course_cancel", args=[course.pk]), {"end_reason": "cost"})
    assert again.status_code == 400
    assert "cannot be changed" in again.content.decode()


@pytest.mark.parametrize(
    "data", [{}, {"end_reason": ""}, {"end_reason": "x" * 100_000}, {"reason": "Moved away"}]
)
def test_ending_the_course_needs_a_reason(desk, cleared, data):
    course = booked_course(desk, cleared)
    response = desk.post(reverse("scheduling:course_cancel", args=[course.pk]), data)
    assert response.status_code == 400
    assert "end_reason" in response.context["end_form"].errors
    assert not course.sessions.filter(status=AppointmentStatus.CANCELLED).exists()


def maintenance(client, course, start: str):
    return client.post(reverse("scheduling:course_maintenance", args=[course.pk]), {"start": start})


def test_maintenance_follows_a_completed_course(desk, cleared):
    course = booked_course(desk, cleared)
    march = to_local_input(at(dt.date(2027, 3, 1), 10))
    assert "Add a maintenance infusion" not in desk.get(detail_url(course)).content.decode()
    refused = maintenance(desk, course, march)
    assert refused.status_code == 400
    assert "still has sessions to go" in refused.content.decode()

    course.sessions.update(status=AppointmentStatus.COMPLETED)
    assert "Add a maintenance infusion" in desk.get(detail_url(course)).content.decode()
    response = maintenance(desk, course, march)

    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == CourseStatus.COMPLETED
    extra = course.sessions.get(appointment_type__code="maintenance")
    assert extra.start == at(dt.date(2027, 3, 1), 10)
    assert "Maintenance infusion booked." in desk.get(detail_url(course)).content.decode()


@pytest.mark.parametrize(
    "start", ["garbage", "", "2027-03-06T10:00", "2027-03-01T22:00", "2028-01-03T10:00"]
)
def test_a_bad_maintenance_time_is_a_form_error(desk, cleared, start):
    course = booked_course(desk, cleared)
    course.sessions.update(status=AppointmentStatus.COMPLETED)
    response = maintenance(desk, course, start)
    assert response.status_code == 400
    assert response.context["maintenance_form"].errors
    assert not course.sessions.filter(appointment_type__code="maintenance").exists()


# --- Who may open what --------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "expected"), STAFF_PAGE_ACCESS)
def test_course_pages_by_persona(client_as, cleared, persona, expected):
    course = booked_course(client_as("front_desk"), cleared)
    browser = client_as(persona)
    for url in (new_url(cleared), detail_url(course)):
        response = browser.get(url)
        assert response.status_code == expected, url
        if persona is None:
            assert response["Location"].startswith(reverse("propel:login"))


@pytest.mark.parametrize(
    ("persona", "expected"), [(None, 302), ("no_role_user", 403), ("clinician_user", 302)]
)
def test_course_actions_by_persona(client_as, cleared, persona, expected):
    course = booked_course(client_as("front_desk"), cleared)
    browser = client_as(persona)
    session = course.sessions.order_by("start")[2]
    posts = [
        (new_url(cleared), plan()),
        (
            reverse("scheduling:course_move", args=[course.pk]),
            {
                "appointment_id": session.pk,
                "new_start": to_local_input(session.start + dt.timedelta(hours=1)),
            },
        ),
        (reverse("scheduling:course_cancel", args=[course.pk]), {"end_reason": "cost"}),
    ]
    for url, data in posts:
        response = browser.post(url, data)
        if url == new_url(cleared) and expected == 302 and persona:
            assert response.status_code == 200  # a proposal renders the page
        else:
            assert response.status_code == expected, url
    if expected != 302 or persona is None:
        course.refresh_from_db()
        assert course.status == CourseStatus.ACTIVE
        assert InfusionCourse.objects.count() == 1


@pytest.mark.parametrize("persona", [None, "no_role_user"])
def test_strangers_cannot_add_maintenance(client_as, cleared, persona):
    course = booked_course(client_as("front_desk"), cleared)
    course.sessions.update(status=AppointmentStatus.COMPLETED)
    browser = client_as(persona)
    response = maintenance(browser, course, to_local_input(at(dt.date(2027, 3, 1), 10)))
    assert response.status_code in (302, 403)
    assert not course.sessions.filter(appointment_type__code="maintenance").exists()


def test_get_is_not_allowed_on_course_actions(desk, cleared):
    course = booked_course(desk, cleared)
    for name in ("course_move", "course_cancel", "course_maintenance"):
        assert desk.get(reverse(f"scheduling:{name}", args=[course.pk])).status_code == 405


def test_from_the_calendar_to_a_booked_course(desk, cleared):
    """The done-when: front desk, starting from the calendar's booking page for the patient,
    reaches the planner in one click and books a six-infusion course with two submits."""
    page = desk.get(reverse("scheduling:appointment_new"), {"patient": cleared.pk})
    assert page.status_code == 200
    assert f'href="{new_url(cleared)}"' in page.content.decode()
    assert desk.get(new_url(cleared)).status_code == 200
    starts = propose(desk, cleared)
    assert desk.post(new_url(cleared), book_data(starts)).status_code == 302
    course = InfusionCourse.objects.get(patient=cleared)
    assert course.sessions.count() == 6
    appointment = course.sessions.order_by("start").first()
    detail = desk.get(reverse("scheduling:appointment", args=[appointment.pk])).content.decode()
    assert f'href="{detail_url(course)}"' in detail
