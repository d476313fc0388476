"""Issue 19, item 2: the questionnaire on a phone, through the pages. A true step count, answer
groups laid out for a small screen, the instruments' credits on one "About these questions"
page instead of under every item, and a review page folded by step with an edit link for each.
The browser side (360 x 740) is in tests/e2e/test_questionnaire_phone.py."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.urls import reverse

from intake.instruments import instruments, validated_instruments
from intake.question_fields import radio_layout
from intake.questions import SECTION_KEYS, sections
from tests.factories import IntakeSubmissionFactory
from tests.patient_links import open_session

pytestmark = pytest.mark.django_db

ABOUT = reverse("intake:about_questions")


@pytest.fixture
def token(client, patient):
    return open_session(client, patient)


def step(token: str, key: str) -> str:
    return reverse("intake:section", kwargs={"token": token, "section_key": key})


def review(token: str) -> str:
    return reverse("intake:review", kwargs={"token": token})


def test_the_step_count_is_the_number_of_real_steps(client, token):
    total = len(sections())
    assert total == len(SECTION_KEYS) > 4

    first = client.get(step(token, SECTION_KEYS[0])).text
    last = client.get(step(token, SECTION_KEYS[-1])).text

    assert f"Step 1 of {total}" in first
    assert f"There are {total} steps" in first
    assert f'<progress class="questionnaire-progress w-100 mb-3" max="{total}" value="1"' in first
    assert f"Step {total} of {total}" in last
    assert f'max="{total}" value="{total}"' in last
    assert "short questions" not in first


def test_no_citation_or_licence_line_is_shown_beside_the_items(client, token):
    for key in SECTION_KEYS:
        page = client.get(step(token, key)).text
        for instrument in instruments().values():
            assert instrument.attribution not in page, (key, instrument.id)
            assert instrument.citation not in page, (key, instrument.id)
        assert "Pfizer" not in page
        assert "public domain" not in page


def test_a_page_with_an_instrument_links_the_about_page_once(client, token):
    for key in ("pain", "phq9", "gad7", "substances"):
        page = client.get(step(token, key)).text
        # Once, in a new tab: leaving the page would lose what is not saved yet.
        assert page.count(f'href="{ABOUT}" target="_blank" rel="noopener"') == 1, key
        assert page.count(ABOUT) == 1, key
    assert f'href="{ABOUT}"' not in client.get(step(token, "consent")).text


def test_the_about_page_credits_every_validated_instrument(client):
    page = client.get(ABOUT)

    assert page.status_code == 200
    validated = validated_instruments()
    assert {i.id for i in validated} >= {"phq9", "gad7", "pcl5", "nrs11_pain", "taps1"}
    for instrument in validated:
        assert instrument.title in page.text
        assert instrument.attribution in page.text
        assert instrument.citation in page.text
    assert "Developed by Drs. Robert L. Spitzer" in page.text
    assert "National Center for PTSD" in page.text
    # A clinic-authored supplement is not a standard questionnaire: not credited as one.
    assert instruments()["ketamine_use_history"].title not in page.text


def test_the_pain_scale_is_a_number_grid_and_the_frequency_items_a_compact_group(client, token):
    pain = client.get(step(token, "pain")).text
    phq9 = client.get(step(token, "phq9")).text

    # The NRS-11 item and the three PEG items: each a 0-10 scale.
    assert pain.count("choice-group-numbers") == 4
    assert re.search(r'id="q-nrs_now">.*?choice-group-numbers', pain, re.S)
    assert phq9.count("choice-group-grid") == 10  # the nine items and the difficulty item
    # Every answer keeps its label, tied to its radio button.
    for label in ("Not at all", "Several days", "More than half the days", "Nearly every day"):
        assert phq9.count(f"<span>{label}</span>") == 9
    assert re.search(
        r'<label class="choice-option" for="id_phq9_9_3"><input[^>]*id="id_phq9_9_3"', phq9
    )
    assert 'href="/static/css/questionnaire.css"' in phq9


def test_the_review_page_folds_each_step_with_an_edit_link(client, patient, token):
    IntakeSubmissionFactory(patient=patient, complete=True)

    page = client.get(review(token)).text

    assert page.count("<details") == len(SECTION_KEYS)
    assert page.count("<summary") == len(SECTION_KEYS)
    for key in SECTION_KEYS:
        assert page.count(f'href="{step(token, key)}"') == 1, key
    assert page.count(">Edit<span") == len(SECTION_KEYS)
    assert "Send my answers" in page


def test_an_unfinished_step_says_so_outside_its_fold(client, patient, token):
    IntakeSubmissionFactory(patient=patient, complete=True, completed_sections=["about"])

    page = client.get(review(token)).text

    assert page.count("<details") == len(SECTION_KEYS)
    assert page.count(">Edit<span") == 1
    assert page.count(">Finish this step<span") == len(SECTION_KEYS) - 1
    assert "Send my answers" not in page


def _radio(*labels: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=[(str(i), label) for i, label in enumerate(labels)], widget=forms.RadioSelect
    )


def test_answer_groups_are_laid_out_by_the_length_and_number_of_their_labels():
    assert radio_layout(_radio(*(str(n) for n in range(11)))) == "numbers"
    assert radio_layout(_radio("Yes", "No")) == "grid"
    frequency = ("Not at all", "Several days", "More than half the days", "Nearly every day")
    assert radio_layout(_radio(*frequency)) == "grid"
    # A long answer, or more than five, keeps one answer a line.
    assert radio_layout(_radio("Yes", "No, and I would rather talk about it first")) == ""
    assert radio_layout(_radio("Never", "Rarely", "Monthly", "Weekly", "Daily", "Hourly")) == ""
    assert radio_layout(forms.ChoiceField(choices=[("1", "1")])) == ""  # a select, not radios
