"""The patient's questionnaire, step by step: order, progress, saving, resuming, conditions."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from intake.answers import effective_answers
from intake.examples import COMPLETE_ANSWERS, complete_answers
from intake.links import patient_link_token
from intake.models import IntakeSubmission, SubmissionStatus
from intake.questions import MAX_MEDICATIONS, SECTION_KEYS
from intake.screening import submission_open
from propel.models import AuditEvent
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


def url(name: str, token: str, **kwargs) -> str:
    return reverse(f"intake:{name}", kwargs={"token": token, **kwargs})


def step(token: str, key: str) -> str:
    return url("section", token, section_key=key)


def draft(patient) -> IntakeSubmission:
    return IntakeSubmission.objects.get(patient=patient, status=SubmissionStatus.DRAFT)


def test_start_opens_round_one_and_goes_to_the_first_step(client, patient, token):
    response = client.get(url("start", token))

    assert response.status_code == 302
    assert response["Location"] == step(token, "about")
    submission = draft(patient)
    assert submission.round == 1
    assert AuditEvent.objects.filter(
        action="intake.started", patient_id=patient.pk, actor=None
    ).exists()


def test_every_step_in_order_with_progress_then_review(client, patient, token):
    for number, key in enumerate(SECTION_KEYS, start=1):
        page = client.get(step(token, key))
        assert page.status_code == 200
        assert f"Step {number} of {len(SECTION_KEYS)}" in page.text
        assert "Save and continue" in page.text
        if number > 1:
            assert f'href="{step(token, SECTION_KEYS[number - 2])}"' in page.text  # Back
        response = client.post(step(token, key), section_post_data(key, COMPLETE_ANSWERS))
        expected = step(token, SECTION_KEYS[number]) if number < len(SECTION_KEYS) else None
        assert response["Location"] == (expected or url("review", token))

    submission = draft(patient)
    assert submission.completed_sections == list(SECTION_KEYS)
    # An unticked optional box is stored as False, so the review can say "No".
    expected_answers = complete_answers(consent_contact_doctors=False)
    assert effective_answers(submission.answers) == effective_answers(expected_answers)
    assert client.get(url("start", token))["Location"] == url("review", token)


def test_start_goes_to_the_first_unfinished_step(client, patient, token):
    IntakeSubmissionFactory(
        patient=patient, answers=complete_answers(), completed_sections=["about", "cancer"]
    )
    assert client.get(url("start", token))["Location"] == step(token, "pain")


def test_resumes_on_another_device_with_the_same_link(patient):
    link, token = patient_link_token(patient), "me"
    phone, laptop = Client(), Client()
    open_link(phone, url("start", link))
    phone.post(step(token, "about"), section_post_data("about", COMPLETE_ANSWERS))

    response = open_link(laptop, url("start", link))

    assert response["Location"] == step(token, "cancer")
    assert IntakeSubmission.objects.filter(patient=patient).count() == 1
    about = laptop.get(step(token, "about"))
    assert 'value="Pat Example"' in about.text
    assert 'value="(916) 555-0101"' in about.text
    assert 'value="female" class="form-check-input" id="id_sex_0" checked' in about.text


def test_answers_are_kept_after_a_validation_error_and_nothing_is_saved(client, patient, token):
    data = section_post_data("about", COMPLETE_ANSWERS) | {"weight_lb": "12"}

    response = client.post(step(token, "about"), data)

    assert response.status_code == 200
    assert "Please enter a number from 60 to 700." in response.text
    assert 'value="Pat Example"' in response.text
    assert 'value="12"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'aria-describedby="id_weight_lb_error"' in response.text
    assert 'href="#id_weight_lb"' in response.text  # the error summary links to the field
    submission = draft(patient)
    assert submission.answers == {}
    assert submission.completed_sections == []


def test_a_required_radio_group_error_is_tied_to_its_fieldset(client, token):
    data = section_post_data("about", COMPLETE_ANSWERS)
    del data["sex"]

    response = client.post(step(token, "about"), data)

    assert response.status_code == 200
    assert '<fieldset aria-describedby="id_sex_helptext id_sex_error">' in response.text
    assert 'id="id_sex_error"' in response.text
    assert "Please choose an answer." in response.text


def test_a_hidden_follow_up_is_not_required_and_its_stale_answer_is_kept_but_ignored(
    client, patient, token
):
    with_cancer = complete_answers(
        has_cancer="yes",
        cancer_type="Breast",
        cancer_stage="2",
        cancer_diagnosed_on="2020-05-01",
        cancer_treatment=["chemotherapy"],
        metastases="no",
    )
    client.post(step(token, "cancer"), section_post_data("cancer", with_cancer))
    assert draft(patient).answers["cancer_type"] == "Breast"

    # Now "No", with the old follow-up answers still in the page (hidden by the script).
    changed = section_post_data("cancer", with_cancer) | {"has_cancer": "no"}
    response = client.post(step(token, "cancer"), changed | {"cancer_diagnosed_on": "not a date"})

    assert response.status_code == 302
    stored = draft(patient).answers
    assert stored["has_cancer"] == "no"
    assert stored["cancer_type"] == "Breast"  # kept...
    assert "cancer_type" not in effective_answers(stored)  # ...but does not count


def test_a_shown_follow_up_is_required(client, token):
    data = section_post_data("cancer", COMPLETE_ANSWERS) | {"has_cancer": "yes"}

    response = client.post(step(token, "cancer"), data)

    assert response.status_code == 200
    errors = dict((label, message) for _anchor, label, message in response.context["error_links"])
    assert "What type of cancer?" in errors
    assert "Your oncologist's name" not in errors  # optional even when shown


def test_the_taps1_alcohol_item_follows_the_saved_sex(client, patient, token):
    submission = submission_open(patient_id=patient.pk)
    page = client.get(step(token, "substances"))
    assert "4 or more drinks" in page.text and "5 or more drinks" not in page.text

    submission.answers = {"sex": "male"}
    submission.save()
    page = client.get(step(token, "substances"))
    assert "5 or more drinks" in page.text and "4 or more drinks" not in page.text

    answers = complete_answers(sex="male", taps1_alcohol_men=1)
    response = client.post(step(token, "substances"), section_post_data("substances", answers))
    assert response.status_code == 302
    assert draft(patient).answers["taps1_alcohol_men"] == 1


def test_changing_sex_later_reopens_the_substances_step(client, patient, token):
    IntakeSubmissionFactory(patient=patient, complete=True)  # answered as female
    about = section_post_data("about", complete_answers(sex="male"))

    response = client.post(step(token, "about"), about)

    # The men's alcohol item is now the one that applies, and it has no answer yet.
    assert response["Location"] == step(token, "substances")
    assert client.get(url("start", token))["Location"] == step(token, "substances")


def test_the_phq9_difficulty_item_is_optional_and_only_counts_after_a_positive_item(
    client, patient, token
):
    all_zero = section_post_data("phq9", COMPLETE_ANSWERS)
    response = client.post(step(token, "phq9"), all_zero | {"phq9_difficulty": "2"})
    assert response.status_code == 302
    assert "phq9_difficulty" not in draft(patient).answers

    one_positive = section_post_data("phq9", complete_answers(phq9_2=1))
    response = client.post(step(token, "phq9"), one_positive)  # difficulty left blank
    assert response.status_code == 302

    response = client.post(step(token, "phq9"), one_positive | {"phq9_difficulty": "2"})
    assert draft(patient).answers["phq9_difficulty"] == 2


def test_instrument_items_are_verbatim_with_their_stem(client, token):
    page = client.get(step(token, "phq9")).text

    assert "Over the last 2 weeks, how often have you been bothered by any of the" in page
    assert "Thoughts that you would be better off dead or of hurting yourself in some way" in page
    assert "More than half the days" in page
    # Its credit is on the "About these questions" page (tests/intake/test_questionnaire_phone.py).
    assert "Developed by Drs. Robert L. Spitzer" not in page


def test_the_consent_box_must_be_ticked(client, token):
    data = section_post_data("consent", COMPLETE_ANSWERS)
    del data["attest_true"]

    response = client.post(step(token, "consent"), data)

    assert response.status_code == 200
    assert "Please tick this box to continue." in response.text


def test_medicines_are_saved_as_rows_in_the_stored_format(client, patient, token):
    answers = complete_answers(
        takes_medications="yes",
        medications=[
            {"name": "Oxycodone", "dose": "10", "unit": "mg", "times_per_day": 3},
            {"name": "Fentanyl patch", "dose": "25", "unit": "mcg_per_hour", "times_per_day": None},
        ],
        drug_allergies="Penicillin",
    )

    response = client.post(step(token, "medications"), section_post_data("medications", answers))

    assert response.status_code == 302
    stored = draft(patient).answers
    assert stored["medications"] == answers["medications"]
    assert stored["drug_allergies"] == "Penicillin"


def test_medicines_yes_needs_at_least_one_row(client, token):
    data = {"takes_medications": "yes", "medications-rows": "3"}

    response = client.post(step(token, "medications"), data)

    assert response.status_code == 200
    assert "Please add at least one medicine, or answer No above." in response.text


def test_a_medicine_row_without_a_name_is_refused_and_empty_rows_are_ignored(client, token):
    data = {
        "takes_medications": "yes",
        "medications-rows": "3",
        "medications-0-name": "Sertraline",
        "medications-0-dose": "50",
        "medications-0-unit": "mg",
        "medications-1-dose": "5",
        "medications-1-unit": "mg",
    }

    response = client.post(step(token, "medications"), data)

    assert response.status_code == 200
    assert "Please give the medicine&#x27;s name, or clear this row." in response.text


def test_a_dose_needs_its_unit(client, token):
    data = {
        "takes_medications": "yes",
        "medications-rows": "3",
        "medications-0-name": "Sertraline",
        "medications-0-dose": "50",
    }

    response = client.post(step(token, "medications"), data)

    assert response.status_code == 200
    assert "Please choose the unit for this dose." in response.text


def test_the_error_summary_follows_the_order_of_the_page(client, token):
    data = section_post_data("about", COMPLETE_ANSWERS)
    del data["sex"]
    data["weight_lb"] = "abc"
    del data["emergency_phone"]

    response = client.post(step(token, "about"), data)

    labels = [label for _anchor, label, _message in response.context["error_links"]]
    assert labels == ["Sex assigned at birth", "Weight in pounds", "Emergency contact: phone"]
    anchors = [anchor for anchor, _label, _message in response.context["error_links"]]
    assert anchors[0] == "id_sex_0"  # the first radio: a fieldset cannot take focus


def test_add_more_rows_works_without_javascript(client, patient, token):
    page = client.get(step(token, "medications"))
    assert 'name="medications-2-name"' in page.text
    assert 'name="medications-3-name"' not in page.text
    assert 'name="add_rows"' in page.text

    data = {
        "takes_medications": "yes",
        "medications-rows": "3",
        "medications-0-name": "Sertraline",
        "medications-0-dose": "50",
        "medications-0-unit": "mg",
        "medications-0-times_per_day": "1",
        "add_rows": "1",
    }
    response = client.post(step(token, "medications"), data)

    assert response.status_code == 302
    assert response["Location"] == step(token, "medications") + "?rows=6#medications"
    submission = draft(patient)
    assert submission.answers["medications"][0]["name"] == "Sertraline"  # saved
    assert "medications" not in submission.completed_sections  # but the step is not done yet
    page = client.get(response["Location"])
    assert 'name="medications-5-name"' in page.text
    assert 'value="Sertraline"' in page.text


def test_rows_never_exceed_the_maximum(client, token):
    page = client.get(step(token, "medications") + "?rows=5000")
    assert f'name="medications-{MAX_MEDICATIONS - 1}-name"' in page.text
    assert f'name="medications-{MAX_MEDICATIONS}-name"' not in page.text
    assert 'name="add_rows"' not in page.text

    tampered = {"takes_medications": "no", "medications-rows": "999999", "add_rows": "1"}
    response = client.post(step(token, "medications"), tampered)
    assert response.status_code == 302
    assert f"rows={MAX_MEDICATIONS}" in response["Location"]


def test_review_lists_every_answer_with_change_links(client, patient, token):
    IntakeSubmissionFactory(patient=patient, complete=True)

    page = client.get(url("review", token))

    assert page.status_code == 200
    assert "Check your answers" in page.text
    assert "Sam Driver" in page.text
    assert "(916) 555-0102" in page.text
    assert "Not at all" in page.text
    for key in SECTION_KEYS:
        assert f'href="{step(token, key)}"' in page.text
    assert "Send my answers" in page.text


def test_review_points_to_unfinished_steps_and_offers_no_send_button(client, patient, token):
    IntakeSubmissionFactory(
        patient=patient, answers=complete_answers(), completed_sections=list(SECTION_KEYS[:-1])
    )

    page = client.get(url("review", token))

    assert "A few steps still need answers" in page.text
    assert f'href="{step(token, "consent")}"' in page.text
    assert "Send my answers" not in page.text


def test_patient_pages_are_not_cached(client, token):
    response = client.get(step(token, "about"))
    assert "no-store" in response["Cache-Control"]


def test_the_page_loads_its_script_from_a_file_not_inline(client, token):
    page = client.get(step(token, "cancer")).text
    assert "js/questionnaire.js" in page
    assert "<script>" not in page
    assert " style=" not in page
    assert " onclick=" not in page
