"""Which questions are shown, required and counted for a set of answers, and how answers read
back (intake.answers, pure functions)."""

from __future__ import annotations

import pytest

from intake.answers import (
    Condition,
    all_entries,
    answer_label,
    effective_answers,
    missing_answers,
    parse_display_condition,
    shown_keys,
)
from intake.examples import COMPLETE_ANSWERS, complete_answers
from intake.instruments import instruments
from intake.questions import SECTION_KEYS


def test_every_display_condition_in_instruments_json_is_understood():
    conditions = [
        item.display_condition
        for instrument in instruments().values()
        for item in instrument.items
        if item.display_condition
    ]
    assert conditions
    for text in conditions:
        parse_display_condition(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sex == 'male'", Condition(("sex",), "in", ("male",))),
        ("sex != 'male'", Condition(("sex",), "not_in", ("male",))),
        ("kh_nonmedical_ever == 1", Condition(("kh_nonmedical_ever",), "in", (1,))),
        (
            "any of gad7_1..gad7_3 > 0",
            Condition(("gad7_1", "gad7_2", "gad7_3"), ">", (0,)),
        ),
    ],
)
def test_display_conditions_parse(text, expected):
    assert parse_display_condition(text) == expected


@pytest.mark.parametrize("text", ["sex ~ 'male'", "any of a..b > 0", "sex =="])
def test_an_unknown_display_condition_is_refused(text):
    with pytest.raises(ValueError, match="unknown display condition"):
        parse_display_condition(text)


def test_an_unanswered_sex_asks_the_conservative_alcohol_item():
    shown = shown_keys({})
    assert "taps1_alcohol_women" in shown
    assert "taps1_alcohol_men" not in shown
    shown = shown_keys({"sex": "male"})
    assert "taps1_alcohol_men" in shown
    assert "taps1_alcohol_women" not in shown


def test_a_chain_of_follow_ups_closes_when_its_first_answer_changes():
    answers = complete_answers(
        has_cancer="no", metastases="yes", metastasis_sites=["brain"], cancer_type="Lung"
    )
    counted = effective_answers(answers)
    assert "metastases" not in counted
    assert "metastasis_sites" not in counted  # its parent is stale, so it is too
    assert "cancer_type" not in counted


def test_the_difficulty_items_appear_after_any_positive_item_and_are_never_required():
    assert "phq9_difficulty" not in shown_keys(COMPLETE_ANSWERS)
    answers = complete_answers(phq9_4=1)
    assert "phq9_difficulty" in shown_keys(answers)
    assert missing_answers(answers) == []
    assert not all_entries()["gad7_difficulty"].required


def test_a_complete_low_risk_round_is_missing_nothing():
    assert missing_answers(COMPLETE_ANSWERS) == []
    for key in SECTION_KEYS:
        assert missing_answers(COMPLETE_ANSWERS, key) == []


def test_the_pcl5_block_is_required_only_after_a_stressful_experience():
    answers = complete_answers(stressful_experience="yes")
    missing = {entry.key for entry in missing_answers(answers, "pcl5")}
    assert missing == {f"pcl5_{n}" for n in range(1, 21)}


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        ("phq9_9", 2, "More than half the days"),
        ("sex", "other", "Another answer or prefer not to say"),
        ("cancer_treatment", ["chemotherapy", "radiation"], "Chemotherapy, Radiation"),
        ("attest_true", True, "Yes"),
        ("consent_contact_doctors", False, "No"),
        ("cancer_diagnosed_on", "2020-05-01", "May 1, 2020"),
        ("emergency_phone", "+19165550101", "(916) 555-0101"),
        ("emergency_phone", "+442071838750", "+44 20 7183 8750"),
        ("weight_lb", 150, "150"),
        ("pain_where", None, "Not answered"),
        (
            "medications",
            [{"name": "Fentanyl", "dose": "25", "unit": "mcg_per_hour", "times_per_day": None}],
            "Fentanyl, 25 mcg per hour (skin patch)",
        ),
        ("kh_nonmedical_ever", 1, "Yes"),
        ("nrs_now", 7, "7"),
    ],
)
def test_answers_read_back_as_people_write_them(key, value, label):
    assert answer_label(key, value) == label
