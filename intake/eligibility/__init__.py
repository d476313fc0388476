"""Which flags a round raises: the reference's rule tables (shared/clinical/
screening-reference.md §1.2, §2.4, §3, §4, §5, §7.2) as one table of rules over the answers of a
screening, and a short table for the pre-infusion check-in (A13, §5.3, changes since the last
visit).

`evaluate(answers, date_of_birth=..., today=..., kind=...)` is pure: no ORM, no clock, no
settings. It reads only the answers the patient could see (`visible`) in that questionnaire: a
stale answer to a follow-up whose question is now hidden (mi_on kept after mi_ever changed to "no")
never raises a flag.

How odd input is read, so that it never raises:
- an answer of the wrong type, or not one of its question's options, is unanswered;
- a follow-up the questionnaire requires after a "yes" (a date, "which kind", "is it controlled")
  that is unanswered or unreadable is read the conservative way, as the answer that gives the
  stricter tier, and the flag's title says so; "not sure" is an answer and gets its own tier;
- a rule that fails unexpectedly raises its own flag (fail closed) instead of disappearing.

Titles are clinician wording, never shown to patients. They are stored with the flag as part of
the clinical record, so they are plain English rather than translated at display time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from intake import medications, scoring
from intake.answers import effective_answers
from intake.eligibility.checks import (
    DATE_OF_BIRTH,
    EARLIEST_DATE,
    HARD_STOP,
    INFO,
    REVIEW,
    SEVERITIES,
    URGENT,
    Check,
    Facts,
    _as_date,
    months_before,
)
from intake.eligibility.rules import CHECK_IN_RULES, RULES, Rule
from intake.questions import CHECK_IN, SCREENING

__all__ = [
    "CHECK_IN_RULES",
    "DATE_OF_BIRTH",
    "EARLIEST_DATE",
    "HARD_STOP",
    "INFO",
    "REVIEW",
    "RULES",
    "SEVERITIES",
    "URGENT",
    "Check",
    "FlagResult",
    "Rule",
    "evaluate",
    "months_before",
    "rules_by_id",
    "rules_for",
    "visible",
]

logger = logging.getLogger(__name__)

_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}
TITLE_MAX_LENGTH = 200  # intake.models.Flag.title

# The answers the patient could see, given their other answers (show_if chains and the
# instruments' display conditions): the questionnaire's own rule, intake.answers.
visible = effective_answers


@dataclass(frozen=True)
class FlagResult:
    rule_id: str
    severity: str  # one of SEVERITIES
    title: str  # clinician wording, never shown to patients
    evidence: tuple[str, ...]  # answer keys, "date_of_birth", "medications[2]"
    source: str  # the reference's rule id and basis
    priority: str = ""  # PHQ-9 item 9 only: "urgent" or "immediate" (§5.3)


# --- Evaluation ----------------------------------------------------------------------------------


def rules_for(kind: str = SCREENING) -> tuple[Rule, ...]:
    """The rules table of one questionnaire (KeyError for an unknown kind). Looked up when called,
    so a test may swap a table."""
    if kind == SCREENING:
        return RULES
    if kind == CHECK_IN:
        return CHECK_IN_RULES
    raise KeyError(kind)


def _facts(answers: Mapping[str, Any], date_of_birth: object, today: dt.date, kind: str) -> Facts:
    if isinstance(today, dt.datetime):
        today = today.date()
    if not isinstance(today, dt.date):
        raise TypeError("today must be a date")  # a caller's bug, not odd patient input
    shown = visible(answers, kind)
    listed = tuple(medications.entries(shown.get("medications")))
    return Facts(
        answers=shown,
        today=today,
        date_of_birth=_as_date(date_of_birth),
        scores=scoring.score_all(shown),
        medications=listed,
        classes=medications.classes_in(listed),
    )


def _title(base: str, notes: tuple[str, ...]) -> str:
    title = f"{base} — {'; '.join(notes)}" if notes else base
    if len(title) > TITLE_MAX_LENGTH:
        title = title[: TITLE_MAX_LENGTH - 1] + "…"
    return title


def _apply(rule: Rule, facts: Facts) -> FlagResult | None:
    try:
        hit = rule.when(facts)
        if hit is None:
            return None
        priority = rule.priority(facts) if rule.priority else ""
    except Exception as error:  # fail closed: a broken rule still raises its flag
        logger.error("eligibility rule %s failed (%s); flag raised", rule.id, type(error).__name__)
        return FlagResult(
            rule.id,
            rule.severity,
            _title(rule.title, ("rule could not be evaluated: raised for a clinician to check",)),
            (),
            rule.source,
            "immediate" if rule.priority else "",
        )
    return FlagResult(
        rule.id, rule.severity, _title(rule.title, hit.notes), hit.evidence, rule.source, priority
    )


def evaluate(
    answers: Mapping[str, Any],
    *,
    date_of_birth: dt.date,
    today: dt.date,
    kind: str = SCREENING,
) -> list[FlagResult]:
    """Every flag the answers raise under the questionnaire's rules table, most pressing first
    (urgent, hard stop, review, info), then by rule id. Reads only the answers visible in that
    questionnaire. `today` is the clinic's date of the evaluation."""
    table = rules_for(kind)
    facts = _facts(answers, date_of_birth, today, kind)
    flags = [flag for rule in table if (flag := _apply(rule, facts)) is not None]
    return sorted(flags, key=lambda flag: (_SEVERITY_ORDER[flag.severity], flag.rule_id))


def rules_by_id(kind: str = SCREENING) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules_for(kind)}
