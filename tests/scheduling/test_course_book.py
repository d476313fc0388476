"""Infusion course services (scheduling.courses.services) and appointment_move: propose, book all or
nothing, progress, move a session, cancel the rest, maintenance after a completed course."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from propel.models import AuditEvent
from scheduling.booking import appointment_move
from scheduling.courses import services as course_services
from scheduling.courses.planner import PlanError, check_course
from scheduling.courses.services import (
    CourseConflict,
    course_add_maintenance,
    course_book,
    course_cancel_remaining,
    course_complete_if_done,
    course_progress,
    course_propose,
    course_session_move,
    rules_from_settings,
)
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    CourseStatus,
    InfusionCourse,
    Reminder,
    ReminderKind,
)
from scheduling.slots import find_slots
from tests.clinic_time import LA, at
from tests.factories import (
    AppointmentFactory,
    ClearanceDecisionFactory,
    ClosureFactory,
    SubmittedScreeningFactory,
    UserFactory,
    clear_patient,
    infusion_clinic,
    infusion_type,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday morning
TUESDAYS = [dt.date(2027, 1, 5) + dt.timedelta(weeks=n) for n in range(6)]
SIX_TUESDAYS = [at(day, 10) for day in TUESDAYS]


@pytest.fixture(autouse=True)
def clinic():
    clinic = infusion_clinic(room_name="Infusion Suite 1", clinician_name="Dr Example")
    with time_machine.travel(NOW, tick=False):
        yield {"room": clinic.room, "clinician": clinic.clinician, "infusion": clinic.infusion}


@pytest.fixture
def desk():
    return UserFactory(username="desk", front_desk=True)


@pytest.fixture
def cleared(patient):
    clear_patient(patient)
    return patient


def book(patient, starts, desk, **kwargs):
    return course_book(patient_id=patient.pk, starts=starts, actor=desk, now=NOW, **kwargs)


def propose(patient, sessions: int, weekdays: set[int], window: tuple[dt.time, dt.time]):
    """Course dates for `patient`: `sessions` over as many weeks from Monday 4 January 2027."""
    return course_propose(
        patient_id=patient.pk,
        sessions=sessions,
        weeks=sessions,
        start_date=dt.date(2027, 1, 4),
        weekdays=weekdays,
        window=window,
        now=NOW,
    )


def test_a_proposal_for_a_cleared_patient_keeps_the_rules(cleared):
    starts = propose(cleared, 6, {1, 3}, (dt.time(10), dt.time(13)))
    assert len(starts) == 6
    assert check_course(starts, rules=rules_from_settings(), tz=LA) == []
    assert {start.astimezone(LA).weekday() for start in starts} <= {1, 3}


def test_a_proposal_avoids_the_patients_appointments_and_closures(cleared, clinic):
    AppointmentFactory(
        patient=cleared,
        appointment_type=clinic["infusion"],
        room=clinic["room"],
        clinician=clinic["clinician"],
        start=at(TUESDAYS[0], 10),
    )
    ClosureFactory(start_date=TUESDAYS[1], reason="Training day")
    starts = propose(cleared, 4, {1, 3}, (dt.time(10), dt.time(13)))
    assert at(TUESDAYS[0], 10) not in starts
    assert TUESDAYS[1] not in {start.astimezone(LA).date() for start in starts}


def test_a_proposal_for_an_uncleared_patient_is_refused(patient):
    with pytest.raises(SchedulingError) as refused:
        propose(patient, 4, {1}, (dt.time(10), dt.time(10)))
    assert refused.value.code == "needs_clearance"


def test_a_six_session_course_books_six_appointments_and_one_course(cleared, desk):
    course = book(cleared, SIX_TUESDAYS, desk)
    assert InfusionCourse.objects.get() == course
    assert course.planned_sessions == 6 and course.span_weeks == 6
    assert course.created_by == desk
    sessions = list(course.sessions.order_by("start"))
    assert [s.start for s in sessions] == SIX_TUESDAYS
    assert Appointment.objects.count() == 6
    assert AuditEvent.objects.filter(action="course.booked").count() == 1
    assert AuditEvent.objects.filter(action="appointment.booked").count() == 6


def test_a_course_plans_each_sessions_reminders_and_one_confirmation(cleared, desk):
    cleared.consent_email, cleared.consent_email_at = True, NOW
    cleared.save()
    course = book(cleared, SIX_TUESDAYS, desk)
    confirmations = Reminder.objects.filter(kind=ReminderKind.CONFIRMATION)
    # One confirmation row per session, all in one batch: sent as one message.
    assert set(confirmations.values_list("appointment__start", flat=True)) == set(SIX_TUESDAYS)
    assert len({row.batch for row in confirmations}) == 1
    assert confirmations.first().batch is not None
    for session in course.sessions.all():
        assert session.reminders.filter(kind=ReminderKind.INFUSION_2H).exists()


def test_course_rolls_back_when_fourth_session_conflicts(cleared, other_patient, desk, clinic):
    taken = AppointmentFactory(
        patient=other_patient,
        appointment_type=clinic["infusion"],
        room=clinic["room"],
        clinician=clinic["clinician"],
        start=at(TUESDAYS[3], 9),  # overlaps 10:00-12:00 on the fourth Tuesday
    )
    with pytest.raises(CourseConflict) as conflict:
        book(cleared, SIX_TUESDAYS, desk)
    error = conflict.value
    assert list(Appointment.objects.all()) == [taken]
    assert not InfusionCourse.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["appointment.booked", "course.booked"])
    assert error.index == 3 and error.start == SIX_TUESDAYS[3]
    assert error.message == (
        "Session 4 on Tue, Jan 26, 2027 at 10:00 a.m.: "
        "Infusion Suite 1 is already booked at that time."
    )
    alternatives = error.alternatives
    assert 1 <= len(alternatives) <= 5
    free = {
        slot.start
        for slot in find_slots(
            appointment_type=clinic["infusion"],
            start_date=TUESDAYS[3] - dt.timedelta(days=3),
            end_date=TUESDAYS[3] + dt.timedelta(days=3),
            include_extra_openings=True,
            patient_id=cleared.pk,
        )
    }
    rules = rules_from_settings()
    for alternative in alternatives:
        assert alternative in free
        edited = [*SIX_TUESDAYS[:3], alternative, *SIX_TUESDAYS[4:]]
        assert check_course(edited, rules=rules, tz=LA) == []
    edited = [*SIX_TUESDAYS[:3], alternatives[0], *SIX_TUESDAYS[4:]]
    assert book(cleared, edited, desk).sessions.count() == 6


def test_an_uncleared_patient_is_refused_a_course(patient, desk):
    SubmittedScreeningFactory(patient=patient)
    with pytest.raises(SchedulingError) as refused:
        book(patient, SIX_TUESDAYS, desk)
    assert refused.value.code == "course_session_clearance"
    assert refused.value.message.startswith(
        "Session 1 on Tue, Jan 5, 2027 at 10:00 a.m.: No clinician"
    )
    assert not Appointment.objects.exists() and not InfusionCourse.objects.exists()


def test_a_clearance_ending_mid_course_is_refused_naming_the_first_uncovered_session(patient, desk):
    clear_patient(patient, valid_until=dt.date(2027, 1, 20))
    with pytest.raises(SchedulingError) as refused:
        book(patient, SIX_TUESDAYS, desk)
    assert refused.value.message == (
        "Session 4 on Tue, Jan 26, 2027 at 10:00 a.m.: The patient's clearance is valid only until "
        "Wed, Jan 20, 2027, before this date."
    )
    assert not Appointment.objects.exists() and not InfusionCourse.objects.exists()


def test_a_clearance_declined_after_the_first_check_still_stops_the_course(
    patient, desk, monkeypatch
):
    """The clearance is read under the booking's locks, not before them: a clinician's decline
    between the course's first checks and its transaction books nothing."""
    clearance = clear_patient(patient)
    checked = course_services._check_course

    def check_then_decline(**kwargs):
        appointment_type = checked(**kwargs)
        ClearanceDecisionFactory(
            submission=clearance.submission,
            declined=True,
            decided_at=clearance.decided_at + dt.timedelta(hours=1),
        )
        return appointment_type

    monkeypatch.setattr(course_services, "_check_course", check_then_decline)
    with pytest.raises(SchedulingError) as refused:
        book(patient, SIX_TUESDAYS, desk)
    assert "A clinician declined the patient for infusion." in refused.value.message
    assert not Appointment.objects.exists() and not InfusionCourse.objects.exists()


def test_a_course_breaking_the_rules_is_refused_before_anything_is_written(cleared, desk):
    starts = [*SIX_TUESDAYS[:5], at(TUESDAYS[4] + dt.timedelta(days=1), 10)]
    with pytest.raises(PlanError) as refused:
        book(cleared, starts, desk)
    assert refused.value.code == "course_rules"
    assert (
        "Session 6 on Wed, Feb 3, 2027 at 10:00 a.m. starts less than 48 hours after session 5."
        in (refused.value.message)
    )
    assert not Appointment.objects.exists()


def test_a_session_moves_within_the_rules(cleared, desk):
    course = book(cleared, SIX_TUESDAYS, desk)
    second = course.sessions.order_by("start")[1]
    moved = course_session_move(
        appointment_id=second.pk, new_start=at(TUESDAYS[1] + dt.timedelta(days=1), 14), actor=desk
    )
    assert moved.pk == second.pk
    assert moved.start == at(dt.date(2027, 1, 13), 14)
    assert moved.end == moved.start + dt.timedelta(hours=2)
    assert moved.sequence == second.sequence + 1
    assert moved.status == AppointmentStatus.BOOKED and moved.room == second.room
    event = AuditEvent.objects.get(action="appointment.moved")
    assert event.detail["from"] == second.start.isoformat()
    assert event.detail["to"] == moved.start.isoformat()


def test_a_move_that_breaks_the_48_hour_gap_is_refused(cleared, desk):
    course = book(cleared, SIX_TUESDAYS, desk)
    second = course.sessions.order_by("start")[1]
    with pytest.raises(PlanError) as refused:
        course_session_move(
            appointment_id=second.pk, new_start=at(dt.date(2027, 1, 6), 10), actor=desk
        )
    assert (
        "Session 2 on Wed, Jan 6, 2027 at 10:00 a.m. starts less than 48 hours after session 1."
        in (refused.value.message)
    )
    second.refresh_from_db()
    assert second.start == SIX_TUESDAYS[1] and second.sequence == 0
    assert not AuditEvent.objects.filter(action="appointment.moved").exists()


def test_a_move_onto_another_booking_is_refused(cleared, other_patient, desk, clinic):
    course = book(cleared, SIX_TUESDAYS, desk)
    AppointmentFactory(
        patient=other_patient,
        appointment_type=clinic["infusion"],
        room=clinic["room"],
        clinician=clinic["clinician"],
        start=at(dt.date(2027, 1, 14), 10),
    )
    second = course.sessions.order_by("start")[1]
    with pytest.raises(SchedulingError) as refused:
        course_session_move(
            appointment_id=second.pk, new_start=at(dt.date(2027, 1, 14), 11), actor=desk
        )
    assert refused.value.code == "no_resource"
    second.refresh_from_db()
    assert second.start == SIX_TUESDAYS[1]


def test_a_move_overlapping_its_own_old_time_is_fine(cleared, desk, clinic):
    first = course_book(
        patient_id=cleared.pk, starts=SIX_TUESDAYS, actor=desk, now=NOW
    ).sessions.order_by("start")[0]
    moved = appointment_move(
        appointment_id=first.pk, new_start=at(TUESDAYS[0], 11), actor=desk, now=NOW
    )
    assert moved.start == at(TUESDAYS[0], 11) and moved.room == clinic["room"]


def test_appointment_move_refuses_the_past_closed_days_and_unbooked_appointments(cleared, desk):
    course = book(cleared, SIX_TUESDAYS, desk)
    first, second = course.sessions.order_by("start")[:2]
    with pytest.raises(SchedulingError) as refused:
        appointment_move(appointment_id=first.pk, new_start=at(dt.date(2027, 1, 3), 10), actor=desk)
    assert refused.value.code == "in_past"
    ClosureFactory(start_date=dt.date(2027, 1, 14), reason="Training day")
    with pytest.raises(SchedulingError) as refused:
        appointment_move(
            appointment_id=second.pk, new_start=at(dt.date(2027, 1, 14), 10), actor=desk
        )
    assert refused.value.code == "closed"
    Appointment.objects.filter(pk=first.pk).update(status=AppointmentStatus.CANCELLED)
    with pytest.raises(SchedulingError) as refused:
        appointment_move(appointment_id=first.pk, new_start=at(dt.date(2027, 1, 6), 10), actor=desk)
    assert refused.value.code == "not_movable"


def test_appointment_move_needs_a_clearance_at_the_new_time(patient, desk):
    clear_patient(patient, valid_until=dt.date(2027, 2, 9))
    course = book(patient, SIX_TUESDAYS, desk)
    last = course.sessions.order_by("start").last()
    with pytest.raises(SchedulingError) as refused:
        appointment_move(appointment_id=last.pk, new_start=at(dt.date(2027, 2, 11), 10), actor=desk)
    assert refused.value.code == "needs_clearance"


def test_cancelling_the_rest_of_a_course_cancels_only_future_booked_sessions(cleared, desk):
    course = book(cleared, SIX_TUESDAYS, desk)
    later = dt.datetime(2027, 1, 13, 8, 0, tzinfo=LA)  # after two sessions
    count = course_cancel_remaining(
        course_id=course.pk, actor=desk, reason="Patient moving away", now=later
    )
    assert count == 4
    course.refresh_from_db()
    assert course.status == CourseStatus.CANCELLED
    statuses = list(course.sessions.order_by("start").values_list("status", flat=True))
    assert statuses == ["booked"] * 2 + ["cancelled"] * 4
    assert AuditEvent.objects.filter(action="appointment.cancelled").count() == 4
    with pytest.raises(SchedulingError) as refused:
        course_cancel_remaining(course_id=course.pk, actor=desk, reason="again", now=later)
    assert refused.value.code == "course_not_active"


def test_progress_counts_done_upcoming_cancelled_and_no_show(cleared, desk):
    course = book(cleared, SIX_TUESDAYS, desk)
    first, second, third = course.sessions.order_by("start")[:3]
    Appointment.objects.filter(pk=first.pk).update(status=AppointmentStatus.COMPLETED)
    Appointment.objects.filter(pk=second.pk).update(status=AppointmentStatus.NO_SHOW)
    Appointment.objects.filter(pk=third.pk).update(status=AppointmentStatus.CANCELLED)
    progress = course_progress(course, now=dt.datetime(2027, 1, 20, 8, 0, tzinfo=LA))
    assert {key: progress[key] for key in ("done", "upcoming", "cancelled", "no_show")} == {
        "done": 1,
        "upcoming": 3,
        "cancelled": 1,
        "no_show": 1,
    }
    assert progress["planned"] == 6 and progress["to_record"] == 0
    assert [s.start for s in progress["sessions"]] == SIX_TUESDAYS


def test_maintenance_is_booked_only_after_the_course_is_completed(cleared, desk, clinic):
    maintenance = infusion_type("maintenance", "Maintenance infusion")
    course = book(cleared, SIX_TUESDAYS[:4], desk)
    later = at(dt.date(2027, 3, 1), 10)
    with pytest.raises(SchedulingError) as refused:
        course_add_maintenance(course_id=course.pk, start=later, actor=desk, now=NOW)
    assert refused.value.code == "course_not_completed"
    assert not course_complete_if_done(course_id=course.pk)
    course.sessions.update(status=AppointmentStatus.COMPLETED)
    appointment = course_add_maintenance(course_id=course.pk, start=later, actor=desk, now=NOW)
    assert appointment.course == course and appointment.appointment_type == maintenance
    course.refresh_from_db()
    assert course.status == CourseStatus.COMPLETED
    progress = course_progress(course, now=NOW)
    assert progress["done"] == 4 and progress["maintenance"] == [appointment]


def test_maintenance_still_needs_a_clearance(patient, desk):
    infusion_type("maintenance", "Maintenance infusion")
    clear_patient(patient, valid_until=dt.date(2027, 2, 1))
    course = book(patient, SIX_TUESDAYS[:4], desk)
    course.sessions.update(status=AppointmentStatus.COMPLETED)
    with pytest.raises(SchedulingError) as refused:
        course_add_maintenance(
            course_id=course.pk, start=at(dt.date(2027, 3, 1), 10), actor=desk, now=NOW
        )
    assert refused.value.code == "needs_clearance"
    assert course.sessions.count() == 4
