"""An example screening in the stored answer format (intake.questions): complete, low risk, every
yes/no "no". The demo data starts from it and so do the tests; it raises no flag above "info"."""

from __future__ import annotations

COMPLETE_ANSWERS: dict = {
    "sex": "female",
    "height_ft": 5,
    "height_in": 6,
    "weight_lb": 150,
    "emergency_name": "Pat Example",
    "emergency_phone": "+19165550101",
    "emergency_relationship": "Sister",
    "escort_name": "Sam Driver",
    "escort_phone": "+19165550102",
    "has_cancer": "no",
    "nrs_now": 3,
    "peg_p": 3,
    "peg_e": 2,
    "peg_g": 2,
    "takes_medications": "no",
    **{f"phq9_{n}": 0 for n in range(1, 10)},
    **{f"gad7_{n}": 0 for n in range(1, 8)},
    "stressful_experience": "no",
    "bp_diagnosed": "no",
    **dict.fromkeys(
        [
            "mi_ever",
            "angina_recent",
            "stent_or_bypass",
            "heart_failure",
            "arrhythmia",
            "valve_severe",
            "aneurysm_avm",
            "brain_bleed",
            "stroke_tia",
            "hypertensive_emergency",
            "psychosis_recent",
            "mania_recent",
            "psychosis_history",
            "bipolar",
            "prior_ect_tms",
            "ketamine_allergy",
            "brain_condition",
            "eye_pressure",
            "liver_severe",
            "liver_disease",
            "bladder",
            "seizures",
            "lung_osa",
        ],
        "no",
    ),
    "taps1_tobacco": 0,
    "taps1_alcohol_women": 0,
    "taps1_drugs": 0,
    "taps1_rx": 0,
    "kh_nonmedical_ever": 0,
    "kh_treatment": 0,
    "kh_urinary": 0,
    "kh_prior_medical": 0,
    "pregnancy": "no",
    "breastfeeding": "no",
    "attest_true": True,
    "signature_name": "Testy McFakeface",
}


def complete_answers(**changes: object) -> dict:
    return {**COMPLETE_ANSWERS, **changes}


# A complete pre-infusion check-in (intake.questions.CHECK_IN_SECTIONS): nothing changed, no
# alcohol, no depression or anxiety symptoms, mild pain. Raises no flag.
COMPLETE_CHECK_IN_ANSWERS: dict = {
    **{f"phq9_{n}": 0 for n in range(1, 10)},
    **{f"gad7_{n}": 0 for n in range(1, 8)},
    "nrs_now": 2,
    "new_medicines": "no",
    "alcohol_or_drugs_recent": "no",
    "other_changes": "no",
}


def complete_check_in_answers(**changes: object) -> dict:
    return {**COMPLETE_CHECK_IN_ANSWERS, **changes}
