"""Nonsense, hostile and out-of-range input gives a message beside the field (or a calm 400/404),
never a 500; links that are tampered, expired, revoked or someone else's show nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake.examples import COMPLETE_ANSWERS, complete_answers
from intake.links import patient_link_token, patient_links_revoke
from intake.models import IntakeSubmission
from intake.questions import SECTION_KEYS
from tests.factories import (
    IntakeSubmissionFactory,
    section_post_data,
)
from tests.patient_links import open_link, open_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(client, patient):
    """The patient's link, opened in `client`: addresses carry its session's marker."""
    return open_session(client, patient)


def step(token: str, key: str) -> str:
    return reverse("intake:section", kwargs={"token": token, "section_key": key})


def post(client, token: str, key: str, answers: dict | None = None, **raw: object):
    data = section_post_data(key, answers or COMPLETE_ANSWERS) | raw
    return client.post(step(token, key), data)


def errors_of(response) -> dict[str, str]:
    return {label: message for _anchor, label, message in response.context["error_links"]}


def saved(patient) -> dict:
    submission = IntakeSubmission.objects.filter(patient=patient).first()
    return submission.answers if submission else {}


TODAY = timezone.localdate()


@pytest.mark.parametrize(
    ("key", "answers", "raw", "label", "message"),
    [
        (
            "heart",
            complete_answers(mi_ever="yes"),
            {"mi_on": (TODAY + dt.timedelta(days=1)).isoformat()},
            "When?",
            "This date is in the future. Please check the year.",
        ),
        (
            "heart",
            complete_answers(mi_ever="yes"),
            {"mi_on": "1899-12-31"},
            "When?",
            "Please enter a date after 1900.",
        ),
        (
            "heart",
            complete_answers(mi_ever="yes"),
            {"mi_on": "2023-02-30"},
            "When?",
            "Please enter a real date, for example 03/15/2021.",
        ),
        (
            "heart",
            complete_answers(mi_ever="yes"),
            {"mi_on": "99999-01-01"},
            "When?",
            "Please enter a real date, for example 03/15/2021.",
        ),
        (
            "blood_pressure",
            None,
            {"bp_latest_systolic": "30"},
            "Your most recent reading: top number (systolic)",
            "Please enter a number from 60 to 260.",
        ),
        (
            "blood_pressure",
            None,
            {"bp_latest_diastolic": "300"},
            "Your most recent reading: bottom number (diastolic)",
            "Please enter a number from 30 to 160.",
        ),
        (
            "blood_pressure",
            None,
            {"bp_latest_on": (TODAY + dt.timedelta(days=30)).isoformat()},
            "When was it taken?",
            "This date is in the future. Please check the year.",
        ),
        (
            "about",
            None,
            {"weight_lb": "one hundred and fifty"},
            "Weight in pounds",
            "Please enter a whole number, using digits only.",
        ),
        (
            "about",
            None,
            {"height_ft": "5.5"},
            "Height: feet",
            "Please enter a whole number, using digits only.",
        ),
        (
            "about",
            None,
            {"weight_lb": "9" * 400},
            "Weight in pounds",
            "Please enter a number from 60 to 700.",
        ),
        (
            "about",
            None,
            {"sex": "robot"},
            "Sex assigned at birth",
            "Please choose one of the answers shown.",
        ),
        (
            "about",
            None,
            {"emergency_phone": "12"},
            "Emergency contact: phone",
            "Please enter a phone number we can call, such as (916) 555-0123.",
        ),
        (
            "about",
            None,
            {"emergency_name": "x" * 121},
            "Emergency contact: name",
            "Please shorten this to 120 characters or fewer (it has 121).",
        ),
        (
            "about",
            None,
            {"emergency_name": "Pat\x00"},
            "Emergency contact: name",
            "Null characters are not allowed.",
        ),
        (
            "phq9",
            None,
            {"phq9_9": "7"},
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            "Please choose one of the answers shown.",
        ),
        (
            "phq9",
            None,
            {"phq9_9": "-1"},
            "Thoughts that you would be better off dead or of hurting yourself in some way",
            "Please choose one of the answers shown.",
        ),
        (
            "cancer",
            complete_answers(has_cancer="yes", cancer_type="Lung", metastases="no"),
            {"cancer_treatment": ["chemotherapy", "magic"], "cancer_diagnosed_on": "2020-01-01"},
            "Current treatment (choose all that apply)",
            "Please choose from the answers shown.",
        ),
        (
            "medications",
            complete_answers(takes_medications="yes"),
            {"medications-rows": "3", "medications-0-name": "Aspirin", "medications-0-dose": "ten"},
            "Medicine 1: dose",
            "Please enter the dose as a number, such as 10 or 2.5.",
        ),
    ],
    ids=[
        "future-past-only-date",
        "before-1900",
        "impossible-date",
        "five-digit-year",
        "systolic-30",
        "diastolic-300",
        "future-reading",
        "words-in-number",
        "decimal-in-whole-number",
        "400-digit-number",
        "unknown-option",
        "bad-phone",
        "text-one-too-long",
        "nul-character",
        "item-value-out-of-range",
        "item-negative",
        "unknown-multi-option",
        "letters-in-dose",
    ],
)
def test_bad_input_gets_a_message_beside_the_field(
    client, patient, token, key, answers, raw, label, message
):
    response = post(client, token, key, answers, **raw)

    assert response.status_code == 200
    assert errors_of(response)[label] == message
    assert saved(patient) == {}


def test_a_future_date_is_accepted_where_the_future_makes_sense(client, patient, token):
    answers = complete_answers(
        has_cancer="yes",
        cancer_type="Lung",
        cancer_stage="3",
        cancer_diagnosed_on="2024-03-01",
        cancer_treatment=["chemotherapy"],
        metastases="no",
        next_treatment_on=(TODAY + dt.timedelta(days=10)).isoformat(),
    )

    response = post(client, token, "cancer", answers)

    assert response.status_code == 302
    assert saved(patient)["next_treatment_on"] == answers["next_treatment_on"]


def test_a_us_phone_number_is_stored_in_international_form(client, patient, token):
    response = post(client, token, "about", emergency_phone="(916) 555-0199")

    assert response.status_code == 302
    assert saved(patient)["emergency_phone"] == "+19165550199"


def test_five_megabytes_of_text_gets_a_calm_400_page_not_a_500(client, patient, token):
    post(client, token, "about")  # something saved earlier

    response = post(client, token, "about", emergency_name="x" * (5 * 1024 * 1024))

    assert response.status_code == 400
    assert "That was too much to save at once" in response.text
    assert 'value="Pat Example"' in response.text  # what was saved before is still there
    assert saved(patient)["emergency_name"] == "Pat Example"


def test_five_megabytes_through_the_csrf_check_is_a_400_too(patient, token):
    client = Client(enforce_csrf_checks=True)
    page = client.get(step(token, "about"))
    data = section_post_data("about", COMPLETE_ANSWERS) | {
        "emergency_name": "x" * (5 * 1024 * 1024),
        "csrfmiddlewaretoken": page.context["csrf_token"],
    }

    response = client.post(step(token, "about"), data)

    assert response.status_code == 400
    assert "We could not read that" in response.text  # templates/400.html, not a bare error


def test_an_unknown_step_is_404(client, token):
    assert client.get(step(token, "nonsense")).status_code == 404
    assert client.post(step(token, "nonsense"), {}).status_code == 404


def test_an_empty_post_gets_messages_not_an_error(client, token):
    for key in SECTION_KEYS:
        response = client.post(step(token, key), {})
        assert response.status_code in {200, 302}, key


def test_other_methods_are_refused(client, token):
    assert client.put(step(token, "about")).status_code == 405
    assert client.delete(reverse("intake:start", kwargs={"token": token})).status_code == 405


# --- Links ----------------------------------------------------------------------------------------


def every_url(token: str, round_: int = 1) -> list[str]:
    kwargs = {"token": token}
    return [
        reverse("intake:start", kwargs=kwargs),
        reverse("intake:section", kwargs={**kwargs, "section_key": "about"}),
        reverse("intake:review", kwargs=kwargs),
        reverse("intake:submitted", kwargs={**kwargs, "round": round_}),
        reverse("intake:summary", kwargs={**kwargs, "round": round_}),
    ]


@pytest.fixture
def sent_round(patient):
    return IntakeSubmissionFactory(
        patient=patient,
        complete=True,
        status="submitted",
        submitted_at=timezone.now(),
    )


@pytest.fixture
def link(patient):
    return patient_link_token(patient)


def assert_all_refused(client, token: str, status: int = 404) -> None:
    for address in every_url(token):
        response = client.get(address)
        assert response.status_code == status, address
        assert "Testy" not in response.text
        assert "Pat Example" not in response.text
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]
        assert response["Referrer-Policy"] == "same-origin"
    response = client.post(every_url(token)[1], section_post_data("about", COMPLETE_ANSWERS))
    assert response.status_code == status


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.replace("eyJ", "eyK", 1),
        lambda t: "garbage",
        lambda t: t + ":extra",
    ],
    ids=["signature", "payload", "garbage", "extra-part"],
)
def test_a_tampered_link_is_404(client, sent_round, link, mangle):
    assert_all_refused(client, mangle(link))


def test_an_expired_link_is_410(client, sent_round, link, settings):
    with time_machine.travel(
        timezone.now() + settings.PATIENT_LINK_MAX_AGE + dt.timedelta(minutes=1), tick=False
    ):
        assert_all_refused(client, link, 410)


def test_a_revoked_link_is_410(client, patient, sent_round, link):
    patient_links_revoke(patient_id=patient.pk)
    assert_all_refused(client, link, 410)


def test_a_link_shows_only_its_own_patients_answers(client, patient, other_patient, sent_round):
    other_token = patient_link_token(other_patient)

    # no round 1 of their own
    assert open_link(client, every_url(other_token)[4]).status_code == 404
    client.get(reverse("intake:start", kwargs={"token": "me"}))
    client.post(
        step("me", "about"),
        section_post_data("about", complete_answers(emergency_name="Other Contact")),
    )

    mine = open_link(client, every_url(patient_link_token(patient))[4])
    assert "Pat Example" in mine.text
    assert "Other Contact" not in mine.text
    assert sent_round.answers == IntakeSubmission.objects.get(pk=sent_round.pk).answers
