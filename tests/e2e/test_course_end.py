"""Ending a course early in the browser: the front desk picks "Other" without a note and is asked
for one, then ends the course with a note; a clinician sees the reason, the note and the outcome
measures over the course."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from scheduling.models import AppointmentStatus, CourseStatus, InfusionCourse
from scheduling.slots import clinic_tz
from tests.e2e.conftest import give_backup_code, sign_in
from tests.factories import (
    TEST_PASSWORD,
    AppointmentFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    UserFactory,
    infusion_clinic,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def session_at(days: int) -> dt.datetime:
    day = timezone.now().astimezone(clinic_tz()).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(10), tzinfo=clinic_tz())


def test_the_front_desk_ends_a_course_early_and_a_clinician_reads_why(
    live_server, browser, desktop_page: Page
):
    clinic = infusion_clinic(room_name="Infusion 1", clinician_name="Dr Course")
    patient = PatientFactory(first_name="Casey", last_name="Course")
    course = InfusionCourse.objects.create(patient=patient, planned_sessions=5, span_weeks=5)
    for days, status in [(-14, "completed"), (-7, "completed"), (7, "booked"), (14, "booked")]:
        AppointmentFactory(
            patient=patient,
            appointment_type=clinic.infusion,
            room=clinic.room,
            clinician=clinic.clinician,
            start=session_at(days),
            status=status,
            course=course,
        )
    for number, (days, phq9) in enumerate([(-15, 22), (-7, 12)], start=1):
        IntakeSubmissionFactory(
            patient=patient,
            kind="screening" if number == 1 else "check_in",
            round=number,
            status="submitted",
            submitted_at=session_at(days) - dt.timedelta(hours=1),
            scores={"phq9": {"total": phq9, "band": "x", "missing": []}},
        )
    desk = UserFactory(username="frontdesk", front_desk=True)
    page = desktop_page
    sign_in(page, "frontdesk", TEST_PASSWORD, give_backup_code(desk))
    page.goto(f"/staff/courses/{course.pk}/")
    expect(page.locator("#progress-done")).to_have_text("2")
    expect(page.locator("#progress-remaining")).to_have_text("2")
    expect(page.locator("#outcomes")).to_have_count(0)

    page.get_by_label("Why is the course ending?").select_option("other")
    page.get_by_role("button", name="End the course").click()
    expect(page.get_by_text("Say in a few words why the course is ending")).to_be_visible()
    course.refresh_from_db()
    assert course.status == CourseStatus.ACTIVE

    page.get_by_label("Note").fill("Starting a trial elsewhere")
    page.get_by_role("button", name="End the course").click()
    expect(page.locator("#course-status")).to_have_text("Ended early")
    expect(page.locator("#course-end")).to_contain_text("Other")
    course.refresh_from_db()
    assert course.status == CourseStatus.ENDED_EARLY and course.ended_by == desk
    assert course.sessions.filter(status=AppointmentStatus.CANCELLED).count() == 2

    clinician = UserFactory(username="clinician", clinician=True)
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    clinical = context.new_page()
    sign_in(clinical, "clinician", TEST_PASSWORD, give_backup_code(clinician))
    clinical.goto(f"/staff/courses/{course.pk}/")
    expect(clinical.locator("#course-end-note")).to_contain_text("Starting a trial elsewhere")
    expect(clinical.locator("#outcomes svg").first).to_be_visible()
    expect(clinical.locator("#outcomes [data-score]").first).to_have_text("22")
    context.close()
