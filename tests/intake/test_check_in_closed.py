"""The check-in pages outside the round's window (intake.check_in_window): a calm page, nothing
saved, and crisis resources never hidden behind it. The gate is scheduling's in life
(tests/scheduling/test_check_in_window.py); here a stand-in closes every round."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from intake.check_in_window import set_check_in_gate
from intake.examples import complete_check_in_answers
from intake.links import patient_link_token
from intake.models import CrisisAlert, IntakeSubmission
from intake.questions import CHECK_IN
from intake.screening import intake_submit
from tests.factories import CheckInSubmissionFactory, section_post_data

pytestmark = pytest.mark.django_db

CLOSED = "Your check-in opens on Tuesday, March 9 at 10:00 AM, 48 hours before your visit."
CRISIS_SENTENCE = "call or text 988 (Suicide &amp; Crisis Lifeline; Veterans press 1)"
CONTACT_PROMISE = "A member of our clinical team will contact you."


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

    response = client.get(url(patient, check_in, name, **kwargs))

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
        response = client.get(url(patient, check_in, name, **kwargs))
        assert response.status_code == 200
        page = response.text
        assert page.index(CRISIS_SENTENCE) < page.index(CLOSED)
        assert CONTACT_PROMISE in page
    # And the crisis page itself is never behind the window.
    assert client.get(url(patient, check_in, "crisis")).status_code == 200


def test_a_refused_step_with_a_positive_item_9_shows_crisis_resources_without_a_promise(
    client, patient, closed_gate
):
    check_in = CheckInSubmissionFactory(patient=patient)

    response = client.post(url(patient, check_in, "section", section_key="phq9"), phq9_post(2))

    assert response.status_code == 200
    assert CRISIS_SENTENCE in response.text
    # Not saved, so no alert and no clinician told: the page does not say one will call.
    assert CONTACT_PROMISE not in response.text
    assert not CrisisAlert.objects.exists()


def test_a_sent_round_is_not_behind_the_window(client, patient, closed_gate):
    check_in = CheckInSubmissionFactory(patient=patient, complete=True)
    intake_submit(submission_id=check_in.pk)

    response = client.get(url(patient, check_in, "start"))

    assert response.status_code == 302
    assert response["Location"] == url(patient, check_in, "summary")


def test_with_the_window_open_a_positive_item_9_goes_to_the_crisis_page_first(client, patient):
    check_in = CheckInSubmissionFactory(patient=patient)

    response = client.post(url(patient, check_in, "section", section_key="phq9"), phq9_post(1))

    assert response.status_code == 302
    assert response["Location"] == url(patient, check_in, "crisis")
