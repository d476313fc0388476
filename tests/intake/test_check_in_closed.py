"""The check-in pages outside the round's window (intake.check_in_window): a calm page, nothing
saved, and crisis resources never hidden behind it; a refused step with a positive PHQ-9 item 9
still alerts a clinician. The gate is scheduling's in life
(tests/scheduling/test_check_in_window.py); here a stand-in closes every round."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.urls import reverse

from intake.check_in_window import set_check_in_gate
from intake.examples import complete_check_in_answers
from intake.links import patient_link_token
from intake.models import CrisisAlert, Flag, IntakeSubmission
from intake.questions import CHECK_IN, section_keys
from intake.screening import intake_submit
from propel.models import AuditEvent
from tests.factories import CheckInSubmissionFactory, section_post_data
from tests.patient_links import open_link

pytestmark = pytest.mark.django_db

CLOSED = "Your check-in opens on Tuesday, March 9 at 10:00 AM, 48 hours before your visit."
CRISIS_SENTENCE = "call or text 988 (Suicide &amp; Crisis Lifeline; Veterans press 1)"
CONTACT_PROMISE = "A member of our clinical team will contact you."


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    """A stopped clock: a test compares two patient links it signs, which must be the same link
    (a link carries its signing second, so a running clock made them differ now and then)."""
    with time_machine.travel(dt.datetime(2027, 3, 1, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def closed_gate() -> Iterator[None]:
    previous = set_check_in_gate(lambda submission_id, now: CLOSED)
    try:
        yield
    finally:
        set_check_in_gate(previous)


def url(patient, submission: IntakeSubmission, name: str, **kwargs) -> str:
    kwargs = {"token": patient_link_token(patient), "round": submission.round, **kwargs}
    return reverse(f"intake:check_in_{name}", kwargs=kwargs)


def me_url(submission: IntakeSubmission, name: str, **kwargs) -> str:
    """A page's address once the link has been swapped for a session (intake.link_pages)."""
    kwargs = {"token": "me", "round": submission.round, **kwargs}
    return reverse(f"intake:check_in_{name}", kwargs=kwargs)


def phq9_post(item9: int) -> dict:
    return section_post_data("phq9", complete_check_in_answers(phq9_9=item9), CHECK_IN)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("start", {}), ("section", {"section_key": "phq9"}), ("review", {})],
)
def test_every_check_in_page_of_a_closed_round_says_when_it_opens(
    client, patient, closed_gate, name, kwargs
):
    check_in = CheckInSubmissionFactory(patient=patient)

    response = open_link(client, url(patient, check_in, name, **kwargs))

    assert response.status_code == 200
    assert CLOSED in response.text
    assert CRISIS_SENTENCE not in response.text
    assert "no-store" in response["Cache-Control"]


def test_a_step_posted_to_a_closed_round_saves_nothing(client, patient, closed_gate):
    check_in = CheckInSubmissionFactory(patient=patient)

    response = client.post(url(patient, check_in, "section", section_key="phq9"), phq9_post(0))

    assert response.status_code == 200
    assert CLOSED in response.text
    assert "The answers on this page were not saved." in response.text
    check_in.refresh_from_db()
    assert check_in.answers == {}
    assert check_in.completed_sections == []


def test_sending_a_closed_round_is_refused(client, patient, closed_gate):
    check_in = CheckInSubmissionFactory(patient=patient, complete=True)

    response = client.post(url(patient, check_in, "review"))

    assert response.status_code == 200
    assert CLOSED in response.text
    check_in.refresh_from_db()
    assert not check_in.is_submitted


def test_a_closed_round_with_a_positive_item_9_still_shows_crisis_resources(
    client, patient, closed_gate
):
    check_in = CheckInSubmissionFactory(patient=patient, answers={"phq9_9": 1})

    for name, kwargs in (("start", {}), ("review", {}), ("section", {"section_key": "phq9"})):
        response = open_link(client, url(patient, check_in, name, **kwargs))
        assert response.status_code == 200
        page = response.text
        assert page.index(CRISIS_SENTENCE) < page.index(CLOSED)
        assert CONTACT_PROMISE in page
    # And the crisis page itself is never behind the window.
    assert open_link(client, url(patient, check_in, "crisis")).status_code == 200


@pytest.mark.parametrize(("item9", "priority"), [(1, "urgent"), (2, "immediate"), (3, "immediate")])
def test_a_refused_step_with_a_positive_item_9_still_alerts_a_clinician(
    client, patient, closed_gate, item9, priority
):
    # Patient safety wins over the window (issue 14 §4): the step is not stored, the alert is.
    check_in = CheckInSubmissionFactory(patient=patient)

    response = client.post(url(patient, check_in, "section", section_key="phq9"), phq9_post(item9))

    assert response.status_code == 200
    page = response.text
    assert page.index(CRISIS_SENTENCE) < page.index(CLOSED)
    assert CONTACT_PROMISE in page
    alert = CrisisAlert.objects.get(submission=check_in)
    assert alert.priority == priority
    assert Flag.objects.filter(submission=check_in, rule_id="phq9_item9_positive").exists()
    check_in.refresh_from_db()
    assert check_in.answers == {}
    assert check_in.completed_sections == []
    assert AuditEvent.objects.filter(action="intake.crisis_answer_not_saved").count() == 1


def test_a_second_refused_step_raises_the_priority_and_never_a_second_alert(
    client, patient, closed_gate
):
    check_in = CheckInSubmissionFactory(patient=patient)
    step = url(patient, check_in, "section", section_key="phq9")

    client.post(step, phq9_post(1))
    client.post(step, phq9_post(3))
    client.post(step, phq9_post(0))

    alert = CrisisAlert.objects.get(submission=check_in)
    assert alert.priority == "immediate"


@pytest.mark.parametrize("posted", ["0", "4", "-1", "2.0", "two", ""])
def test_a_refused_step_without_a_valid_positive_item_9_alerts_nobody(
    client, patient, closed_gate, posted
):
    check_in = CheckInSubmissionFactory(patient=patient)
    data = {**phq9_post(0), "phq9_9": posted}

    response = client.post(url(patient, check_in, "section", section_key="phq9"), data)

    assert response.status_code == 200
    assert CRISIS_SENTENCE not in response.text
    assert not CrisisAlert.objects.exists()


def test_item_9_posted_to_another_step_is_not_read(client, patient, closed_gate):
    check_in = CheckInSubmissionFactory(patient=patient)
    other = next(key for key in section_keys(CHECK_IN) if key != "phq9")

    client.post(url(patient, check_in, "section", section_key=other), {"phq9_9": "3"})
    client.post(url(patient, check_in, "review"), {"phq9_9": "3"})

    assert not CrisisAlert.objects.exists()


def test_a_sent_round_is_not_behind_the_window(client, patient, closed_gate):
    check_in = CheckInSubmissionFactory(patient=patient, complete=True)
    intake_submit(submission_id=check_in.pk)

    response = open_link(client, url(patient, check_in, "start"))

    assert response.status_code == 302
    assert response["Location"] == me_url(check_in, "summary")


def test_with_the_window_open_a_positive_item_9_goes_to_the_crisis_page_first(client, patient):
    check_in = CheckInSubmissionFactory(patient=patient)

    response = client.post(url(patient, check_in, "section", section_key="phq9"), phq9_post(1))

    assert response.status_code == 302
    assert response["Location"] == me_url(check_in, "crisis")
