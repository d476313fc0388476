"""The whole patient journey through the real pages, as a phone would make it: landing page, a
consultation asked for from real availability and confirmed from the emailed link, the
confirmation email, every questionnaire step,
the crisis screen for a self-harm answer, and the flags in front of a clinician (and not in front
of the front desk)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from intake.examples import complete_answers
from intake.models import CrisisAlert, IntakeSubmission
from intake.questions import SECTION_KEYS
from scheduling.models import Appointment, BookedVia
from tests.clinic_time import at
from tests.eager import eager_tasks
from tests.factories import (
    consult_clinic,
    section_post_data,
)
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon
PHONE = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}


@pytest.fixture(autouse=True)
def clinic(settings):
    settings.CLINICIAN_ALERT_EMAILS = ["on-call@clinic.example"]
    consult_clinic()
    with eager_tasks(propagate=False), time_machine.travel(NOW, tick=False):
        yield


def follow(client: Client, response) -> tuple[str, object]:
    """Follow a redirect; one to a patient's link also follows the link's swap of its token for a
    session (intake.link_pages), as a browser does."""
    assert response.status_code == 302, response.content.decode()[:300]
    location = response["Location"]
    page = client.get(location, **PHONE)
    if page.status_code == 302 and "/me/" in page["Location"] and "/me/" not in location:
        location = page["Location"]
        page = client.get(location, **PHONE)
    return location, page


def test_a_patient_books_screens_and_a_clinician_sees_the_flags(
    client_for, clinician_user, front_desk, django_capture_on_commit_callbacks
):
    patient_client = Client()
    landing = patient_client.get("/", **PHONE)
    assert reverse("scheduling:book") in landing.content.decode()

    picker = patient_client.get(reverse("scheduling:book"), **PHONE)
    first_start = re.search(r'name="start" value="([^"]+)"', picker.content.decode())[1]
    details_url, details = follow(
        patient_client, patient_client.post(reverse("scheduling:book_hold"), {"start": first_start})
    )
    assert details.status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        booked = patient_client.post(
            details_url,
            {
                "first_name": "Jules",
                "last_name": "Example",
                "date_of_birth": "03/27/1980",
                "email": "jules@example.test",
                "mobile": "(916) 555-0144",
                "consent_email": "on",
            },
        )
    _, check_email = follow(patient_client, booked)
    assert "Check your email to confirm" in check_email.content.decode()
    assert not Appointment.objects.exists()
    deliver_due_reminders()  # the beat sweep: the email with the confirmation link
    (request_email,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/book/confirm/[^/\s]+/)", request_email.body)[1]
    _, confirm_page = follow(patient_client, patient_client.get(link, **PHONE))
    assert "Confirm my booking" in confirm_page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = patient_client.post(reverse("scheduling:book_confirm"), **PHONE)
    _, confirmation = follow(patient_client, confirmed)
    appointment = Appointment.objects.get()
    deliver_due_reminders()  # the confirmation is a reminder row due at once
    assert appointment.booked_via == BookedVia.ONLINE
    assert [message.to for message in mail.outbox] == [["jules@example.test"]] * 2
    assert mail.outbox[1].attachments, "the confirmation carries an .ics"

    start_url = re.search(r'href="(/p/[^"]+/intake/)"', confirmation.content.decode())[1]
    step_url, step = follow(patient_client, patient_client.get(start_url))
    answers = complete_answers(phq9_9=2, phq9_2=2, phq9_difficulty=1)
    for number, section_key in enumerate(SECTION_KEYS, start=1):
        assert step.status_code == 200
        assert f"Step {number} of {len(SECTION_KEYS)}" in step.content.decode()
        with django_capture_on_commit_callbacks(execute=True):  # the alert goes at the save
            step_url, step = follow(
                patient_client,
                patient_client.post(step_url, section_post_data(section_key, answers)),
            )
        if section_key == "phq9":
            # Item 9 above 0: the crisis resources come first, the moment the step is saved,
            # and the clinician alert is raised already (issue 14).
            page = step.content.decode()
            assert "988" in page and "911" in page
            assert CrisisAlert.objects.filter(priority="immediate").exists()
            continue_url = re.search(r'href="([^"]+)">Continue with the questionnaire', page)[1]
            step_url, step = continue_url, patient_client.get(continue_url)
    assert "review" in step_url
    with django_capture_on_commit_callbacks(execute=True):
        _, done = follow(patient_client, patient_client.post(step_url, {}))
    page = done.content.decode()
    assert page.index("988") < page.lower().index("thank")
    assert "all clear" not in page.lower()

    submission = IntakeSubmission.objects.get()
    assert submission.is_submitted
    alert = CrisisAlert.objects.get()
    assert alert.priority == "immediate" and alert.notified_at is not None
    assert mail.outbox[-1].to == ["on-call@clinic.example"]

    chart_url = reverse("intake:chart", args=[submission.patient_id])
    queue = client_for(clinician_user).get(reverse("intake:review_queue"))
    assert chart_url in queue.content.decode()
    chart = client_for(clinician_user).get(chart_url).content.decode()
    assert "phq9_item9_positive" in chart or "PHQ-9 item 9" in chart
    assert client_for(front_desk).get(chart_url).status_code == 403
