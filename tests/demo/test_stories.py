"""The demo clinic has patients at every step (new, flagged, cleared, mid-course, completed,
deferred) and visits on the day it is run, whatever the weekday, all through the real services."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from demo.stories import COMPLETED, CONSULTATION_TODAY, DEFERRED_TODAY, INFUSION_TODAY, MID_COURSE
from intake.models import ClearanceDecision, Flag, IntakeSubmission, Patient
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    Closure,
    CourseStatus,
    ExtraOpening,
    InfusionCourse,
)
from scheduling.visits.day_sheet_views import day_rows

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("America/Los_Angeles")
WEDNESDAY_LATE_MORNING = dt.datetime(2027, 1, 6, 11, 30, tzinfo=TZ)
SUNDAY = dt.datetime(2027, 1, 10, 10, 0, tzinfo=TZ)


def seed(at: dt.datetime) -> None:
    with time_machine.travel(at, tick=False):
        call_command("seed_demo", stdout=StringIO())


def demo_patients() -> list[Patient]:
    return list(Patient.objects.order_by("pk"))


def statuses(patient: Patient) -> list[str]:
    return list(
        Appointment.objects.filter(patient=patient, course__isnull=False)
        .order_by("start")
        .values_list("status", flat=True)
    )


def todays(patient: Patient, day: dt.date) -> Appointment:
    start = dt.datetime.combine(day, dt.time(), tzinfo=TZ)
    return Appointment.objects.get(
        patient=patient, start__gte=start, start__lt=start + dt.timedelta(days=1)
    )


def test_the_demo_has_patients_in_every_state():
    seed(WEDNESDAY_LATE_MORNING)
    patients = demo_patients()
    screened = set(IntakeSubmission.objects.values_list("patient_id", flat=True))
    assert any(p.pk not in screened for p in patients)  # new
    cleared = set(ClearanceDecision.objects.values_list("patient_id", flat=True))
    flagged = set(Flag.objects.values_list("submission__patient_id", flat=True)) - cleared
    assert flagged  # flagged, waiting for a clinician
    assert cleared

    mid = statuses(patients[MID_COURSE])
    assert AppointmentStatus.COMPLETED in mid and AppointmentStatus.BOOKED in mid
    assert InfusionCourse.objects.get(patient=patients[MID_COURSE]).status == CourseStatus.ACTIVE
    assert set(statuses(patients[COMPLETED])) == {AppointmentStatus.COMPLETED}
    course = InfusionCourse.objects.get(patient=patients[COMPLETED])
    assert course.status == CourseStatus.COMPLETED

    today = WEDNESDAY_LATE_MORNING.date()
    assert todays(patients[DEFERRED_TODAY], today).status == AppointmentStatus.DEFERRED
    # Booked for the free time nearest 45 minutes ago: under way at 11:30.
    assert todays(patients[INFUSION_TODAY], today).status == AppointmentStatus.IN_PROGRESS
    assert todays(patients[CONSULTATION_TODAY], today).status == AppointmentStatus.BOOKED


def test_every_status_the_demo_reached_was_recorded_by_the_lifecycle():
    seed(WEDNESDAY_LATE_MORNING)
    for appointment in Appointment.objects.exclude(status=AppointmentStatus.BOOKED):
        last = AppointmentStatusChange.objects.filter(appointment=appointment).order_by("pk").last()
        assert last is not None and last.to_status == appointment.status, appointment


def test_running_it_again_later_the_same_day_moves_visits_on_and_books_nothing_new():
    seed(WEDNESDAY_LATE_MORNING)
    count = Appointment.objects.count()
    seed(WEDNESDAY_LATE_MORNING.replace(hour=16))
    assert Appointment.objects.count() == count
    patients = demo_patients()
    today = WEDNESDAY_LATE_MORNING.date()
    assert todays(patients[INFUSION_TODAY], today).status == AppointmentStatus.COMPLETED
    assert todays(patients[CONSULTATION_TODAY], today).status == AppointmentStatus.COMPLETED


def test_a_weekend_day_gets_a_demo_opening_and_visits():
    seed(SUNDAY)
    today = SUNDAY.date()
    assert ExtraOpening.objects.filter(date=today).exists()
    rows = day_rows(today)
    assert len(rows) >= 3


def test_a_holiday_is_not_closed_on_the_day_the_demo_is_tried():
    new_years_day = dt.datetime(2027, 1, 1, 10, 0, tzinfo=TZ)
    seed(new_years_day)
    assert not Closure.objects.filter(
        start_date__lte=new_years_day.date(), end_date__gte=new_years_day.date()
    )
    assert len(day_rows(new_years_day.date())) >= 3


def test_the_demo_paperwork_goes_through_the_real_gate():
    """The clinic's default requirements are in force in the demo: the story patients signed
    every form and sent their documents (one ID waived by a clinician), so their visits passed
    the gate; a patient with only a consultation booked still has everything to do."""
    from intake.paperwork_models import ConsentForm, ConsentSignature, RequirementWaiver
    from intake.requirements import missing_items

    seed(WEDNESDAY_LATE_MORNING)
    patients = demo_patients()
    today = WEDNESDAY_LATE_MORNING.date()
    forms = ConsentForm.objects.filter(active=True).count()
    for index in (MID_COURSE, COMPLETED, DEFERRED_TODAY, INFUSION_TODAY, CONSULTATION_TODAY):
        assert ConsentSignature.objects.filter(patient=patients[index]).count() == forms
    infusion = [patients[i] for i in (MID_COURSE, COMPLETED, DEFERRED_TODAY, INFUSION_TODAY)]
    missing = missing_items([p.pk for p in infusion], step="first_infusion", today=today)
    assert all(not missing.get(p.pk) for p in infusion)
    assert RequirementWaiver.objects.filter(patient=patients[COMPLETED]).count() == 1
    newcomer = patients[0]
    assert missing_items([newcomer.pk], step="consultation", today=today)[newcomer.pk]
    assert InfusionCourse.objects.get(patient=patients[COMPLETED]).status == CourseStatus.COMPLETED
