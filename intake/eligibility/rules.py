"""The rules tables: every row of the reference's tables (shared/clinical/screening-reference.md
§1.2, §2.4, §3, §4, §5, §7.2) that an intake answer can trigger, with its tier and source (RULES,
for the screening), and the rules for the pre-infusion check-in (CHECK_IN_RULES). Thresholds live
in intake.policy, the medical director's one place to change them.

The rows live in one module per part of the reference (rows_contraindications, rows_cardiovascular,
rows_medicines); the Rule type and the shared parts in intake.eligibility.rule. Every name this
module offered before is still importable from here.
"""

from __future__ import annotations

from intake.eligibility.checks import (
    HARD_STOP,
    INFO,
    REVIEW,
    all_of,
    any_of,
    gte,
    optional,
    pcl5_probable,
    text_given,
    yes,
)
from intake.eligibility.rows_cardiovascular import CARDIOVASCULAR_RULES
from intake.eligibility.rows_contraindications import CONTRAINDICATION_RULES
from intake.eligibility.rows_medicines import MEDICINE_RULES
from intake.eligibility.rule import (
    ARRHYTHMIA_UNCONTROLLED,
    EYE_ACUTE,
    GAD7_MODERATE_OR_ABOVE,
    HF_DECOMPENSATED,
    HYPERTENSION_UNCONTROLLED,
    MI_WITHIN_HARD_STOP,
    PHQ9_ITEM9_POSITIVE,
    PHQ9_MODERATE_OR_ABOVE,
    RAISED_ICP,
    STROKE_WITHIN_HARD_STOP,
    Rule,
)

__all__ = [
    "ARRHYTHMIA_UNCONTROLLED",
    "CHECK_IN_RULES",
    "EYE_ACUTE",
    "GAD7_MODERATE_OR_ABOVE",
    "HF_DECOMPENSATED",
    "HYPERTENSION_UNCONTROLLED",
    "MI_WITHIN_HARD_STOP",
    "PHQ9_ITEM9_POSITIVE",
    "PHQ9_MODERATE_OR_ABOVE",
    "RAISED_ICP",
    "RULES",
    "STROKE_WITHIN_HARD_STOP",
    "Rule",
]

RULES: tuple[Rule, ...] = (
    PHQ9_ITEM9_POSITIVE,
    *CONTRAINDICATION_RULES,
    *CARDIOVASCULAR_RULES,
    *MEDICINE_RULES,
    # §4, §5 instruments
    Rule(
        "taps1_tobacco_or_alcohol_positive",
        INFO,
        "TAPS-1 positive for tobacco or heavy drinking days",
        "§4 · TAPS-1 (McNeely 2016); PROPOSED",
        any_of(
            gte("taps1_tobacco", 1, say="tobacco:"),
            gte("taps1_alcohol_men", 1, say="5+ drinks a day:"),
            gte("taps1_alcohol_women", 1, say="4+ drinks a day:"),
        ),
    ),
    Rule(
        "kh_prior_treatment",
        INFO,
        "Prior ketamine or esketamine treatment: request dosing, dates and response",
        "§4 / §7.3 · ketamine_use_history supplement",
        gte("kh_prior_medical", 1),
    ),
    PHQ9_MODERATE_OR_ABOVE,
    GAD7_MODERATE_OR_ABOVE,
    Rule(
        "pcl5_probable_ptsd",
        INFO,
        "PCL-5 suggests probable PTSD: confirm with a clinical interview",
        "§5.5 · National Center for PTSD; cut-off PROPOSED",
        pcl5_probable(),
    ),
)

# The pre-infusion check-in (intake.questions.CHECK_IN_SECTIONS). Titles never name the hours of
# the alcohol window: that is a setting, and the question as stored in the evidence carries it.
CHECK_IN_RULES: tuple[Rule, ...] = (
    PHQ9_ITEM9_POSITIVE,
    Rule(
        "check_in_alcohol_or_drugs",
        HARD_STOP,
        "Alcohol or recreational drugs within the pre-visit window: defer today's infusion and "
        "reschedule",
        "A13 · clinic pre-visit instructions",
        yes("alcohol_or_drugs_recent"),
    ),
    Rule(
        "check_in_new_medicines",
        REVIEW,
        "New or changed medicines since the last visit: review before the infusion",
        "§7.2 · medicines of note; pre-infusion check-in",
        all_of(yes("new_medicines"), optional(text_given("new_medicines_detail"))),
    ),
    Rule(
        "check_in_other_changes",
        INFO,
        "Other health changes since the last visit",
        "Pre-infusion check-in",
        all_of(yes("other_changes"), optional(text_given("other_changes_detail"))),
    ),
    PHQ9_MODERATE_OR_ABOVE,
    GAD7_MODERATE_OR_ABOVE,
)
