"""The screening rules (intake.eligibility): every rule fires on its trigger and stays quiet just
below it; hidden answers are ignored; odd input never raises; the table stays consistent with the
questionnaire, instruments.json and the Severity choices."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake import eligibility, policy, scoring
from intake.answers import all_entries
from intake.eligibility import HARD_STOP, INFO, REVIEW, URGENT, evaluate, months_before, visible
from intake.examples import complete_answers
from intake.instruments import instrument, instruments
from intake.models import Severity
from intake.questions import questions

TODAY = dt.date(2025, 6, 15)
ADULT = dt.date(1980, 1, 1)
PHQ9 = [f"phq9_{n}" for n in range(1, 10)]
GAD7 = [f"gad7_{n}" for n in range(1, 8)]
PCL5 = [f"pcl5_{n}" for n in range(1, 21)]

# A complete screening that raises nothing: every yes/no "no", every item 0, no pain.
CLEAN: dict = complete_answers(nrs_now=0, peg_p=0, peg_e=0, peg_g=0)


def days_ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def months_ago(months: int, plus_days: int = 0) -> str:
    """`months` before TODAY, moved `plus_days` later (towards today)."""
    return (months_before(TODAY, months) + dt.timedelta(days=plus_days)).isoformat()


def meds(*items: tuple[str, str, str, int] | str) -> dict:
    listed = [
        {"name": item, "dose": "1", "unit": "mg", "times_per_day": 1}
        if isinstance(item, str)
        else {"name": item[0], "dose": item[1], "unit": item[2], "times_per_day": item[3]}
        for item in items
    ]
    return {"takes_medications": "yes", "medications": listed}


def spread(total: int, item_ids: list[str], most: int) -> dict[str, int]:
    answers = {}
    for item_id in item_ids:
        answers[item_id] = min(most, total)
        total -= answers[item_id]
    return answers


def flags(answers: dict, *, dob: dt.date = ADULT, today: dt.date = TODAY) -> dict:
    return {flag.rule_id: flag for flag in evaluate(answers, date_of_birth=dob, today=today)}


def raised(overrides: dict, **kwargs) -> dict:
    return flags(CLEAN | overrides, **kwargs)


HEART_FAILURE = {"heart_failure": "yes", "hf_symptoms": "no", "hf_hospital_3m": "no"}
ARRHYTHMIA = {"arrhythmia": "yes", "arrhythmia_symptoms": "no", "arrhythmia_controlled": "yes"}
BP_KNOWN = {"bp_diagnosed": "yes", "bp_treated": "yes", "bp_controlled": "yes"}
CANCER_SPREAD = {"has_cancer": "yes", "metastases": "yes"}
# PCL-5 at 32 with no C item endorsed, so the DSM-5 rule is not met (see test_scoring.py).
PCL5_32 = (
    {"stressful_experience": "yes", "pcl5_6": 1, "pcl5_7": 1}
    | dict.fromkeys([f"pcl5_{n}" for n in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14)], 2)
    | dict.fromkeys([f"pcl5_{n}" for n in range(15, 21)], 1)
)
PCL5_DSM5 = (
    {"stressful_experience": "yes"}
    | dict.fromkeys(PCL5, 0)
    | dict.fromkeys(["pcl5_1", "pcl5_6", "pcl5_8", "pcl5_9", "pcl5_15", "pcl5_16"], 2)
)

# (rule id, severity, answers that raise it, a neighbouring set of answers that must not)
CASES = [
    ("phq9_item9_positive", URGENT, {"phq9_9": 1}, {"phq9_9": 0}),
    ("ketamine_allergy", HARD_STOP, {"ketamine_allergy": "yes"}, {"ketamine_allergy": "no"}),
    ("pregnancy", HARD_STOP, {"pregnancy": "yes"}, {"pregnancy": "not_applicable"}),
    ("breastfeeding", REVIEW, {"breastfeeding": "yes"}, {"breastfeeding": "not_applicable"}),
    ("aneurysm_avm", HARD_STOP, {"aneurysm_avm": "yes"}, {"aneurysm_avm": "no"}),
    ("brain_bleed", HARD_STOP, {"brain_bleed": "yes"}, {"brain_bleed": "no"}),
    ("psychosis_or_mania_current", HARD_STOP, {"psychosis_recent": "yes"}, {}),
    ("psychosis_or_mania_current", HARD_STOP, {"mania_recent": "yes"}, {"mania_recent": "no"}),
    ("psychosis_history", REVIEW, {"psychosis_history": "yes"}, {}),
    ("bipolar", REVIEW, {"bipolar": "yes"}, {}),
    ("kh_nonmedical_use", HARD_STOP, {"kh_nonmedical_ever": 1, "kh_last_use": 1}, {}),
    ("kh_nonmedical_use", HARD_STOP, {"kh_treatment": 1}, {"kh_treatment": 0}),
    ("taps1_drug_or_rx_positive", REVIEW, {"taps1_drugs": 1}, {"taps1_drugs": 0}),
    ("taps1_drug_or_rx_positive", REVIEW, {"taps1_rx": 1}, {"taps1_rx": 0}),
    (
        "raised_icp",
        HARD_STOP,
        {"brain_condition": "yes", "brain_condition_kind": ["raised_pressure"]},
        {"brain_condition": "yes", "brain_condition_kind": ["tumour"]},
    ),
    (
        "raised_icp",
        HARD_STOP,
        {"brain_condition": "yes", "brain_condition_kind": ["tumour", "hydrocephalus_shunt"]},
        {"brain_condition": "no", "brain_condition_kind": ["hydrocephalus_shunt"]},
    ),
    (
        "brain_tumour_or_metastasis",
        REVIEW,
        {"brain_condition": "yes", "brain_condition_kind": ["tumour"]},
        {"brain_condition": "yes", "brain_condition_kind": ["tumour", "raised_pressure"]},
    ),
    (
        "brain_tumour_or_metastasis",
        REVIEW,
        CANCER_SPREAD | {"metastasis_sites": ["bone", "brain"]},
        CANCER_SPREAD | {"metastasis_sites": ["bone", "lung"]},
    ),
    (
        "eye_acute",
        HARD_STOP,
        {"eye_pressure": "yes", "eye_acute": "yes"},
        {"eye_pressure": "yes", "eye_acute": "unsure"},
    ),
    (
        "eye_pressure",
        REVIEW,
        {"eye_pressure": "yes", "eye_acute": "unsure"},
        {"eye_pressure": "yes", "eye_acute": "yes"},
    ),
    ("eye_pressure", REVIEW, {"eye_pressure": "yes", "eye_acute": "no"}, {"eye_pressure": "no"}),
    ("liver_severe", HARD_STOP, {"liver_severe": "yes"}, {}),
    ("liver_disease", REVIEW, {"liver_disease": "yes"}, {}),
    (
        "liver_disease",
        REVIEW,
        CANCER_SPREAD | {"metastasis_sites": ["liver"]},
        CANCER_SPREAD | {"metastasis_sites": ["other"]},
    ),
    ("bladder_symptoms", REVIEW, {"bladder": "yes"}, {}),
    ("kh_urinary_symptoms", REVIEW, {"kh_urinary": 1}, {"kh_urinary": 0}),
    ("seizures", REVIEW, {"seizures": "yes"}, {}),
    ("lung_disease_osa", REVIEW, {"lung_osa": "yes"}, {}),
    (
        "mi_recent",
        HARD_STOP,
        {"mi_ever": "yes", "mi_on": days_ago(60)},
        {"mi_ever": "yes", "mi_on": days_ago(61)},
    ),
    (
        "mi_within_6_months",
        REVIEW,
        {"mi_ever": "yes", "mi_on": days_ago(61)},
        {"mi_ever": "yes", "mi_on": days_ago(60)},
    ),
    (
        "mi_within_6_months",
        REVIEW,
        {"mi_ever": "yes", "mi_on": months_ago(6)},
        {"mi_ever": "yes", "mi_on": months_ago(6, plus_days=-1)},
    ),
    ("angina_unstable", HARD_STOP, {"angina_recent": "yes"}, {}),
    (
        "stent_or_bypass_recent",
        REVIEW,
        {"stent_or_bypass": "yes", "stent_or_bypass_on": months_ago(12)},
        {"stent_or_bypass": "yes", "stent_or_bypass_on": months_ago(12, plus_days=-1)},
    ),
    (
        "heart_failure_decompensated",
        HARD_STOP,
        HEART_FAILURE | {"hf_symptoms": "yes"},
        HEART_FAILURE,
    ),
    (
        "heart_failure_decompensated",
        HARD_STOP,
        HEART_FAILURE | {"hf_hospital_3m": "yes"},
        HEART_FAILURE,
    ),
    ("heart_failure_stable", REVIEW, HEART_FAILURE, HEART_FAILURE | {"hf_symptoms": "yes"}),
    (
        "arrhythmia_uncontrolled",
        HARD_STOP,
        ARRHYTHMIA | {"arrhythmia_controlled": "no"},
        ARRHYTHMIA,
    ),
    (
        "arrhythmia_uncontrolled",
        HARD_STOP,
        ARRHYTHMIA | {"arrhythmia_symptoms": "yes"},
        ARRHYTHMIA,
    ),
    ("arrhythmia_controlled", REVIEW, ARRHYTHMIA, ARRHYTHMIA | {"arrhythmia_symptoms": "yes"}),
    (
        "arrhythmia_controlled",
        REVIEW,
        ARRHYTHMIA | {"arrhythmia_controlled": "unsure"},
        ARRHYTHMIA | {"arrhythmia_controlled": "no"},
    ),
    ("valve_severe", REVIEW, {"valve_severe": "yes"}, {}),
    (
        "stroke_tia_recent",
        HARD_STOP,
        {"stroke_tia": "yes", "stroke_on": months_ago(6, plus_days=1)},
        {"stroke_tia": "yes", "stroke_on": months_ago(6)},
    ),
    (
        "stroke_tia_past",
        REVIEW,
        {"stroke_tia": "yes", "stroke_on": months_ago(6)},
        {"stroke_tia": "yes", "stroke_on": months_ago(6, plus_days=1)},
    ),
    ("stroke_tia_past", REVIEW, {"stroke_tia": "yes", "stroke_on": "1999-05-01"}, {}),
    ("hypertensive_encephalopathy", REVIEW, {"hypertensive_emergency": "yes"}, {}),
    (
        "hypertension_uncontrolled",
        HARD_STOP,
        BP_KNOWN | {"bp_controlled": "no"},
        BP_KNOWN,
    ),
    (
        "hypertension_control_unsure",
        REVIEW,
        BP_KNOWN | {"bp_controlled": "unsure"},
        BP_KNOWN,
    ),
    ("bp_reported_high", REVIEW, {"bp_latest_systolic": 160}, {"bp_latest_systolic": 159}),
    ("bp_reported_high", REVIEW, {"bp_latest_diastolic": 100}, {"bp_latest_diastolic": 99}),
    (
        "bp_reported_elevated",
        INFO,
        {"bp_latest_systolic": 140, "bp_latest_diastolic": 80},
        {"bp_latest_systolic": 139, "bp_latest_diastolic": 89},
    ),
    (
        "bp_reported_elevated",
        INFO,
        {"bp_latest_systolic": 159, "bp_latest_diastolic": 99},
        {"bp_latest_systolic": 160, "bp_latest_diastolic": 99},
    ),
    ("bp_reported_elevated", INFO, {"bp_latest_diastolic": 90}, {"bp_latest_diastolic": 100}),
    ("bp_medicine", INFO, BP_KNOWN, BP_KNOWN | {"bp_treated": "no"}),
    ("med_benzodiazepine", REVIEW, meds("Xanax"), meds("sertraline")),
    ("med_benzodiazepine", REVIEW, meds("lorazepam 1mg"), {"takes_medications": "no"}),
    ("med_maoi", REVIEW, meds("Emsam"), meds("escitalopram")),
    ("med_psychostimulant", REVIEW, meds("Vyvanse"), meds("venlafaxine")),
    (
        "med_opioid_high_mme",
        REVIEW,
        meds(("morphine", "90", "mg", 1)),
        meds(("morphine", "89.9", "mg", 1)),
    ),
    (
        "med_opioid_high_mme",
        REVIEW,
        meds(("oxycodone", "10", "mg", 3), ("Duragesic", "18.75", "mcg_per_hour", 1)),  # 45 + 45
        meds(("oxycodone", "10", "mg", 3), ("Duragesic", "18.7", "mcg_per_hour", 1)),  # 45 + 44.9
    ),
    (
        "med_opioid",
        INFO,
        meds(("morphine", "89.9", "mg", 1)),
        meds(("morphine", "90", "mg", 1)),
    ),
    ("med_opioid", INFO, meds(("tramadol", "50", "other", 2)), meds("sertraline")),
    ("med_lamotrigine", INFO, meds("Lamictal"), meds("Lexapro")),
    ("med_nmda_other", INFO, meds("Namenda"), meds("Lexapro")),
    ("med_nmda_other", INFO, meds("lithium carbonate 300 mg"), meds("Lexapro")),
    ("med_cns_depressant", INFO, meds("Neurontin"), meds("Lexapro")),
    ("med_naltrexone", INFO, meds("Vivitrol"), meds("Lexapro")),
    ("med_cyp_interacting", INFO, meds("rifampin"), meds("azithromycin")),
    ("med_glp1_agonist", INFO, meds("Ozempic"), meds("metformin")),
    ("med_theophylline", INFO, meds("theophylline"), meds("albuterol")),
    ("med_antidepressant", INFO, meds("Zoloft"), meds("metformin")),
    (
        "taps1_tobacco_or_alcohol_positive",
        INFO,
        {"taps1_tobacco": 1},
        {"taps1_tobacco": 0},
    ),
    (
        "taps1_tobacco_or_alcohol_positive",
        INFO,
        {"taps1_alcohol_women": 1},
        {"taps1_alcohol_women": 0},
    ),
    (
        "taps1_tobacco_or_alcohol_positive",
        INFO,
        {"sex": "male", "taps1_alcohol_men": 1},
        {"sex": "male", "taps1_alcohol_men": 0, "taps1_alcohol_women": 4},
    ),
    ("kh_prior_treatment", INFO, {"kh_prior_medical": 1}, {"kh_prior_medical": 0}),
    ("phq9_moderate_or_above", INFO, spread(10, PHQ9[:8], 3), spread(9, PHQ9[:8], 3)),
    ("gad7_moderate_or_above", INFO, spread(10, GAD7, 3), spread(9, GAD7, 3)),
    ("pcl5_probable_ptsd", INFO, PCL5_32 | {"pcl5_1": 3}, PCL5_32),
    ("pcl5_probable_ptsd", INFO, PCL5_DSM5, PCL5_DSM5 | {"pcl5_16": 1}),
]


@pytest.mark.parametrize(
    ("rule_id", "severity", "trigger", "neighbour"),
    CASES,
    ids=[f"{case[0]}-{n}" for n, case in enumerate(CASES)],
)
def test_rule_fires_on_its_trigger_and_not_on_its_neighbour(rule_id, severity, trigger, neighbour):
    fired = raised(trigger)
    assert rule_id in fired, sorted(fired)
    assert fired[rule_id].severity == severity
    assert fired[rule_id].evidence, "a flag names the answers that raised it"
    assert rule_id not in raised(neighbour)


def test_every_rule_in_the_table_has_a_trigger_case():
    covered = {case[0] for case in CASES} | {"under_18"}
    assert covered == set(eligibility.rules_by_id())


def test_a_complete_clean_screening_raises_nothing():
    assert evaluate(CLEAN, date_of_birth=ADULT, today=TODAY) == []


# --- Age ------------------------------------------------------------------------------------------


def test_a_patient_one_day_short_of_18_is_a_hard_stop():
    dob = dt.date(TODAY.year - 18, TODAY.month, TODAY.day) + dt.timedelta(days=1)
    flag = raised({}, dob=dob)["under_18"]
    assert flag.severity == HARD_STOP
    assert flag.evidence == ("date_of_birth",)
    assert "age 17" in flag.title


def test_a_patient_who_turns_18_today_is_not_flagged():
    assert "under_18" not in raised({}, dob=dt.date(TODAY.year - 18, TODAY.month, TODAY.day))


def test_a_29_february_birthday_turns_18_on_1_march_in_a_non_leap_year():
    dob = dt.date(2008, 2, 29)
    assert "under_18" in raised({}, dob=dob, today=dt.date(2026, 2, 28))
    assert "under_18" not in raised({}, dob=dob, today=dt.date(2026, 3, 1))


@pytest.mark.parametrize("dob", [None, "not a date", 19800101])
def test_an_unreadable_date_of_birth_is_treated_as_under_18(dob):
    flag = raised({}, dob=dob)["under_18"]
    assert "unreadable" in flag.title


def test_a_date_of_birth_given_as_iso_text_is_read():
    assert "under_18" not in raised({}, dob="1980-01-01")


# --- Conservative readings of missing follow-ups --------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "rule_id"),
    [
        ({"mi_ever": "yes"}, "mi_recent"),
        ({"mi_ever": "yes", "mi_on": "last spring"}, "mi_recent"),
        ({"mi_ever": "yes", "mi_on": "2025-02-30"}, "mi_recent"),
        ({"mi_ever": "yes", "mi_on": "2031-01-01"}, "mi_recent"),  # in the future
        ({"mi_ever": "yes", "mi_on": "1970-01-01"}, "mi_recent"),  # before the patient was born
        ({"stroke_tia": "yes"}, "stroke_tia_recent"),
        ({"stroke_tia": "yes", "stroke_on": ""}, "stroke_tia_recent"),
        ({"stent_or_bypass": "yes", "stent_or_bypass_on": None}, "stent_or_bypass_recent"),
    ],
)
def test_a_yes_without_a_usable_date_lands_in_the_strictest_window_and_says_so(answers, rule_id):
    fired = raised(answers)
    assert rule_id in fired
    assert "date not given or unreadable" in fired[rule_id].title


def test_a_missing_mi_date_does_not_also_raise_the_review_tier():
    fired = raised({"mi_ever": "yes"})
    assert "mi_within_6_months" not in fired


@pytest.mark.parametrize(
    ("answers", "hard_stop", "quiet"),
    [
        ({"heart_failure": "yes"}, "heart_failure_decompensated", "heart_failure_stable"),
        (
            {"heart_failure": "yes", "hf_symptoms": "no"},
            "heart_failure_decompensated",
            "heart_failure_stable",
        ),
        ({"arrhythmia": "yes"}, "arrhythmia_uncontrolled", "arrhythmia_controlled"),
        ({"brain_condition": "yes"}, "raised_icp", "brain_tumour_or_metastasis"),
        ({"brain_condition": "yes", "brain_condition_kind": []}, "raised_icp", ""),
        ({"bp_diagnosed": "yes"}, "hypertension_uncontrolled", "hypertension_control_unsure"),
        ({"bp_diagnosed": "yes", "bp_controlled": "maybe"}, "hypertension_uncontrolled", ""),
        ({"eye_pressure": "yes"}, "eye_acute", "eye_pressure"),
    ],
)
def test_an_unanswered_required_follow_up_is_read_as_the_stricter_answer(answers, hard_stop, quiet):
    fired = raised(answers)
    assert hard_stop in fired
    assert "not answered" in fired[hard_stop].title
    assert quiet not in fired


def test_not_sure_is_an_answer_with_its_own_review_tier():
    fired = raised({"eye_pressure": "yes", "eye_acute": "unsure"})
    assert "eye_acute" not in fired
    assert "not sure" in fired["eye_pressure"].title
    assert fired["eye_pressure"].evidence == ("eye_pressure", "eye_acute")


# --- Hidden answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "rule_id"),
    [
        ({"mi_ever": "no", "mi_on": days_ago(10)}, "mi_recent"),
        ({"stroke_tia": "no", "stroke_on": days_ago(10)}, "stroke_tia_recent"),
        ({"heart_failure": "no", "hf_symptoms": "yes"}, "heart_failure_decompensated"),
        ({"eye_pressure": "no", "eye_acute": "yes"}, "eye_acute"),
        ({"brain_condition": "no", "brain_condition_kind": ["raised_pressure"]}, "raised_icp"),
        ({"bp_diagnosed": "no", "bp_controlled": "no"}, "hypertension_uncontrolled"),
        ({"bp_diagnosed": "unsure", "bp_treated": "yes"}, "bp_medicine"),
        (
            {"has_cancer": "no", "metastases": "yes", "metastasis_sites": ["liver"]},
            "liver_disease",
        ),
        (
            {"has_cancer": "yes", "metastases": "unsure", "metastasis_sites": ["brain"]},
            "brain_tumour_or_metastasis",
        ),
        (
            {"takes_medications": "no", **meds("Xanax")} | {"takes_medications": "no"},
            "med_benzodiazepine",
        ),
        (PCL5_32 | {"pcl5_1": 4, "stressful_experience": "no"}, "pcl5_probable_ptsd"),
        ({"sex": "female", "taps1_alcohol_men": 4}, "taps1_tobacco_or_alcohol_positive"),
        ({"sex": "male", "taps1_alcohol_women": 4}, "taps1_tobacco_or_alcohol_positive"),
    ],
)
def test_stale_answers_to_hidden_questions_are_ignored(answers, rule_id):
    assert rule_id not in raised(answers)


def test_visible_follows_chains_of_show_if():
    answers = {"has_cancer": "no", "metastases": "yes", "metastasis_sites": ["brain"], "x": 1}
    assert visible(answers) == {"has_cancer": "no"}
    answers["has_cancer"] = "yes"
    assert visible(answers) == {
        "has_cancer": "yes",
        "metastases": "yes",
        "metastasis_sites": ["brain"],
    }


def test_visible_applies_instrument_display_conditions():
    answers = {"kh_nonmedical_ever": 0, "kh_last_use": 3, "phq9_1": 0, "phq9_difficulty": 2}
    assert visible(answers) == {"kh_nonmedical_ever": 0, "phq9_1": 0}
    answers |= {"kh_nonmedical_ever": 1, "phq9_1": 1}
    assert visible(answers) == answers


def test_the_last_ketamine_use_is_shown_only_after_a_yes():
    fired = raised({"kh_nonmedical_ever": 1, "kh_last_use": 3})["kh_nonmedical_use"]
    assert fired.evidence == ("kh_nonmedical_ever", "kh_last_use")
    assert "In the past 30 days" in fired.title
    assert "kh_nonmedical_use" not in raised({"kh_nonmedical_ever": 0, "kh_last_use": 3})


# --- Item 9, MME, BP details ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "priority"), [(1, "urgent"), (2, "immediate"), (3, "immediate")])
def test_phq9_item9_is_urgent_regardless_of_total_with_its_escalation_priority(value, priority):
    fired = raised({"phq9_9": value})
    flag = fired["phq9_item9_positive"]
    assert flag.severity == URGENT
    assert flag.priority == priority
    assert flag.evidence == ("phq9_9",)
    assert "phq9_moderate_or_above" not in fired  # total 1-3: the flag does not depend on it


def test_only_item_9_carries_a_priority():
    fired = raised({"phq9_9": 2, "ketamine_allergy": "yes", "bipolar": "yes"})
    assert {rule_id for rule_id, flag in fired.items() if flag.priority} == {"phq9_item9_positive"}


def test_opioid_flag_gives_the_total_and_the_entries_it_could_not_convert():
    answers = meds(("oxycodone", "10", "mg", 3), ("tramadol", "50", "other", 2), "sertraline")
    flag = raised(answers)["med_opioid"]
    assert "45.0 MME/day" in flag.title
    assert "not computed for medications[1]" in flag.title
    assert flag.evidence == ("medications[0]", "medications[1]")


def test_opioid_flag_asks_for_the_dose_of_a_combination_product_to_be_checked():
    flag = raised(meds(("Percocet", "5", "mg", 4)))["med_opioid"]
    assert "30.0 MME/day" in flag.title
    assert "combination product at medications[0]" in flag.title


def test_medicine_flags_point_at_each_entry_and_name_the_generic():
    flag = raised(meds("Zoloft", "Xanax", "Klonopin 0.5mg"))["med_benzodiazepine"]
    assert flag.evidence == ("medications[1]", "medications[2]")
    assert "alprazolam, clonazepam" in flag.title


def test_a_near_miss_medicine_name_is_flagged_as_possible():
    flag = raised(meds("xanex"))["med_benzodiazepine"]
    assert "possibly alprazolam (typed 'xanex')" in flag.title


def test_a_very_high_self_reported_bp_is_review_never_a_hard_stop():
    fired = raised(
        {"bp_latest_systolic": 200, "bp_latest_diastolic": 120, "bp_latest_on": days_ago(3)}
    )
    assert fired["bp_reported_high"].severity == REVIEW
    assert "would be a hard stop if measured on the day" in fired["bp_reported_high"].title
    assert fired["bp_reported_high"].evidence == (
        "bp_latest_systolic",
        "bp_latest_diastolic",
        "bp_latest_on",
    )
    assert not [flag for flag in fired.values() if flag.severity == HARD_STOP]


def test_a_self_reported_bp_outside_the_question_limits_is_ignored():
    assert "bp_reported_high" not in raised({"bp_latest_systolic": 999})


# --- Ordering and robustness ----------------------------------------------------------------------


def test_flags_are_ordered_by_severity_then_rule_id():
    answers = CLEAN | {
        "phq9_9": 1,
        "taps1_tobacco": 2,
        "bipolar": "yes",
        "ketamine_allergy": "yes",
        "seizures": "yes",
        "aneurysm_avm": "yes",
        "kh_prior_medical": 1,
    }
    result = evaluate(answers, date_of_birth=ADULT, today=TODAY)
    assert [(flag.severity, flag.rule_id) for flag in result] == [
        (URGENT, "phq9_item9_positive"),
        (HARD_STOP, "aneurysm_avm"),
        (HARD_STOP, "ketamine_allergy"),
        (REVIEW, "bipolar"),
        (REVIEW, "seizures"),
        (INFO, "kh_prior_treatment"),
        (INFO, "taps1_tobacco_or_alcohol_positive"),
    ]


@pytest.mark.parametrize("answers", [None, [], "yes", 3, {}, {"mi_ever": ["yes"]}])
def test_odd_answers_never_raise(answers):
    assert evaluate(answers, date_of_birth=ADULT, today=TODAY) == []


def test_today_may_be_a_datetime_but_not_something_else():
    assert evaluate({}, date_of_birth=ADULT, today=dt.datetime(2025, 6, 15, 12, 0)) == []
    with pytest.raises(TypeError):
        evaluate({}, date_of_birth=ADULT, today="2025-06-15")


def test_a_rule_that_breaks_still_raises_its_flag(monkeypatch):
    def broken(facts):
        raise KeyError("boom")

    rule = eligibility.Rule(
        "broken_rule", HARD_STOP, "Broken", "test", eligibility.Check(broken, frozenset())
    )
    monkeypatch.setattr(eligibility, "RULES", (rule,))
    [flag] = evaluate({}, date_of_birth=ADULT, today=TODAY)
    assert flag.rule_id == "broken_rule"
    assert flag.severity == HARD_STOP
    assert "could not be evaluated" in flag.title


# --- The table stays consistent with the questionnaire and instruments.json -----------------------


def test_rule_ids_are_unique_short_and_severities_valid():
    ids = [rule.id for rule in eligibility.RULES]
    assert len(ids) == len(set(ids))
    assert all(len(rule_id) <= 40 for rule_id in ids)  # intake.models.Flag.rule_id
    assert {rule.severity for rule in eligibility.RULES} <= set(eligibility.SEVERITIES)
    assert all(rule.title and rule.source for rule in eligibility.RULES)


def test_severities_are_the_values_of_the_severity_choices_in_order():
    assert list(eligibility.SEVERITIES) == [choice.value for choice in Severity]


def answer_keys() -> set[str]:
    items = {item.id for entry in instruments().values() for item in entry.items}
    return set(questions()) | items


def test_every_answer_key_a_rule_reads_exists_in_the_questionnaire():
    known = answer_keys() | {eligibility.DATE_OF_BIRTH}
    for rule in eligibility.RULES:
        assert rule.when.reads, rule.id
        assert rule.when.reads <= known, (rule.id, rule.when.reads - known)


def test_every_critical_item_rule_in_instruments_json_is_in_the_table_with_its_tier():
    tiers = {"critical": URGENT, "hard_stop": HARD_STOP, "clinician_review": REVIEW, "info": INFO}
    rules = eligibility.rules_by_id()
    for entry in instruments().values():
        for critical in entry.critical_item_rules:
            rule = rules[critical["id"]]
            assert rule.severity == tiers[critical["severity"]], critical["id"]
            item_ids = critical.get("item_ids") or [critical["item_id"]]
            assert set(item_ids) <= rule.when.reads, critical["id"]


def test_every_display_condition_is_understood():
    keys = set(all_entries())
    conditioned = [
        item.id
        for entry in instruments().values()
        for item in entry.items
        if item.display_condition
    ]
    assert conditioned and set(conditioned) <= keys


def test_every_show_if_names_a_question_asked_before_it():
    seen: list[str] = []
    for key, question in questions().items():
        if question.show_if:
            assert question.show_if[0] in seen, key
        seen.append(key)


def test_the_heart_failure_window_in_policy_matches_the_question_wording():
    text = str(questions()["hf_hospital_3m"].text)
    assert f"last {policy.HF_HOSPITAL_MONTHS} months" in text


def test_months_before_clamps_to_the_end_of_a_shorter_month():
    assert months_before(dt.date(2025, 8, 31), 6) == dt.date(2025, 2, 28)
    assert months_before(dt.date(2024, 8, 31), 6) == dt.date(2024, 2, 29)
    assert months_before(dt.date(2025, 1, 15), 12) == dt.date(2024, 1, 15)


# --- Property: never raises -----------------------------------------------------------------------

JSONISH = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-10, max_value=400),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.sampled_from(
            [
                *("yes", "no", "unsure", "not_applicable", "male", "female", "tumour", "brain"),
                *("liver", "raised_pressure", "2025-01-01", "2999-12-31", "0001-01-01"),
                "2025-02-30",
            ]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["name", "dose", "unit", "times_per_day"]), children),
    ),
    max_leaves=8,
)
MEDICATION = st.fixed_dictionaries(
    {
        "name": st.sampled_from(
            [
                *("oxycodone", "Duragesic", "Xanax", "Percocet", "xanex", "junk", "Emsam"),
                *("Vyvanse", "Lamictal", "Namenda", "Neurontin", "Vivitrol", "rifampin"),
                *("Ozempic", "theophylline", "Zoloft", "morphine", "Contrave", "Fentora"),
            ]
        ),
        "dose": st.sampled_from(["10", "25", "100", "0", "-1", "1e30", "abc", ""]),
        "unit": st.sampled_from(["mg", "mcg_per_hour", "other", "x"]),
        "times_per_day": st.one_of(st.integers(-2, 30), st.none()),
    }
)


def plausible(key: str) -> st.SearchStrategy:
    """Answers of the right shape for `key` (so rules fire), mixed with junk of any shape."""
    items = {item.id: item for entry in instruments().values() for item in entry.items}
    if key in items:
        valid = st.sampled_from([option.value for option in items[key].options])
    else:
        question = questions()[key]
        values = [value for value, _label in question.options]
        valid = {
            "multi": st.lists(st.sampled_from(values or ["x"]), max_size=3),
            "int": st.integers((question.minimum or 0) - 5, (question.maximum or 100) + 5),
            "date": st.dates(dt.date(1890, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat),
            "medications": st.lists(MEDICATION, max_size=4),
        }.get(question.kind, st.sampled_from(values) if values else st.text(max_size=8))
    return st.one_of(valid, valid, JSONISH)


ANSWERS = st.fixed_dictionaries({}, optional={key: plausible(key) for key in sorted(answer_keys())})

# Tiers of one item that must never both fire.
EXCLUSIVE = [
    ("mi_recent", "mi_within_6_months"),
    ("stroke_tia_recent", "stroke_tia_past"),
    ("heart_failure_decompensated", "heart_failure_stable"),
    ("arrhythmia_uncontrolled", "arrhythmia_controlled"),
    ("raised_icp", "brain_tumour_or_metastasis"),
    ("eye_acute", "eye_pressure"),
    ("hypertension_uncontrolled", "hypertension_control_unsure"),
    ("bp_reported_high", "bp_reported_elevated"),
    ("med_opioid_high_mme", "med_opioid"),
]


@settings(max_examples=300, deadline=None)
@given(answers=ANSWERS, dob=st.dates(), today=st.dates(min_value=dt.date(1990, 1, 1)))
def test_evaluate_never_raises_and_every_flag_is_well_formed(answers, dob, today):
    result = evaluate(answers, date_of_birth=dob, today=today)
    fired = {flag.rule_id for flag in result}
    assert len(fired) == len(result)
    for flag in result:
        assert flag.severity in eligibility.SEVERITIES
        assert 0 < len(flag.title) <= 200
        assert "could not be evaluated" not in flag.title
        assert all(isinstance(key, str) for key in flag.evidence)
        assert flag.priority in ("", "urgent", "immediate")
    for first, second in EXCLUSIVE:
        assert not {first, second} <= fired
    ranks = [eligibility.SEVERITIES.index(flag.severity) for flag in result]
    assert ranks == sorted(ranks)


@settings(max_examples=200, deadline=None)
@given(answers=ANSWERS)
def test_scores_are_json_and_the_same_whether_or_not_hidden_answers_are_dropped_first(answers):
    scores = scoring.score_all(answers)
    assert json.loads(json.dumps(scores)) == scores
    assert scoring.score_all(visible(answers)) == scores


def test_instrument_loader_is_the_same_data_the_rules_read():
    assert instrument("phq9").critical_item_rules[0]["id"] == "phq9_item9_positive"
