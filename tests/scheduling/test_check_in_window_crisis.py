"""Patient safety wins over the check-in window (issue 14 §4): a step posted to a round opened
earlier, before its window (scheduling.check_ins.check_in_gate), is refused and not stored,
but a positive PHQ-9 item 9 on it still raises the round's crisis alert and queues the on-call
text, and the calm page puts 988 and 911 first."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from intake.examples import complete_check_in_answers
from intake.models import (
    AlertPriority,
    CrisisAlert,
    CrisisNotification,
    NotificationChannel,
    NotificationState,
    OnCallClinician,
)
from intake.questions import CHECK_IN
from scheduling.check_ins import check_in_open
from scheduling.models import Appointment
from tests.clinic_time import at
from tests.factories import (
    AppointmentFactory,
    UserFactory,
    check_in_step_url,
    section_post_data,
)

pytestmark = pytest.mark.django_db

VISIT = at(dt.date(2027, 3, 11), 10)  # Thursday, March 11, 10:00 a.m. in Sacramento
CLOSED = "Your check-in opens on Tue, Mar 9, 2027 at 10:00 a.m., 48 hours before your visit."
CRISIS_SENTENCE = "call or text 988 (Suicide &amp; Crisis Lifeline; Veterans press 1)"
CONTACT_PROMISE = "A member of our clinical team will contact you."
ON_CALL = "+19165550101"


@pytest.fixture
def appointment(patient) -> Appointment:
    return AppointmentFactory(
        patient=patient,
        infusion=True,
        start=VISIT,
    )


@pytest.fixture
def on_call(db) -> OnCallClinician:
    return OnCallClinician.objects.create(user=UserFactory(clinician=True), mobile=ON_CALL, order=0)


def post_phq9_at_60_hours(client, patient, appointment, settings, item9: int):
    settings.CHECK_IN_OPENS_HOURS = 72  # opened earlier, under a wider window
    submission = check_in_open(appointment_id=appointment.pk, now=VISIT - dt.timedelta(hours=70))
    settings.CHECK_IN_OPENS_HOURS = 48
    data = section_post_data("phq9", complete_check_in_answers(phq9_9=item9), CHECK_IN)
    with time_machine.travel(VISIT - dt.timedelta(hours=60), tick=False):
        response = client.post(check_in_step_url(patient, submission, "phq9"), data)
    submission.refresh_from_db()
    return submission, response


def test_a_refused_step_with_item_9_of_2_raises_an_immediate_alert_and_queues_the_text(
    client, patient, appointment, settings, on_call
):
    submission, response = post_phq9_at_60_hours(client, patient, appointment, settings, 2)

    assert response.status_code == 200
    page = response.text
    assert CLOSED in page
    assert page.index(CRISIS_SENTENCE) < page.index(CLOSED)
    assert page.index('href="tel:911"') < page.index(CLOSED)
    assert CONTACT_PROMISE in page
    assert "The answers on this page were not saved." in page
    assert submission.answers == {}
    alert = CrisisAlert.objects.get(submission=submission)
    assert alert.priority == AlertPriority.IMMEDIATE
    text = CrisisNotification.objects.get(alert=alert, step=0, channel=NotificationChannel.SMS)
    assert text.to == ON_CALL
    assert text.user == on_call.user
    assert text.state == NotificationState.PENDING
    # Monday 10 PM in Sacramento: the clinic is closed, so the call is queued for its opening.
    assert text.due_at == alert.call_due_at == at(dt.date(2027, 3, 9), 9)


def test_a_refused_step_with_item_9_of_0_alerts_nobody(
    client, patient, appointment, settings, on_call
):
    submission, response = post_phq9_at_60_hours(client, patient, appointment, settings, 0)

    assert response.status_code == 200
    assert CLOSED in response.text
    assert CRISIS_SENTENCE not in response.text
    assert not CrisisAlert.objects.exists()
    assert not CrisisNotification.objects.exists()
    assert submission.answers == {}
