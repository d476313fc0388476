"""A rule of the eligibility tables (intake.eligibility.rules): its type, the parts a hard stop
and its review tier share, and the rules named elsewhere (item 9, the PHQ-9 and GAD-7 tiers).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from intake import policy, scoring
from intake.eligibility.checks import (
    INFO,
    URGENT,
    Check,
    Facts,
    all_of,
    answer_in,
    any_of,
    contains,
    date_within,
    gte,
    score_at_least,
    yes,
)
from intake.instruments import instrument

# --- The rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str  # stable; Flag.rule_id (max 40 characters)
    severity: str
    title: str
    source: str  # the reference's rule id and basis
    when: Check
    priority: Callable[[Facts], str] | None = None


def _item9_priority(facts: Facts) -> str:
    """The escalation level from instruments.json (phq9_item9_positive): "urgent" for 1,
    "immediate" for 2 or more; the most pressing when none matches."""
    value = scoring.item_value(facts.answers, "phq9_9")
    compare = {">": operator.gt, ">=": operator.ge, "==": operator.eq}
    for rule in instrument("phq9").critical_item_rules:
        for step in rule.get("escalation", ()):
            condition = step["condition"]
            if value is not None and compare[condition["operator"]](value, condition["value"]):
                return cast(str, step["priority"])
    return "immediate"


# Parts shared by a hard stop and its review tier, so the two can never both fire.
MI_WITHIN_HARD_STOP = date_within("mi_on", days=policy.MI_HARD_STOP_DAYS)
STROKE_WITHIN_HARD_STOP = date_within(
    "stroke_on", months=policy.STROKE_HARD_STOP_MONTHS, inclusive=False
)
HF_DECOMPENSATED = any_of(
    yes(
        "hf_symptoms",
        missing_counts=True,
        say="breathless at rest or on minimal exertion, or new swelling",
    ),
    yes(
        "hf_hospital_3m",
        missing_counts=True,
        say=f"hospital stay for HF in the last {policy.HF_HOSPITAL_MONTHS} months",
    ),
)
ARRHYTHMIA_UNCONTROLLED = any_of(
    yes("arrhythmia_symptoms", missing_counts=True, say="fainting or racing heart recently"),
    answer_in("arrhythmia_controlled", "no", missing_counts=True, say="not controlled"),
)
RAISED_ICP = all_of(
    yes("brain_condition"),
    contains("brain_condition_kind", "raised_pressure", "hydrocephalus_shunt", missing_counts=True),
)
EYE_ACUTE = answer_in("eye_acute", "yes", missing_counts=True)
HYPERTENSION_UNCONTROLLED = all_of(
    yes("bp_diagnosed"), answer_in("bp_controlled", "no", missing_counts=True)
)

# §5.3 / A23: crisis pathway, at intake and before every infusion. Booking is not blocked; no
# infusion before a documented assessment.
PHQ9_ITEM9_POSITIVE = Rule(
    "phq9_item9_positive",
    URGENT,
    "PHQ-9 item 9 positive (thoughts of death or self-harm): contact the patient and complete "
    "a validated suicide-risk assessment before any infusion",
    "A23 / §5.3 · Simon 2013, 2016; NPSG 15.01.01; workflow PROPOSED",
    gte("phq9_9", 1, say="item 9:"),
    priority=_item9_priority,
)
PHQ9_MODERATE_OR_ABOVE = Rule(
    "phq9_moderate_or_above",
    INFO,
    f"PHQ-9 >= {policy.PHQ9_FLAG_AT}",
    "§5.2 · Kroenke 2001",
    score_at_least("phq9", policy.PHQ9_FLAG_AT),
)
GAD7_MODERATE_OR_ABOVE = Rule(
    "gad7_moderate_or_above",
    INFO,
    f"GAD-7 >= {policy.GAD7_FLAG_AT}",
    "§5.4 · Spitzer 2006",
    score_at_least("gad7", policy.GAD7_FLAG_AT),
)
