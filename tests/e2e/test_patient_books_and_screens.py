"""A patient on a phone, in a real browser: books a consultation from the landing page (confirmed
from the link in the email the outbox sends), answers
every questionnaire step (the low-risk answers) and sends them; and the same booking made with
the keyboard alone. Mirrors tests/journeys/test_patient_to_clinician.py, which goes through the
test client."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from intake.examples import complete_answers
from intake.links import patient_link_token
from intake.models import IntakeSubmission
from intake.questions import SECTION_KEYS
from scheduling.models import Appointment, BookedVia
from tests.factories import (
    PatientFactory,
    consult_clinic,
    section_post_data,
)
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DETAILS = {
    "first_name": "Jules",
    "last_name": "Example",
    "date_of_birth": "03/27/1980",
    "email": "jules@example.test",
    "mobile": "(916) 555-0144",
}


@pytest.fixture(autouse=True)
def clinic(settings):
    settings.CLINICIAN_ALERT_EMAILS = ["on-call@clinic.example"]
    consult_clinic()


def confirm_path_from_email() -> str:
    """What the beat sweep does next (send the outbox), then the confirmation link from the
    email it sent, as a path on the live server."""
    deliver_due_reminders()
    (message,) = [m for m in mail.outbox if "/book/confirm/" in m.body]
    assert message.to == [DETAILS["email"]]
    return re.search(r"https?://[^/\s]+(/book/confirm/[^/\s]+/)", message.body)[1]


def fill_step(page: Page, data: dict) -> None:
    """Answer one questionnaire step the way a person would: radios and checkboxes by value,
    text inputs by name."""
    for name, value in data.items():
        fields = page.locator(f'[name="{name}"]')
        kind = fields.first.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
        if kind == "radio":
            page.locator(f'input[name="{name}"][value="{value}"]').check()
        elif kind == "checkbox":
            for one in value if isinstance(value, list) else [value]:
                box = fields if one == "on" else page.locator(f'[name="{name}"][value="{one}"]')
                box.first.check()
        elif kind == "select":
            fields.first.select_option(str(value))
        else:
            fields.first.fill(str(value))


def test_a_patient_books_and_sends_the_questionnaire_on_a_phone(live_server, phone_page: Page):
    page = phone_page
    page.goto("/")
    page.get_by_role("link", name="Book a consultation").first.click()
    expect(page.get_by_role("heading", name="Book a consultation", level=1)).to_be_visible()

    page.locator('button[name="start"]').first.click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    for name, value in DETAILS.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.locator('[name="consent_email"]').check()
    page.get_by_role("button", name="Book this consultation").click()
    expect(page.get_by_role("heading", name="Check your email to confirm")).to_be_visible()
    assert not Appointment.objects.exists()

    page.goto(confirm_path_from_email())
    page.get_by_role("button", name="Confirm my booking").click()
    start = page.get_by_role("link", name="Start your health questionnaire")
    expect(start).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.booked_via == BookedVia.ONLINE
    assert appointment.patient.email == "jules@example.test"

    start.click()
    answers = complete_answers()
    for number, section_key in enumerate(SECTION_KEYS, start=1):
        expect(page.get_by_text(f"Step {number} of {len(SECTION_KEYS)}")).to_be_visible()
        fill_step(page, section_post_data(section_key, answers))
        page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(re.compile(r"/intake/review/$"))
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(re.compile(r"/intake/sent/1/$"))
    expect(page.get_by_text(re.compile("thank", re.IGNORECASE)).first).to_be_visible()

    submission = IntakeSubmission.objects.get(patient=appointment.patient)
    assert submission.is_submitted
    assert submission.round == 1
    assert not submission.flags.exists()


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (fails after `limit` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_patient_books_with_the_keyboard_alone(live_server, phone_page: Page):
    page = phone_page
    page.goto("/book/")
    tab_to(page, 'button[name="start"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()

    for name, value in DETAILS.items():
        tab_to(page, f'[name="{name}"]')
        page.keyboard.type(value)
    # Email reminders start ticked; texts need the patient's own tick.
    tab_to(page, '[name="consent_sms"]')
    page.keyboard.press("Space")
    tab_to(page, 'main button[type="submit"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check your email to confirm")).to_be_visible()

    page.goto(confirm_path_from_email())
    tab_to(page, 'main button[type="submit"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Start your health questionnaire")).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.patient.first_name == "Jules"
    assert appointment.patient.consent_email is True
    assert appointment.patient.consent_sms is True


def test_a_questionnaire_step_can_be_answered_with_the_keyboard_alone(
    live_server, phone_page: Page
):
    patient = PatientFactory()
    token = patient_link_token(patient)
    page = phone_page
    page.goto(f"/p/{token}/intake/")  # opens the patient's draft round
    page.goto(f"/p/{token}/intake/phq9/")
    for number in range(1, 10):
        # Tab enters each radio group; Space picks its first answer ("Not at all").
        tab_to(page, f'input[name="phq9_{number}"]')
        page.keyboard.press("Space")
    tab_to(page, 'main [type="submit"]')
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/intake/phq9/" not in url)
    answers = IntakeSubmission.objects.get(patient=patient).answers
    assert [answers[f"phq9_{n}"] for n in range(1, 10)] == [0] * 9
