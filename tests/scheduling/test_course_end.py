"""Course tracking (issue 20 item 5): ending a course early asks for a reason (and a note for
"other") and records who and when, through one service (scheduling.courses.services.course_end)
that cancels the remaining sessions through the lifecycle; the course page counts sessions done,
missed, deferred, cancelled and remaining, and shows clinicians and admin (not the front desk) the
outcome measures over the course, audited, in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.outcomes import RoundScores
from propel.models import AuditEvent
from scheduling.courses import services
from scheduling.courses.outcomes import course_series
from scheduling.courses.progress import session_counts
from scheduling.courses.services import course_end, course_session_move
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    CourseEndReason,
    CourseStatus,
    InfusionCourse,
)
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import AppointmentFactory, IntakeSubmissionFactory, PatientFactory
from tests.factories import infusion_clinic as make_clinic

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 20, 8, 0, tzinfo=LA)  # a Wednesday, after three Tuesday sessions
TUESDAYS = [dt.date(2027, 1, 5) + dt.timedelta(weeks=n) for n in range(8)]
DONE, BOOKED = AppointmentStatus.COMPLETED, AppointmentStatus.BOOKED


@pytest.fixture(autouse=True)
def clock():
    yield from stopped_clock(NOW)


@pytest.fixture
def clinic():
    return make_clinic(room_name="Infusion 1", clinician_name="Dr Course")


def hand_built(clinic, statuses: list[str], *, patient=None, hour: int = 10) -> SimpleNamespace:
    """A course with one session per Tuesday at `hour` in the given statuses (the past ones as
    they ended, the future ones booked)."""
    patient = patient or PatientFactory(first_name="Casey", last_name="Course")
    course = InfusionCourse.objects.create(
        patient=patient, planned_sessions=len(statuses), span_weeks=len(statuses)
    )
    sessions = [
        AppointmentFactory(
            patient=patient,
            appointment_type=clinic.infusion,
            room=clinic.room,
            clinician=clinic.clinician,
            start=at(day, hour),
            status=status,
            course=course,
        )
        for day, status in zip(TUESDAYS, statuses, strict=False)
    ]
    return SimpleNamespace(course=course, sessions=sessions, patient=patient)


def scores(phq9: int, gad7: int, pain: int) -> dict:
    return {
        "phq9": {"total": phq9, "band": "x", "missing": []},
        "gad7": {"total": gad7, "band": "x", "missing": []},
        "nrs11_pain": {"score": pain, "band": "x", "missing": []},
    }


def round_at(patient, when: dt.datetime, number: int, **values: int) -> None:
    IntakeSubmissionFactory(
        patient=patient,
        kind="screening" if number == 1 else "check_in",
        round=number,
        status="submitted",
        submitted_at=when,
        scores=scores(**values),
    )


# --- The service ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "bored", "OTHER", None])
def test_ending_a_course_needs_one_of_the_reasons(clinic, front_desk, reason):
    built = hand_built(clinic, [DONE, DONE, DONE, BOOKED, BOOKED, BOOKED])
    with pytest.raises(SchedulingError) as refused:
        course_end(course_id=built.course.pk, actor=front_desk, end_reason=reason or "")
    assert refused.value.code == "course_end_reason"
    built.course.refresh_from_db()
    assert built.course.status == CourseStatus.ACTIVE and built.course.ended_at is None
    assert not AppointmentStatusChange.objects.filter(to_status="cancelled").exists()


@pytest.mark.parametrize("note", ["", "   \n "])
def test_the_reason_other_needs_a_note(clinic, front_desk, note):
    built = hand_built(clinic, [DONE, BOOKED, BOOKED, BOOKED])
    with pytest.raises(SchedulingError) as refused:
        course_end(
            course_id=built.course.pk,
            actor=front_desk,
            end_reason=CourseEndReason.OTHER,
            end_note=note,
        )
    assert refused.value.code == "course_end_note"
    assert Appointment.objects.filter(course=built.course, status=BOOKED).count() == 3


def test_ending_early_records_why_who_and_when_and_cancels_the_rest_through_the_lifecycle(
    clinic, front_desk, monkeypatch
):
    built = hand_built(clinic, [DONE, DONE, AppointmentStatus.NO_SHOW, BOOKED, BOOKED, BOOKED])
    transitions = []
    real = services.appointment_transition
    monkeypatch.setattr(
        services,
        "appointment_transition",
        lambda **kwargs: transitions.append(kwargs["appointment_id"]) or real(**kwargs),
    )

    count = course_end(
        course_id=built.course.pk,
        actor=front_desk,
        end_reason=CourseEndReason.OTHER,
        end_note="  Starting a trial elsewhere  ",
    )

    assert count == 3
    assert transitions == [s.pk for s in built.sessions[3:]]
    course = InfusionCourse.objects.get(pk=built.course.pk)
    assert course.status == CourseStatus.ENDED_EARLY
    assert (course.end_reason, course.end_note) == ("other", "Starting a trial elsewhere")
    assert course.ended_by == front_desk and course.ended_at == NOW
    statuses = [s.status for s in Appointment.objects.filter(course=course).order_by("start")]
    assert statuses == ["completed", "completed", "no_show"] + ["cancelled"] * 3
    history = AppointmentStatusChange.objects.filter(to_status="cancelled")
    assert history.count() == 3 and {h.reason for h in history} == {"Course ended early"}
    assert {h.by_id for h in history} == {front_desk.pk}
    event = AuditEvent.objects.get(action="course.ended_early")
    assert event.detail == {"cancelled_sessions": 3, "end_reason": "other"}
    assert "trial" not in str(event.detail)
    # Ended: not ended again, and its sessions are not moved.
    with pytest.raises(SchedulingError) as again:
        course_end(course_id=course.pk, actor=front_desk, end_reason="cost")
    assert again.value.code == "course_not_active"
    with pytest.raises(SchedulingError) as moved:
        course_session_move(
            appointment_id=built.sessions[4].pk, new_start=at(TUESDAYS[5], 14), actor=front_desk
        )
    assert moved.value.code == "course_not_active"


def test_a_course_ended_before_any_session_was_done_is_cancelled(clinic, front_desk):
    built = hand_built(clinic, [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, BOOKED])
    course_end(course_id=built.course.pk, actor=front_desk, end_reason=CourseEndReason.COST)
    built.course.refresh_from_db()
    assert built.course.status == CourseStatus.CANCELLED
    assert built.course.end_reason == "cost" and built.course.ended_by == front_desk
    assert AuditEvent.objects.filter(action="course.cancelled").count() == 1


def test_the_database_refuses_an_early_end_without_its_reason(clinic):
    built = hand_built(clinic, [DONE, BOOKED])
    with pytest.raises(IntegrityError), transaction.atomic():
        InfusionCourse.objects.filter(pk=built.course.pk).update(status=CourseStatus.ENDED_EARLY)


# --- The counts (pure, then on the page) ---------------------------------------------------------


def test_session_counts_over_a_hand_built_course():
    before, after = NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1)
    counts = session_counts(
        [
            ("completed", before),
            ("completed", before),
            ("no_show", before),
            ("deferred", before),
            ("cancelled", after),
            ("booked", before),  # over, not recorded
            ("checked_in", before),  # over, not recorded
            ("booked", after),
            ("booked", after),
        ],
        now=NOW,
    )
    assert (counts.done, counts.no_show, counts.deferred, counts.cancelled) == (2, 1, 1, 1)
    assert (counts.upcoming, counts.to_record, counts.remaining) == (2, 2, 4)


def test_the_course_page_counts_done_missed_deferred_cancelled_and_remaining(
    clinic, client_for, front_desk
):
    built = hand_built(
        clinic,
        [
            DONE,
            AppointmentStatus.NO_SHOW,
            AppointmentStatus.DEFERRED,
            AppointmentStatus.CANCELLED,
            BOOKED,
            BOOKED,
        ],
    )
    page = client_for(front_desk).get(reverse("scheduling:course_detail", args=[built.course.pk]))
    html = page.content.decode()
    for key, value in [
        ("done", 1),
        ("no-show", 1),
        ("deferred", 1),
        ("cancelled", 1),
        ("remaining", 2),
    ]:
        assert f'id="progress-{key}">{value}<' in html, key


# --- Ending early on the page -------------------------------------------------------------------


def end_url(course) -> str:
    return reverse("scheduling:course_cancel", args=[course.pk])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "end_reason"),
        ({"end_reason": "bored"}, "end_reason"),
        ({"end_reason": "other"}, "end_note"),
        ({"end_reason": "other", "end_note": "  "}, "end_note"),
        ({"end_reason": "cost", "end_note": "x" * 5000}, "end_note"),
    ],
)
def test_the_end_form_asks_for_a_reason_and_a_note_for_other(
    clinic, client_for, front_desk, data, field
):
    built = hand_built(clinic, [DONE, BOOKED, BOOKED])
    response = client_for(front_desk).post(end_url(built.course), data)
    assert response.status_code == 400
    assert field in response.context["end_form"].errors
    built.course.refresh_from_db()
    assert built.course.status == CourseStatus.ACTIVE


def test_the_front_desk_ends_a_course_and_the_page_says_why_who_and_when(
    clinic, client_for, front_desk, clinician_user
):
    front_desk.first_name, front_desk.last_name = "Frankie", "Desk"
    front_desk.save()
    built = hand_built(clinic, [DONE, DONE, DONE, BOOKED, BOOKED])
    desk = client_for(front_desk)
    detail = reverse("scheduling:course_detail", args=[built.course.pk])
    assert "End the course early" in desk.get(detail).content.decode()

    response = desk.post(
        end_url(built.course), {"end_reason": "other", "end_note": "Family reasons, see chart"}
    )

    assert response.status_code == 302
    html = desk.get(detail).content.decode()
    assert "Course ended; 2 remaining sessions cancelled." in html
    assert "Ended early" in html and "Other" in html and "Frankie Desk" in html
    assert "End the course early" not in html
    assert "Family reasons" not in html  # the note: clinicians and admin only
    clinical = client_for(clinician_user).get(detail).content.decode()
    assert 'id="course-end-note"' in clinical and "Family reasons" in clinical


# --- Outcome measures -----------------------------------------------------------------------------


def rnd(when: dt.datetime, phq9: int) -> RoundScores:
    return RoundScores("check_in", when, when.date(), {"phq9": {"total": phq9}})


def test_the_course_series_start_from_the_last_score_before_the_first_session():
    start, end = at(TUESDAYS[0], 10), at(TUESDAYS[3], 12)
    rounds = [
        rnd(start - dt.timedelta(days=30), 25),  # an older screening: not the course's baseline
        rnd(start - dt.timedelta(hours=1), 20),  # the check-in before the first infusion
        rnd(at(TUESDAYS[1], 9), 14),
        rnd(at(TUESDAYS[3], 9), 8),
        rnd(at(TUESDAYS[5], 9), 3),  # after the course ended: left out
    ]
    phq9 = course_series(rounds, start=start, end=end)[0]
    assert phq9.measure.key == "phq9"
    assert [p.score for p in phq9.points] == [20, 14, 8]
    assert phq9.baseline == 20 and phq9.points[-1].response
    running = course_series(rounds, start=start, end=None)[0]
    assert [p.score for p in running.points] == [20, 14, 8, 3] and running.points[-1].remission


def test_clinicians_see_the_scores_over_the_course_audited_and_the_front_desk_does_not(
    clinic, client_for, front_desk, clinician_user, admin_user
):
    built = hand_built(clinic, [DONE, DONE, BOOKED, BOOKED])
    round_at(built.patient, at(TUESDAYS[0], 9), 1, phq9=21, gad7=17, pain=8)
    round_at(built.patient, at(TUESDAYS[1], 9), 2, phq9=9, gad7=6, pain=4)
    detail = reverse("scheduling:course_detail", args=[built.course.pk])

    desk_page = client_for(front_desk).get(detail)
    assert desk_page.context["outcomes"] is None
    desk_html = desk_page.content.decode()
    assert "Outcome measures" not in desk_html and "PHQ-9" not in desk_html
    assert "data-score" not in desk_html
    assert not AuditEvent.objects.filter(action="course.outcomes_viewed").exists()

    for user in (clinician_user, admin_user):
        html = client_for(user).get(detail).content.decode()
        assert "Outcome measures over the course" in html and "PHQ-9" in html
        assert "<svg" in html and "<td data-score>21</td>" in html
    viewed = AuditEvent.objects.filter(action="course.outcomes_viewed")
    assert viewed.count() == 2 and {e.patient_id for e in viewed} == {built.patient.pk}


def test_the_course_page_runs_the_same_queries_whatever_the_course_size(
    clinic, client_for, clinician_user
):
    small = hand_built(clinic, [DONE, BOOKED, BOOKED, BOOKED])
    big = hand_built(clinic, [DONE] * 4 + [BOOKED] * 4, patient=PatientFactory(), hour=14)
    for number, day in enumerate(TUESDAYS[:4], start=1):
        round_at(big.patient, at(day, 9), number, phq9=20 - number, gad7=10, pain=5)
    round_at(small.patient, at(TUESDAYS[0], 9), 1, phq9=20, gad7=10, pain=5)
    browser = client_for(clinician_user)

    def queries(course) -> int:
        url = reverse("scheduling:course_detail", args=[course.pk])
        browser.get(url)  # warm the session and the role cache
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(url).status_code == 200
        return len(captured)

    assert queries(small.course) == queries(big.course)
