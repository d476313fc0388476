"""The crisis path (screening reference §5.3): a positive PHQ-9 item 9 shows the patient crisis
resources first, raises a CrisisAlert with the right priority and emails the on-call list with no
health detail. A negative item 9 shows none of it. The patient never sees flag wording."""

from __future__ import annotations

import datetime as dt
import re
import smtplib

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from intake import tasks
from intake.alerts import crisis_alert_notify
from intake.examples import complete_answers
from intake.models import CrisisAlert, Flag, IntakeSubmission
from intake.screening import intake_submit
from propel.models import AuditEvent
from tests.eager import run_when_queued
from tests.factories import (
    IntakeSubmissionFactory,
)
from tests.patient_links import open_session

pytestmark = pytest.mark.django_db

ON_CALL = ["on-call-a@clinic.example", "on-call-b@clinic.example"]
CRISIS_SENTENCE = (
    "If you are thinking about harming yourself, call or text 988 (Suicide &amp; Crisis "
    "Lifeline; Veterans press 1), or call 911 / go to the nearest emergency department if you "
    "are in immediate danger."
)
# Words that would disclose health information (or the clinic's speciality) in an alert email.
HEALTH_WORDS = re.compile(
    r"ketamine|phq|score|suicid|self-harm|harming|depress|item 9|988|\bdead\b", re.IGNORECASE
)


@pytest.fixture(autouse=True)
def _on_call(settings):
    settings.CLINICIAN_ALERT_EMAILS = ON_CALL


@pytest.fixture
def eager_alerts(monkeypatch):
    """Run the alert task in-process when it is queued (ids only, as Celery would get them)."""
    return run_when_queued(monkeypatch, tasks.send_crisis_alert)


@pytest.fixture
def token(client, patient):
    """The patient's link, opened in `client`: addresses carry its session's marker."""
    return open_session(client, patient)


def send(client, token, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("intake:review", kwargs={"token": token}))
    assert response.status_code == 302
    return client.get(response["Location"])


@pytest.mark.parametrize(("item9", "priority"), [(1, "urgent"), (2, "immediate"), (3, "immediate")])
def test_a_positive_item_9_shows_crisis_resources_first_and_alerts_the_on_call_list(
    client, patient, token, eager_alerts, django_capture_on_commit_callbacks, item9, priority
):
    IntakeSubmissionFactory(patient=patient, complete=True, answers=complete_answers(phq9_9=item9))

    page = send(client, token, django_capture_on_commit_callbacks)

    main = page.text.split('<main id="main"', 1)[1]
    assert CRISIS_SENTENCE in main
    for link in ('href="tel:988"', 'href="sms:988"', 'href="tel:911"'):
        assert link in main
    assert main.index("Help is available right now") < main.index("Thank you")
    assert main.index(CRISIS_SENTENCE) < main.index("Thank you")
    assert "A member of our clinical team will contact you." in main
    assert "Your questionnaire was received on" in main
    assert "A clinician reviews it within 2 business days." in main
    for reassurance in ("all clear", "no action needed", "nothing to worry"):
        assert reassurance not in main.lower()

    alert = CrisisAlert.objects.get(patient=patient)
    assert alert.priority == priority
    assert alert.notified_at is not None
    submission = IntakeSubmission.objects.get(patient=patient)
    assert eager_alerts == [(alert.pk,)]  # the task got an id, nothing else

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ON_CALL
    assert "needs a clinician now" in message.subject
    chart = f"/staff/patients/{submission.patient_id}/chart/"
    assert chart in message.body
    html = message.alternatives[0].content
    for text in (message.subject, message.body, html):
        assert not HEALTH_WORDS.search(text), text
        assert patient.first_name not in text
        assert patient.last_name not in text
    assert patient.first_name not in message.subject
    assert alert.get_priority_display() in message.body
    assert AuditEvent.objects.filter(action="crisis_alert.notified", patient_id=patient.pk).exists()


def test_a_negative_item_9_shows_no_crisis_wording_and_raises_no_alert(
    client, patient, token, eager_alerts, django_capture_on_commit_callbacks
):
    IntakeSubmissionFactory(patient=patient, complete=True, answers=complete_answers(phq9_9=0))

    page = send(client, token, django_capture_on_commit_callbacks)

    main = page.text.split('<main id="main"', 1)[1]
    assert "Thank you. Your answers have been sent." in main
    assert "988" not in main
    assert "911" not in main
    assert "harming yourself" not in main
    assert not CrisisAlert.objects.exists()
    assert eager_alerts == []
    assert mail.outbox == []


def test_the_crisis_page_is_decided_from_the_stored_round_not_the_address(
    client, patient, token, eager_alerts, django_capture_on_commit_callbacks
):
    IntakeSubmissionFactory(patient=patient, complete=True)
    send(client, token, django_capture_on_commit_callbacks)
    address = reverse("intake:submitted", kwargs={"token": token, "round": 1})

    page = client.get(address + "?crisis=1&urgent=1")

    assert "988" not in page.text


def test_the_summary_keeps_showing_crisis_resources_for_a_positive_round(
    client, patient, token, eager_alerts, django_capture_on_commit_callbacks
):
    IntakeSubmissionFactory(patient=patient, complete=True, answers=complete_answers(phq9_9=2))
    send(client, token, django_capture_on_commit_callbacks)

    page = client.get(reverse("intake:summary", kwargs={"token": token, "round": 1}))

    assert CRISIS_SENTENCE in page.text


def test_patient_pages_never_show_flag_wording_or_scores(
    client, patient, token, eager_alerts, django_capture_on_commit_callbacks
):
    answers = complete_answers(
        phq9_9=3,
        phq9_1=3,
        phq9_2=3,
        phq9_difficulty=3,
        bp_diagnosed="yes",
        bp_treated="yes",
        bp_controlled="no",
        kh_nonmedical_ever=1,
        kh_last_use=3,
        takes_medications="yes",
        medications=[{"name": "Oxycodone", "dose": "30", "unit": "mg", "times_per_day": 4}],
    )
    IntakeSubmissionFactory(patient=patient, complete=True, answers=answers)
    pages = [send(client, token, django_capture_on_commit_callbacks).text]
    pages.append(client.get(reverse("intake:summary", kwargs={"token": token, "round": 1})).text)

    titles = list(Flag.objects.values_list("title", flat=True))
    assert len(titles) >= 4
    for page in pages:
        for title in titles:
            assert title not in page
            assert title[:40] not in page
        for word in ("Hard stop", "hard_stop", "Clinician review", "MME", "Severe", "score"):
            assert word not in page


def test_flag_wording_is_not_on_the_questionnaire_pages_either(client, patient, token):
    IntakeSubmissionFactory(patient=patient, complete=True, answers=complete_answers(phq9_9=2))
    review = client.get(reverse("intake:review", kwargs={"token": token})).text

    assert "PHQ-9 item 9 positive" not in review
    assert "988" not in review  # resources follow the send, where they are decided


def test_the_alert_email_is_sent_once(patient):
    submission = IntakeSubmissionFactory(
        patient=patient, complete=True, answers=complete_answers(phq9_9=1)
    )
    intake_submit(submission_id=submission.pk)  # on_commit never runs inside the test transaction
    alert = CrisisAlert.objects.get()

    assert crisis_alert_notify(alert_id=alert.pk) is True
    assert crisis_alert_notify(alert_id=alert.pk) is False

    assert len(mail.outbox) == 1


def test_without_an_on_call_list_the_alert_stays_unsent(patient, settings):
    settings.CLINICIAN_ALERT_EMAILS = []
    submission = IntakeSubmissionFactory(
        patient=patient, complete=True, answers=complete_answers(phq9_9=1)
    )
    intake_submit(submission_id=submission.pk)
    alert = CrisisAlert.objects.get()

    assert crisis_alert_notify(alert_id=alert.pk) is False

    alert.refresh_from_db()
    assert alert.notified_at is None


class FlakyMail:
    """send_email that fails `failures` times with an SMTP error, then works."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, **kwargs) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise smtplib.SMTPServerDisconnected("mail server went away")
        from propel.emails import send_email

        send_email(**kwargs)


@pytest.fixture
def alert(patient):
    submission = IntakeSubmissionFactory(
        patient=patient, complete=True, answers=complete_answers(phq9_9=2)
    )
    intake_submit(submission_id=submission.pk)
    return CrisisAlert.objects.get()


def test_the_task_retries_on_mail_errors_until_it_gets_through(alert, monkeypatch):
    flaky = FlakyMail(failures=2)
    monkeypatch.setattr("intake.alerts.send_email", flaky)

    tasks.send_crisis_alert.apply(args=(alert.pk,))  # eager: retries run in-process

    assert flaky.calls == 3
    alert.refresh_from_db()
    assert alert.notified_at is not None
    assert len(mail.outbox) == 1


def test_when_retries_run_out_the_failure_is_recorded(alert, monkeypatch):
    flaky = FlakyMail(failures=1000)
    monkeypatch.setattr("intake.alerts.send_email", flaky)

    result = tasks.send_crisis_alert.apply(args=(alert.pk,))

    assert result.failed()
    assert flaky.calls == tasks.MAX_RETRIES + 1
    alert.refresh_from_db()
    assert alert.notified_at is None
    assert AuditEvent.objects.filter(
        action="crisis_alert.notify_failed", patient_id=alert.patient_id
    ).exists()


def test_the_back_off_grows_and_is_capped():
    assert [tasks.backoff(n) for n in range(6)] == [30, 60, 120, 240, 480, 600]


def test_a_broker_outage_does_not_break_the_patients_page_and_the_sweep_sends_later(
    client, patient, token, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.send_crisis_alert, "delay", broker_down)
    IntakeSubmissionFactory(patient=patient, complete=True, answers=complete_answers(phq9_9=1))

    page = send(client, token, django_capture_on_commit_callbacks)

    assert page.status_code == 200
    assert CRISIS_SENTENCE in page.text
    alert = CrisisAlert.objects.get()
    assert alert.notified_at is None
    assert mail.outbox == []

    tasks.crisis_alerts_sweep.apply()  # too soon: a queued task may still be on its way
    assert mail.outbox == []
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        tasks.crisis_alerts_sweep.apply()
    assert len(mail.outbox) == 1
    alert.refresh_from_db()
    assert alert.notified_at is not None


def test_beat_runs_the_sweep_every_minute(settings):
    schedules = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedules["intake.tasks.crisis_alerts_sweep"] <= 60
