"""Demo patients further along the path than a booked consultation: one mid-course, one whose
course is completed, one whose infusion today was deferred, and visits on the current day at
every step (a weekend gets a demo opening so "today" is never empty).

Everything goes through the real services (booking, courses, the visit steps and so the
lifecycle), with `now` set to when a member of staff would have acted: a past session was booked
before it, and its check-in, vital signs, infusion and discharge happen on its own day. Nothing
is written in the future: a visit later today stays booked, one under way is shown under way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User

from demo.paperwork import seed_paperwork
from intake.decisions import clearance_decide, flag_acknowledge
from intake.examples import complete_answers
from intake.models import DecisionKind, IntakeSubmission, Patient
from intake.questions import SECTION_KEYS
from intake.screening import intake_submit, submission_open
from scheduling.booking import appointment_book
from scheduling.courses.services import course_book, course_propose
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Clinician,
    ExtraOpening,
    InfusionCourse,
    WorkingHours,
)
from scheduling.slots import clinic_tz, find_slots
from scheduling.transitions import appointment_transition
from scheduling.visits.arrival import visit_check_in
from scheduling.visits.deferral import visit_defer
from scheduling.visits.gate import visit_record_vitals
from scheduling.visits.infusion import visit_discharge, visit_end_infusion, visit_start

# Patient indices in demo.seed's list (0-5 have their own screenings there).
MID_COURSE, COMPLETED, DEFERRED_TODAY, INFUSION_TODAY, CONSULTATION_TODAY = 6, 7, 8, 9, 10
ESCORT_PHONE = "+19165550150"  # an obviously fake 555-01xx number
WEEKEND_CLINICIANS = ("clinician1", "clinician2")


def _local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=clinic_tz())


def _staff(username: str) -> User:
    return User.objects.get(username=username)


def open_today_at_weekends(today: dt.date) -> None:
    """A demo opening on a Saturday or Sunday (staff only, as the clinic's Saturdays are), with
    two clinicians working it, so the day sheet of the day someone tries the demo has visits."""
    if today.weekday() < 5:
        return
    ExtraOpening.objects.get_or_create(
        date=today,
        defaults={"opens": dt.time(9), "closes": dt.time(13), "note": "Demo weekend opening"},
    )
    for username in WEEKEND_CLINICIANS:
        WorkingHours.objects.get_or_create(
            clinician=Clinician.objects.get(user__username=username),
            weekday=today.weekday(),
            defaults={"starts": dt.time(9), "ends": dt.time(13)},
        )


def screen_and_clear(patient: Patient, *, at: dt.datetime) -> None:
    """A low-risk screening submitted and cleared by a clinician at `at`."""
    clinician = _staff("clinician1")
    draft = submission_open(patient_id=patient.pk)
    IntakeSubmission.objects.filter(pk=draft.pk).update(
        answers=complete_answers(signature_name=str(patient)),
        completed_sections=list(SECTION_KEYS),
    )
    intake_submit(submission_id=draft.pk, now=at)
    for flag in IntakeSubmission.objects.get(pk=draft.pk).flags.all():
        flag_acknowledge(flag_id=flag.pk, actor=clinician, note="Demo: reviewed.", now=at)
    clearance_decide(submission_id=draft.pk, actor=clinician, kind=DecisionKind.CLEARED, now=at)


def walk_visit(appointment: Appointment, *, now: dt.datetime) -> None:
    """Take a booked visit as far as the real time allows: checked in from 20 minutes before
    its start, started (vital signs passed) at the start, ended 60 minutes in, discharged at the
    end. Each step is stamped with the time it would have been taken."""
    desk, clinician = _staff("frontdesk"), _staff("clinician1")
    start, end = appointment.start, appointment.end
    treatment = appointment.appointment_type.needs_clearance
    steps: list[tuple[dt.datetime, Callable[[dt.datetime], Any]]] = [
        (
            start - dt.timedelta(minutes=20),
            lambda at: visit_check_in(
                appointment_id=appointment.pk,
                actor=desk,
                identity_confirmed=True,
                escort_name="Demo Driver" if treatment else "",
                escort_phone=ESCORT_PHONE if treatment else "",
                alcohol_or_drugs=False if treatment else None,
                food_as_instructed=True if treatment else None,
                new_medicines=False if treatment else None,
                now=at,
            ),
        )
    ]
    if treatment:
        steps += [
            (
                start - dt.timedelta(minutes=10),
                lambda at: visit_record_vitals(
                    appointment_id=appointment.pk,
                    actor=clinician,
                    systolic=122,
                    diastolic=78,
                    heart_rate=72,
                    spo2=98,
                    weight_lb=168,  # ketamine is dosed by weight: the EHR reads it
                    now=at,
                ),
            ),
            (start, lambda at: visit_start(appointment_id=appointment.pk, actor=clinician, now=at)),
            (
                start + dt.timedelta(minutes=60),
                lambda at: visit_end_infusion(
                    appointment_id=appointment.pk, actor=clinician, now=at
                ),
            ),
            (
                end,
                lambda at: visit_discharge(
                    appointment_id=appointment.pk,
                    actor=clinician,
                    alert=True,
                    vitals_near_baseline=True,
                    escort_present=True,
                    now=at,
                ),
            ),
        ]
    else:
        steps.append(
            (
                end,
                lambda at: appointment_transition(
                    appointment_id=appointment.pk,
                    to_status=AppointmentStatus.COMPLETED,
                    actor=clinician,
                    now=at,
                ),
            )
        )
    for at, step in steps:
        if at > now:
            return
        try:
            step(at)
        except SchedulingError:
            continue  # taken on an earlier run of the seed


def book_course(patient: Patient, *, first_day: dt.date, sessions: int, weeks: int) -> None:
    """Clear the patient the day before `first_day` and book a course from it (Mondays and
    Thursdays, mornings), as staff would have done then."""
    booked_at = _local(first_day - dt.timedelta(days=1), 8)
    screen_and_clear(patient, at=booked_at)
    starts = course_propose(
        patient_id=patient.pk,
        sessions=sessions,
        weeks=weeks,
        start_date=first_day,
        weekdays=(0, 3),
        window=(dt.time(9), dt.time(12)),
        now=booked_at,
    )
    course_book(patient_id=patient.pk, starts=starts, actor=_staff("frontdesk"), now=booked_at)


def book_today(
    patient: Patient, code: str, *, today: dt.date, now: dt.datetime, near: dt.datetime | None
) -> Appointment | None:
    """One visit today, booked by the desk before the clinic opened: the free time nearest to
    `near`, or the first one."""
    booked_at = min(now, _local(today, 6))
    appointment_type = AppointmentType.objects.get(code=code)
    if appointment_type.needs_clearance:
        screen_and_clear(patient, at=booked_at - dt.timedelta(days=1))
    slots = find_slots(
        appointment_type=appointment_type,
        start_date=today,
        end_date=today,
        include_extra_openings=True,
        patient_id=patient.pk,
        not_before=booked_at,
        step=dt.timedelta(hours=1),
        now=booked_at,
    )
    if near is not None:
        slots.sort(key=lambda slot: abs(slot.start - near))
    for slot in slots:
        try:
            return appointment_book(
                patient_id=patient.pk,
                appointment_type_id=appointment_type.pk,
                start=slot.start,
                actor=_staff("frontdesk"),
                now=booked_at,
            )
        except SchedulingError:
            continue
    return None


def seed_stories(*, patients: list[Patient], now: dt.datetime) -> None:
    """Idempotent: a course is booked once per patient, today's visits once per day; a later
    run only takes the visits on as far as the time now allows."""
    today = now.astimezone(clinic_tz()).date()
    open_today_at_weekends(today)
    monday = today - dt.timedelta(days=today.weekday())
    # Signed and sent before the earliest course session (the completed course, seven weeks ago).
    seed_paperwork(
        signed=[patients[i] for i in (MID_COURSE, COMPLETED, DEFERRED_TODAY, INFUSION_TODAY)]
        + [patients[CONSULTATION_TODAY]],
        infusion=[patients[i] for i in (MID_COURSE, COMPLETED, DEFERRED_TODAY, INFUSION_TODAY)],
        id_waived=patients[COMPLETED],
        at=_local(monday - dt.timedelta(weeks=8), 10),
    )
    if not InfusionCourse.objects.filter(patient=patients[MID_COURSE]).exists():
        # Started last week: a few sessions done, the rest ahead.
        book_course(
            patients[MID_COURSE], first_day=monday - dt.timedelta(weeks=1), sessions=6, weeks=4
        )
    if not InfusionCourse.objects.filter(patient=patients[COMPLETED]).exists():
        book_course(
            patients[COMPLETED], first_day=monday - dt.timedelta(weeks=7), sessions=4, weeks=4
        )
    # The deferral at the first free time; an infusion under way now when the clinic is open;
    # a consultation an hour from now (the nearest free times when it is not).
    for index, code, near in (
        (DEFERRED_TODAY, "infusion", None),
        (INFUSION_TODAY, "infusion", now - dt.timedelta(minutes=45)),
        (CONSULTATION_TODAY, "consultation", now + dt.timedelta(hours=1)),
    ):
        patient = patients[index]
        day = (_local(today, 0), _local(today + dt.timedelta(days=1), 0))
        if Appointment.objects.filter(patient=patient, start__range=day).exists():
            continue
        booked = book_today(patient, code, today=today, now=now, near=near)
        if booked is None:
            continue
        if index == DEFERRED_TODAY:
            visit_defer(
                appointment_id=booked.pk,
                actor=_staff("clinician1"),
                reason="Demo: blood pressure above the line on arrival; recheck with primary care.",
                now=now,
            )
    for appointment in Appointment.objects.filter(
        patient__in=[
            patients[i] for i in (MID_COURSE, COMPLETED, INFUSION_TODAY, CONSULTATION_TODAY)
        ],
        status__in=[
            AppointmentStatus.BOOKED,
            AppointmentStatus.CHECKED_IN,
            AppointmentStatus.IN_PROGRESS,
        ],
        start__lte=now + dt.timedelta(minutes=30),
    ).select_related("appointment_type"):
        walk_visit(appointment, now=now)
