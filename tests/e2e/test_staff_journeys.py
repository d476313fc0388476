"""Staff and patient journeys on a desktop browser: a clinician signs in (password and a backup
code), works through the review queue and clears a patient; the front desk books a six-infusion
course from the course planner and moves a session; a patient cancels a consultation from the
link in their emails."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from intake.links import patient_link_token
from intake.models import ClearanceDecision, Flag
from propel.formatting import local_time
from scheduling.courses.forms import to_local_input
from scheduling.models import Appointment, AppointmentStatus, InfusionCourse, RoomKind
from scheduling.slots import clinic_tz
from tests.clinic_time import at
from tests.e2e.conftest import give_backup_code, sign_in
from tests.factories import (
    TEST_PASSWORD,
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    FlagFactory,
    PatientFactory,
    RoomFactory,
    SubmittedScreeningFactory,
    UserFactory,
    infusion_type,
    open_weekdays,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def clinic_today() -> dt.date:
    return timezone.now().astimezone(clinic_tz()).date()


def next_monday(after_days: int = 3) -> dt.date:
    day = clinic_today() + dt.timedelta(days=after_days)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def test_a_clinician_acknowledges_the_flag_and_clears_the_patient(live_server, desktop_page: Page):
    clinician = UserFactory(username="clinician", clinician=True)
    code = give_backup_code(clinician)
    submission = SubmittedScreeningFactory(
        patient=PatientFactory(first_name="Robin", last_name="Flagged"),
        submitted_at=timezone.now() - dt.timedelta(hours=2),
    )
    flag = FlagFactory(submission=submission, title="Blood pressure needs a second look")

    page = desktop_page
    sign_in(page, "clinician", TEST_PASSWORD, code)
    page.goto("/staff/review/")
    page.get_by_role("link", name="Robin Flagged").first.click()
    page.wait_for_url(re.compile(r"/chart/$"))

    card = page.locator(f"#flag-{flag.pk}")
    expect(card.get_by_text("Not acknowledged yet.")).to_be_visible()
    card.locator("textarea").fill("Checked with the patient: controlled on treatment.")
    card.get_by_role("button", name=re.compile("^Acknowledge")).click()
    expect(page.locator(f"#flag-{flag.pk} .acknowledgements")).to_contain_text("Acknowledged by")
    assert Flag.objects.get(pk=flag.pk).acknowledgements.count() == 1

    decide = page.locator("#decide")
    decide.locator('input[name="kind"][value="cleared"]').check()
    decide.get_by_role("button", name="Record decision").click()
    expect(page.locator("#decide")).to_contain_text("Cleared until")
    decision = ClearanceDecision.objects.get(patient=submission.patient)
    assert decision.kind == "cleared"
    assert decision.decided_by == clinician


def test_the_front_desk_books_a_course_and_moves_a_session(live_server, desktop_page: Page):
    open_weekdays()
    infusion_type()
    AppointmentTypeFactory(maintenance=True)
    RoomFactory(name="Infusion 1", kind=RoomKind.INFUSION)
    ClinicianFactory(display_name="Dr Course")
    patient = PatientFactory(
        first_name="Casey", last_name="Cleared", cleared=clinic_today() + dt.timedelta(days=180)
    )
    desk = UserFactory(username="frontdesk", front_desk=True)
    code = give_backup_code(desk)

    page = desktop_page
    sign_in(page, "frontdesk", TEST_PASSWORD, code)
    page.goto(f"/staff/patients/{patient.pk}/course/new/")
    page.locator('[name="sessions"]').fill("6")
    page.locator('[name="weeks"]').fill("6")
    page.locator('[name="window_from"]').fill("09:00")
    page.locator('[name="window_to"]').fill("12:00")
    page.locator('[name="start_date"]').fill(next_monday().isoformat())
    page.get_by_role("button", name="Propose dates").click()
    book = page.locator('button[name="action"][value="book"]:not(.visually-hidden)')
    expect(book).to_be_visible()
    book.click()

    page.wait_for_url(re.compile(r"/staff/courses/\d+/$"))
    course = InfusionCourse.objects.get(patient=patient)
    sessions = list(
        Appointment.objects.filter(patient=patient, status=AppointmentStatus.BOOKED).order_by(
            "start"
        )
    )
    assert len(sessions) == 6
    expect(page.locator("tbody tr[id^=session-]")).to_have_count(6)

    first = sessions[0]
    new_start = first.start + dt.timedelta(hours=1)
    row = page.locator(f"#session-{first.pk}")
    row.locator('input[name="new_start"]').fill(to_local_input(new_start))
    row.get_by_role("button", name="Move").click()
    expect(page.locator(f"#session-{first.pk}")).to_contain_text(local_time(new_start))
    first.refresh_from_db()
    assert first.start == new_start
    assert course.pk == InfusionCourse.objects.get(patient=patient).pk


def test_a_patient_cancels_a_consultation_from_their_link(live_server, desktop_page: Page):
    open_weekdays()
    patient = PatientFactory(first_name="Alex", last_name="Cancels")
    day = next_monday() + dt.timedelta(days=1)  # a Tuesday at least four days away
    appointment = AppointmentFactory(
        patient=patient, start=at(day, 10), room=RoomFactory(name="Consult A")
    )

    page = desktop_page
    page.goto(f"/p/{patient_link_token(patient)}/")
    page.get_by_role("link", name="Cancel this appointment").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    page.wait_for_url(re.compile(r"/p/[^/]+/$"))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
