"""The cardiac, cerebrovascular and blood-pressure rules (reference §3 and §2.4)."""

from __future__ import annotations

from intake import policy
from intake.eligibility.checks import (
    HARD_STOP,
    INFO,
    REVIEW,
    all_of,
    answer_in,
    date_within,
    dated,
    not_,
    optional,
    reported_bp,
    yes,
)
from intake.eligibility.rule import (
    ARRHYTHMIA_UNCONTROLLED,
    HF_DECOMPENSATED,
    HYPERTENSION_UNCONTROLLED,
    MI_WITHIN_HARD_STOP,
    STROKE_WITHIN_HARD_STOP,
    Rule,
)

# §3 cardiac and cerebrovascular (windows PROPOSED, by analogy)
CARDIOVASCULAR_RULES: tuple[Rule, ...] = (
    Rule(
        "mi_recent",
        HARD_STOP,
        f"Heart attack within {policy.MI_HARD_STOP_DAYS} days",
        "A6 / §3 · 2014 ACC/AHA perioperative guideline (>= 60 days after MI); PROPOSED",
        all_of(yes("mi_ever"), MI_WITHIN_HARD_STOP),
    ),
    Rule(
        "mi_within_6_months",
        REVIEW,
        f"Heart attack {policy.MI_HARD_STOP_DAYS} days to {policy.MI_REVIEW_MONTHS} months ago",
        "A6 / §3 · 2014 ACC/AHA perioperative guideline; one clinic excludes MI within 6 months; "
        "PROPOSED",
        all_of(
            yes("mi_ever"),
            date_within("mi_on", months=policy.MI_REVIEW_MONTHS),
            not_(MI_WITHIN_HARD_STOP),
        ),
    ),
    Rule(
        "angina_unstable",
        HARD_STOP,
        "Chest pain in the past month that is new, worsening or at rest (possible unstable angina)",
        "A6 / §3 · Cohen 2018 (poorly controlled cardiovascular disease); PROPOSED",
        yes("angina_recent"),
    ),
    Rule(
        "stent_or_bypass_recent",
        REVIEW,
        f"Coronary stent or bypass within {policy.STENT_BYPASS_REVIEW_MONTHS} months",
        "A6 / §3 · 2014 ACC/AHA (365 days after drug-eluting stent), by analogy; PROPOSED",
        all_of(
            yes("stent_or_bypass"),
            date_within("stent_or_bypass_on", months=policy.STENT_BYPASS_REVIEW_MONTHS),
        ),
    ),
    Rule(
        "heart_failure_decompensated",
        HARD_STOP,
        "Heart failure with current symptoms or a recent hospital stay",
        "A6 / §3 · decompensated HF is an active cardiac condition; 3-month window PROPOSED",
        all_of(yes("heart_failure"), HF_DECOMPENSATED),
    ),
    Rule(
        "heart_failure_stable",
        REVIEW,
        "Heart failure, stable (no current symptoms, no recent hospital stay)",
        "A6 / §3 · Cohen 2018 ('poorly controlled' is the test); PROPOSED",
        all_of(yes("heart_failure"), not_(HF_DECOMPENSATED)),
    ),
    Rule(
        "arrhythmia_uncontrolled",
        HARD_STOP,
        "Arrhythmia or long QT, uncontrolled or symptomatic",
        "A6 / §3 · one clinic excludes rate-uncontrolled AF and long QT; Mayo trial; PROPOSED",
        all_of(yes("arrhythmia"), ARRHYTHMIA_UNCONTROLLED),
    ),
    Rule(
        "arrhythmia_controlled",
        REVIEW,
        "Arrhythmia or long QT, controlled (or patient not sure)",
        "A6 / §3 · one clinic excludes rate-uncontrolled AF and long QT; PROPOSED",
        all_of(
            yes("arrhythmia"),
            not_(ARRHYTHMIA_UNCONTROLLED),
            optional(
                answer_in(
                    "arrhythmia_controlled", "unsure", say="patient not sure it is controlled"
                )
            ),
        ),
    ),
    Rule(
        "valve_severe",
        REVIEW,
        "Severe heart-valve disease",
        "A6 / §3 · older ACC/AHA perioperative guidance (unconfirmed)",
        yes("valve_severe"),
    ),
    Rule(
        "stroke_tia_recent",
        HARD_STOP,
        f"Ischaemic stroke or TIA less than {policy.STROKE_HARD_STOP_MONTHS} months ago",
        "A6 / §3 · Jørgensen 2014; one clinic excludes stroke within 6 months; PROPOSED",
        all_of(yes("stroke_tia"), STROKE_WITHIN_HARD_STOP),
    ),
    Rule(
        "stroke_tia_past",
        REVIEW,
        f"Ischaemic stroke or TIA {policy.STROKE_HARD_STOP_MONTHS} months ago or more",
        "A6 / §3 · Jørgensen 2014; PROPOSED",
        all_of(yes("stroke_tia"), not_(STROKE_WITHIN_HARD_STOP), optional(dated("stroke_on"))),
    ),
    Rule(
        "hypertensive_encephalopathy",
        REVIEW,
        "History of hypertensive encephalopathy: monitor BP more closely",
        "§3 · Spravato (closer monitoring)",
        yes("hypertensive_emergency"),
    ),
    # §2.4 / §3 blood pressure
    Rule(
        "hypertension_uncontrolled",
        HARD_STOP,
        "Known high blood pressure, not controlled: defer until the primary care physician has "
        "controlled it",
        "§3 / §2.4 · clinic policy; Ketalar label; Cohen 2018",
        HYPERTENSION_UNCONTROLLED,
    ),
    Rule(
        "hypertension_control_unsure",
        REVIEW,
        "Known high blood pressure, patient not sure it is controlled",
        "§3 / §2.4 · clinic policy; review tier for 'not sure' PROPOSED",
        all_of(yes("bp_diagnosed"), answer_in("bp_controlled", "unsure")),
    ),
    Rule(
        "bp_reported_high",
        REVIEW,
        f"Self-reported BP >= {policy.BP_REVIEW_SYSTOLIC}/{policy.BP_REVIEW_DIASTOLIC}, not a "
        "measurement: confirm on the day",
        "A7 / §2.4 · self-reported reading, never a hard stop at intake; PROPOSED",
        reported_bp(review=True),
    ),
    Rule(
        "bp_reported_elevated",
        INFO,
        f"Self-reported BP {policy.BP_INFO_SYSTOLIC}-{policy.BP_REVIEW_SYSTOLIC - 1} or "
        f"{policy.BP_INFO_DIASTOLIC}-{policy.BP_REVIEW_DIASTOLIC - 1}, not a measurement",
        "A7 / §2.4 · Spravato (> 140/90: weigh benefit and risk); PROPOSED",
        reported_bp(review=False),
    ),
    Rule(
        "bp_medicine",
        INFO,
        "Takes blood-pressure medicine: continue on infusion days unless told otherwise",
        "§2.4 / §7.2 antihypertensives · published clinic instructions",
        yes("bp_treated"),
    ),
)
