"""Infusion courses: propose, book all at once, follow, move a session, cancel, add maintenance.

The rules that decide (dates, spacing, weekly cap) live in scheduling.courses.planner; this module
loads their inputs, reads the settings, and writes through scheduling.booking and its batch
(scheduling.batch_booking), the only code that writes appointments.

Lock order, extending scheduling.booking's: the course row first (moves, cancellations and
maintenance bookings lock it; a new course's row is not yet visible to anyone), then rooms,
clinicians and the patient as every booking does.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from intake.clearance import clearance_refusal, clearance_status, clinic_date, has_valid_clearance
from intake.models import Patient
from scheduling.audit import audit_patient_event
from scheduling.availability import Interval
from scheduling.batch_booking import Batch, SessionRefused, aware_utc, batch_book, batch_lock
from scheduling.booking import appointment_book, appointment_move
from scheduling.course_state import MAINTENANCE_TYPE_CODE as MAINTENANCE_TYPE_CODE
from scheduling.course_state import (
    course_complete_if_done as course_complete_if_done,  # tests and the course pages import it
)
from scheduling.course_state import course_sessions, locked_course
from scheduling.courses.conflicts import CourseConflict as CourseConflict  # views, tests import it
from scheduling.courses.conflicts import course_conflict, session_label
from scheduling.courses.planner import (
    CourseRules,
    PlanError,
    check_course,
    course_problems,
    plan_course,
)
from scheduling.courses.progress import course_progress as course_progress  # views, tests
from scheduling.errors import SchedulingError
from scheduling.locking import booking_transaction
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CourseEndReason,
    CourseStatus,
    InfusionCourse,
)
from scheduling.notices import ChangeNotice
from scheduling.policy import spacing_policy
from scheduling.queries import appointment_with_type
from scheduling.reminder_plan import new_batch
from scheduling.slots import clinic_tz, load_calendar, patient_busy, utc_range
from scheduling.spacing import keep_away
from scheduling.transitions import appointment_transition

# A lock wait that times out ("busy") usually means another course is being booked on the same
# rooms right now; trying again once it has committed gives a real answer (a conflict, or success).
BOOK_ATTEMPTS = 3


def rules_from_settings() -> CourseRules:
    spacing = spacing_policy()
    return CourseRules(
        min_sessions=settings.COURSE_MIN_SESSIONS,
        max_sessions=settings.COURSE_MAX_SESSIONS,
        min_weeks=settings.COURSE_MIN_WEEKS,
        max_weeks=settings.COURSE_MAX_WEEKS,
        min_gap=spacing.min_gap,
        max_per_week=spacing.max_per_week,
    )


def _appointment_type(code: str) -> AppointmentType:
    appointment_type = AppointmentType.objects.filter(code=code, active=True).first()
    if appointment_type is None:
        raise SchedulingError("type_unavailable")
    return appointment_type


def _clearance_last_day(patient_id: int, now: dt.datetime) -> dt.date:
    """The last day of the patient's current clearance, or SchedulingError saying why none."""
    status = clearance_status(patient_id, today=clinic_date(now))
    if not status.is_cleared or status.valid_until is None:
        raise SchedulingError("needs_clearance", why=clearance_refusal(patient_id, now, now=now))
    return status.valid_until


def course_propose(
    *,
    patient_id: int,
    sessions: int,
    weeks: int,
    start_date: dt.date,
    weekdays: Iterable[int],
    window: tuple[dt.time, dt.time],
    appointment_type_code: str = "infusion",
    now: dt.datetime | None = None,
) -> list[dt.datetime]:
    """Proposed session starts (aware, UTC) for a cleared patient; reserves nothing.

    Reads the opening hours and closures, the patient's active appointments and the clearance's
    last day, and asks scheduling.courses.planner.plan_course; raises PlanError (why no plan fits)
    or SchedulingError("needs_clearance"). Rooms and clinicians are checked only at booking.
    """
    now = now or timezone.now()
    if not Patient.objects.filter(pk=patient_id).exists():
        raise SchedulingError("patient_not_found")
    appointment_type = _appointment_type(appointment_type_code)
    last_day = _clearance_last_day(patient_id, now)
    end_date = start_date + dt.timedelta(weeks=weeks)
    calendar = load_calendar(start_date, end_date)
    return plan_course(
        sessions=sessions,
        weeks=weeks,
        start_date=start_date,
        weekdays=frozenset(weekdays),
        window=window,
        duration=appointment_type.duration,
        calendar=calendar,
        busy=[
            *patient_busy(patient_id, utc_range(start_date, end_date, calendar.tz)),
            *_spacing_around_treatments(patient_id, appointment_type.duration),
        ],
        last_day=last_day,
        rules=rules_from_settings(),
        tz=calendar.tz,
        not_before=now,
    )


def _spacing_around_treatments(patient_id: int, duration: dt.timedelta) -> list[Interval]:
    """Busy intervals that keep a proposed start at least the minimum gap from every treatment
    visit the patient already has (scheduling.spacing.keep_away)."""
    starts = (
        Appointment.objects.active()
        .filter(patient_id=patient_id, appointment_type__needs_clearance=True)
        .values_list("start", flat=True)
    )
    return keep_away(starts, spacing_policy(), duration)


def _span_weeks(starts: Sequence[dt.datetime], rules: CourseRules) -> int:
    tz = clinic_tz()
    days = (starts[-1].astimezone(tz).date() - starts[0].astimezone(tz).date()).days + 1
    return max(rules.min_weeks, math.ceil(days / 7))


def course_book(
    *,
    patient_id: int,
    starts: Sequence[dt.datetime],
    actor: Any,
    appointment_type_code: str = "infusion",
    weeks: int | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> InfusionCourse:
    """Book a whole course, every session or none, and return the new InfusionCourse.

    Sessions are numbered in time order. Before anything is written: the rules (count, span,
    gap, weekly cap; PlanError("course_rules") listing every problem) and no session in the
    past. Then, in one transaction, the course row and every
    session as one batch (scheduling.batch_booking: one lock set in the booking's order, the
    window's calendar, hours, holds and busy times read once, each session checked in time order
    with the rules a single booking uses, then one INSERT each for the appointments, their
    status history, their reminder rows and the audit events; the confirmations share one batch:
    one message listing every session, scheduling.reminder_plan). The number of queries does not
    depend on the number of sessions. Any refusal rolls back everything and raises
    CourseConflict naming the session, with alternatives for it computed after the rollback, or,
    when the patient's clearance (read once, under the locks) does not cover a session,
    SchedulingError("course_session_clearance") naming the first such session and why. A
    lock wait that times out is retried a couple of times before it is reported.
    """
    now = now or timezone.now()
    rules = rules_from_settings()
    ordered = sorted(starts)
    appointment_type = _check_course(
        patient_id=patient_id,
        ordered=ordered,
        appointment_type_code=appointment_type_code,
        weeks=weeks,
        rules=rules,
        now=now,
    )
    for attempt in range(1, BOOK_ATTEMPTS + 1):
        try:
            return _book_sessions(
                patient_id=patient_id,
                ordered=ordered,
                appointment_type=appointment_type,
                span_weeks=weeks or _span_weeks(ordered, rules),
                actor=actor,
                request=request,
                now=now,
            )
        except (SessionRefused, SchedulingError) as refused:
            index, error = (
                (refused.index, refused.error)
                if isinstance(refused, SessionRefused)
                else (0, refused)
            )
            if error.code == "busy" and attempt < BOOK_ATTEMPTS:
                continue
            if error.code == "needs_clearance":
                # Read once, under the booking's locks (so a clinician's decline a moment earlier
                # still stops the course): the first session the clearance does not cover, and
                # why; other times would not help, so no alternatives.
                raise SchedulingError(
                    "course_session_clearance",
                    **session_label(index, ordered[index]),
                    why=error.params["why"],
                ) from error
            raise course_conflict(
                error,
                index=index,
                starts=ordered,
                appointment_type=appointment_type,
                patient_id=patient_id,
                rules=rules,
                now=now,
            ) from error
    raise AssertionError("unreachable")  # pragma: no cover


def _check_course(
    *,
    patient_id: int,
    ordered: Sequence[dt.datetime],
    appointment_type_code: str,
    weeks: int | None,
    rules: CourseRules,
    now: dt.datetime,
) -> AppointmentType:
    """course_book's checks before anything is written; the sessions' appointment type."""
    if any(start.tzinfo is None for start in ordered):
        raise ValueError("starts must be aware datetimes")
    if not Patient.objects.filter(pk=patient_id).exists():
        raise SchedulingError("patient_not_found")
    appointment_type = _appointment_type(appointment_type_code)
    if weeks is not None and not rules.min_weeks <= weeks <= rules.max_weeks:
        raise PlanError("course_weeks", min=rules.min_weeks, max=rules.max_weeks)
    problems = check_course(ordered, rules=rules, tz=clinic_tz(), max_weeks=weeks)
    if problems:
        raise PlanError("course_rules", problems=" ".join(problems))
    for index, start in enumerate(ordered):
        if start <= now:
            raise SchedulingError("course_session_past", **session_label(index, start))
    # The clearance on every session's day is read once, under the booking's locks
    # (rechecks.lifecycle_check), not here: see course_book.
    return appointment_type


def _book_sessions(
    *,
    patient_id: int,
    ordered: Sequence[dt.datetime],
    appointment_type: AppointmentType,
    span_weeks: int,
    actor: Any,
    request: HttpRequest | None,
    now: dt.datetime,
) -> InfusionCourse:
    """One attempt: the course row and every session, in one transaction, as one batch
    (scheduling.batch_booking: one lock set, every session checked against what is read once,
    one INSERT per table). A lock wait that runs out raises SchedulingError("busy")."""
    with booking_transaction():
        course = InfusionCourse.objects.create(
            patient_id=patient_id,
            planned_sessions=len(ordered),
            span_weeks=span_weeks,
            created_by=actor,
        )
        batch = Batch(
            patient_id=patient_id,
            appointment_type=appointment_type,
            starts=tuple(aware_utc(start, name="start") for start in ordered),
            now=now,
            actor=actor,
            request=request,
            # One confirmation listing every session, with one calendar file holding them all.
            confirm_batch=new_batch(),
            course_id=course.pk,
            course=course,
            # The clearance is read under the booking's locks (rechecks.lifecycle_check), once.
        )
        batch_book(batch, batch_lock(batch))
    return course


# A course stopped before its planned sessions were done: nothing of it can be changed any more.
ENDED = (CourseStatus.CANCELLED, CourseStatus.ENDED_EARLY)


def _not_active(course: InfusionCourse) -> SchedulingError:
    """The refusal of a change to a course in the wrong state, naming its status."""
    return SchedulingError(
        "course_not_active", status=str(CourseStatus(course.status).label).lower()
    )


def course_session_move(
    *,
    appointment_id: int,
    new_start: dt.datetime,
    actor: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
    notice_reason: str = "",
) -> Appointment:
    """Move one session of an active course, keeping the course rules with its other sessions
    (gap, weekly cap, span; cancelled and no-show sessions do not count). Locks the course row,
    then moves through scheduling.booking.appointment_move (hours, clearance, overlaps), all in
    one transaction. PlanError("course_rules") says which rule the move would break. Maintenance
    infusions linked to a course are moved without the course rules."""
    now = now or timezone.now()
    tz = clinic_tz()
    with transaction.atomic():
        appointment = appointment_with_type(appointment_id)
        if appointment.course_id is None:
            raise SchedulingError("not_course_session")
        course = locked_course(appointment.course_id)
        if course.status in ENDED:
            raise _not_active(course)
        if appointment.appointment_type.code != MAINTENANCE_TYPE_CODE:
            sessions = [s for s in course_sessions(course) if s.is_active]
            starts = [new_start if s.pk == appointment.pk else s.start for s in sessions]
            problems = [
                problem.message
                for problem in course_problems(
                    starts, rules=rules_from_settings(), tz=tz, check_count=False
                )
            ]
            if problems:
                raise PlanError("course_rules", problems=" ".join(problems))
        return appointment_move(
            appointment_id=appointment_id,
            new_start=new_start,
            actor=actor,
            request=request,
            now=now,
            notice=ChangeNotice(reason=notice_reason),
        )


END_HISTORY_REASON = "Course ended early"  # each cancelled session's history: no health details


def end_reason_refusal(end_reason: str, end_note: str) -> SchedulingError | None:
    """Why a course cannot end with this reason and note, or None: the reason must be a
    CourseEndReason, and "other" needs a note (not just spaces). Pure; the form asks it too."""
    if end_reason not in CourseEndReason.values:
        return SchedulingError("course_end_reason")
    if end_reason == CourseEndReason.OTHER and not end_note.strip():
        return SchedulingError("course_end_note")
    return None


def course_end(
    *,
    course_id: int,
    actor: Any,
    end_reason: str,
    end_note: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
    notice_reason: str = "",
) -> int:
    """End an active course before its planned sessions are done: the one door for it (the
    course page, and any command or admin action, call this). Return how many sessions were
    cancelled.

    `end_reason` is a CourseEndReason (SchedulingError("course_end_reason") otherwise); OTHER
    needs an `end_note` (SchedulingError("course_end_note")). Every booked session that has not
    started yet is cancelled through appointment_transition (the lifecycle: history, audit,
    the patient's notices sharing one batch, so one message lists them all). The course becomes
    ENDED_EARLY when at least one session was completed, CANCELLED when none was, and records the
    reason, the note, who and when. Locks the course row; all or nothing."""
    now = now or timezone.now()
    end_note = end_note.strip()
    refusal = end_reason_refusal(end_reason, end_note)
    if refusal is not None:
        raise refusal
    notice = ChangeNotice(reason=notice_reason, batch=uuid.uuid4())
    with transaction.atomic():
        course = locked_course(course_id)
        if course.status != CourseStatus.ACTIVE:
            raise _not_active(course)
        sessions = course_sessions(course)
        remaining = [
            s.pk for s in sessions if s.status == AppointmentStatus.BOOKED and s.start > now
        ]
        for appointment_id in remaining:
            appointment_transition(
                appointment_id=appointment_id,
                to_status=AppointmentStatus.CANCELLED,
                actor=actor,
                reason=END_HISTORY_REASON,
                request=request,
                now=now,
                notice=notice,
            )
        started = any(s.status == AppointmentStatus.COMPLETED for s in sessions)
        status = CourseStatus.ENDED_EARLY if started else CourseStatus.CANCELLED
        InfusionCourse.objects.filter(pk=course.pk).update(
            status=status,
            end_reason=end_reason,
            end_note=end_note,
            ended_by=actor if getattr(actor, "pk", None) else None,
            ended_at=now,
            updated_at=now,
        )
        audit_patient_event(
            course,
            "course.ended_early" if started else "course.cancelled",
            actor=actor,
            request=request,
            # The reason's code only: the note may say more than an audit detail should.
            detail={"cancelled_sessions": len(remaining), "end_reason": end_reason},
        )
    return len(remaining)


def course_cancel_remaining(
    *,
    course_id: int,
    actor: Any,
    reason: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
    notice_reason: str = "",
) -> int:
    """course_end with the reason "other" and `reason` as its note: kept for older callers (the
    benchmarks). New code calls course_end."""
    return course_end(
        course_id=course_id,
        actor=actor,
        end_reason=CourseEndReason.OTHER,
        end_note=reason,
        request=request,
        now=now,
        notice_reason=notice_reason,
    )


def course_add_maintenance(
    *,
    course_id: int,
    start: dt.datetime,
    actor: Any,
    appointment_type_code: str = MAINTENANCE_TYPE_CODE,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book a maintenance infusion linked to a completed course (completing it first if all its
    sessions are done: course_complete_if_done). A clearance valid on the date is required
    whatever the type's own setting. Locks the course row, then books through appointment_book."""
    now = now or timezone.now()
    with transaction.atomic():
        if not course_complete_if_done(course_id=course_id, actor=actor, request=request, now=now):
            course = InfusionCourse.objects.filter(pk=course_id).first()
            if course is None:
                raise SchedulingError("course_not_found")
            if course.status in ENDED:
                raise _not_active(course)
            raise SchedulingError("course_not_completed")
        course = locked_course(course_id)
        if not has_valid_clearance(course.patient_id, start):
            raise SchedulingError(
                "needs_clearance", why=clearance_refusal(course.patient_id, start, now=now)
            )
        appointment = appointment_book(
            patient_id=course.patient_id,
            appointment_type_id=_appointment_type(appointment_type_code).pk,
            start=start,
            actor=actor,
            request=request,
            now=now,
            course_id=course.pk,
        )
        audit_patient_event(
            course,
            "course.maintenance_booked",
            actor=actor,
            request=request,
            detail={"appointment": appointment.pk},
        )
    return appointment
