"""Answer templates: screening and check-in answers scored and judged by the real rules, once
per template (they depend on the clinical answers only)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from intake.answers import effective_answers, flag_evidence, instrument_ids, missing_answers
from intake.eligibility import FlagResult, evaluate
from intake.examples import complete_answers, complete_check_in_answers
from intake.models import SEVERITY_ORDER, Severity, SubmissionKind
from intake.scoring import score_all

MEDICINES = (
    {"name": "Sertraline", "dose": "50", "unit": "mg", "times_per_day": 1},
    {"name": "Bupropion", "dose": "150", "unit": "mg", "times_per_day": 1},
    {"name": "Gabapentin", "dose": "300", "unit": "mg", "times_per_day": 3},
    {"name": "Lorazepam", "dose": "1", "unit": "mg", "times_per_day": 1},
    {"name": "Oxycodone", "dose": "5", "unit": "mg", "times_per_day": 2},
)


@dataclass(frozen=True)
class _Template:
    answers: dict[str, Any]
    scores: dict[str, Any]
    flags: tuple[tuple[FlagResult, list[dict[str, str]]], ...]
    worst: str  # the most pressing severity raised, "" for none


def _evaluated(answers: dict[str, Any], kind: str, today: dt.date) -> _Template:
    if missing := missing_answers(answers, kind=kind):
        raise AssertionError(f"incomplete {kind} template: {[e.key for e in missing][:5]}")
    shown = effective_answers(answers, kind)
    scores = score_all(shown)
    if kind == SubmissionKind.CHECK_IN:
        asked = set(instrument_ids(kind))
        scores = {key: value for key, value in scores.items() if key in asked}
    adult = dt.date(1970, 1, 1)  # age matters only under 18: no scale patient is
    results = evaluate(shown, date_of_birth=adult, today=today, kind=kind)
    flags = tuple(
        (r, flag_evidence(r.evidence, shown, date_of_birth=adult, kind=kind)) for r in results
    )
    worst = min((r.severity for r in results), key=lambda s: SEVERITY_ORDER[s], default="")
    return _Template(answers, scores, flags, worst)


def _screening_answers(rng: random.Random, risk: str) -> dict[str, Any]:
    low_mood = rng.choice((0, 1, 2, 2, 3))
    answers: dict[str, Any] = {
        "height_ft": rng.choice((5, 5, 6)),
        "height_in": rng.randrange(12),
        "weight_lb": rng.randrange(115, 260),
        "nrs_now": rng.randrange(11),
        **{f"peg_{item}": rng.randrange(11) for item in "peg"},
        **{f"phq9_{n}": min(3, max(0, low_mood + rng.choice((-1, 0, 0, 1)))) for n in range(1, 9)},
        **{f"gad7_{n}": rng.choice((0, 1, 1, 2, 3)) for n in range(1, 8)},
        "phq9_difficulty": rng.randrange(1, 4),
        "gad7_difficulty": rng.randrange(1, 4),
        "taps1_tobacco": rng.choice((0, 0, 0, 1)),
    }
    if rng.random() < 0.4:
        answers |= {"sex": "male", "taps1_alcohol_women": None, "taps1_alcohol_men": 0}
    if rng.random() < 0.35:
        answers |= {"stressful_experience": "yes"}
        answers |= {f"pcl5_{n}": rng.randrange(5) for n in range(1, 21)}
    if rng.random() < 0.45:
        answers |= {"takes_medications": "yes", "medications": rng.sample(MEDICINES, 2)}
    if rng.random() < 0.15 or risk == "hard_stop":
        controlled = "no" if risk == "hard_stop" else "yes"
        answers |= {"bp_diagnosed": "yes", "bp_treated": "yes", "bp_controlled": controlled}
    if risk == "urgent":
        answers["phq9_9"] = rng.choice((1, 1, 2))
    merged = complete_answers(**answers)
    return {key: value for key, value in merged.items() if value is not None}


def answer_templates(*, seed: int, today: dt.date) -> dict[str, list[_Template]]:
    """Screening templates by the worst flag they raise ("info" holds those raising none too,
    "review", "hard_stop", "urgent"), and "check_in" templates that raise nothing urgent."""
    rng = random.Random(f"templates-{seed}")  # noqa: S311 - fake data, not security
    pools: dict[str, list[_Template]] = defaultdict(list)
    risks = ["ordinary"] * 36 + ["hard_stop"] * 6 + ["urgent"] * 6
    for risk in risks:
        template = _evaluated(_screening_answers(rng, risk), SubmissionKind.SCREENING, today)
        pools[template.worst or Severity.INFO].append(template)
    for _ in range(8):
        answers = complete_check_in_answers(
            **{f"phq9_{n}": rng.choice((0, 0, 1, 1, 2)) for n in range(1, 9)},
            **{f"gad7_{n}": rng.choice((0, 1, 1, 2)) for n in range(1, 8)},
            nrs_now=rng.randrange(1, 7),
        )
        template = _evaluated(answers, SubmissionKind.CHECK_IN, today)
        if template.worst != Severity.URGENT:
            pools["check_in"].append(template)
    return dict(pools)
