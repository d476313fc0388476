"""The questionnaires as data: the screening (SECTIONS) and the short pre-infusion check-in
(CHECK_IN_SECTIONS), their steps, in order, and every question's key, wording, kind and limits.

Validated instruments are referenced by id and rendered verbatim from instruments.json
(intake.instruments). The other questions are clinic-authored plain-language screening questions;
where the reference (shared/clinical/screening-reference.md) gives a patient-facing question, its
wording is used (the rule id is noted beside it). Answers are stored flat, keyed by `Question.key`
or the instrument item id, exactly as given:

- yes_no / yes_no_unsure / choice: the option value (a string)
- multi: a list of option values
- int: an int; decimal: a string such as "12.5"; date: ISO "YYYY-MM-DD"; text / phone: a string
- instrument items: the option value (an int)
- checkbox: True
- medications: a list of {"name", "dose", "unit", "times_per_day"} (see MEDICATION_UNITS)

A question whose wording depends on a setting (the check-in's alcohol window) carries the setting's
name in `text_params`; intake.answers.question_text fills it in when the question is shown.

The questionnaires live in one module per group of steps (base: the types; history, mood,
conditions, consent: the screening in order; check_in); this package re-exports every public name,
so `from intake.questions import SECTIONS, Question, section` keeps working.
"""

from __future__ import annotations

from intake.questions.base import (
    CHECK_IN,
    MAX_MEDICATIONS,
    MEDICATION_UNITS,
    NO,
    NOT_APPLICABLE,
    SCREENING,
    UNSURE,
    YES,
    YES_NO,
    YES_NO_NA,
    YES_NO_UNSURE,
    InstrumentBlock,
    Question,
    Section,
    when,
    yes_no,
    yes_no_unsure,
)
from intake.questions.check_in import CHECK_IN_SECTIONS, IF_NEW_MEDICINES, IF_OTHER_CHANGES
from intake.questions.conditions import CONDITION_SECTIONS
from intake.questions.consent import CONSENT_SECTION
from intake.questions.history import HISTORY_SECTIONS, IF_CANCER
from intake.questions.mood import MOOD_SECTIONS

__all__ = [
    "CHECK_IN",
    "CHECK_IN_SECTIONS",
    "CHECK_IN_SECTION_KEYS",
    "IF_CANCER",
    "IF_NEW_MEDICINES",
    "IF_OTHER_CHANGES",
    "MAX_MEDICATIONS",
    "MEDICATION_UNITS",
    "NO",
    "NOT_APPLICABLE",
    "QUESTIONNAIRES",
    "SCREENING",
    "SECTIONS",
    "SECTION_KEYS",
    "UNSURE",
    "YES",
    "YES_NO",
    "YES_NO_NA",
    "YES_NO_UNSURE",
    "InstrumentBlock",
    "Question",
    "Section",
    "all_questions",
    "questions",
    "section",
    "section_keys",
    "sections",
    "when",
    "yes_no",
    "yes_no_unsure",
]

SECTIONS: tuple[Section, ...] = (
    *HISTORY_SECTIONS,
    *MOOD_SECTIONS,
    *CONDITION_SECTIONS,
    CONSENT_SECTION,
)

QUESTIONNAIRES: dict[str, tuple[Section, ...]] = {
    SCREENING: SECTIONS,
    CHECK_IN: CHECK_IN_SECTIONS,
}

SECTION_KEYS = tuple(section.key for section in SECTIONS)
CHECK_IN_SECTION_KEYS = tuple(section.key for section in CHECK_IN_SECTIONS)


def sections(kind: str = SCREENING) -> tuple[Section, ...]:
    """The steps of one questionnaire, in order (KeyError for an unknown kind)."""
    return QUESTIONNAIRES[kind]


def section_keys(kind: str = SCREENING) -> tuple[str, ...]:
    return tuple(section_.key for section_ in sections(kind))


def section(key: str, kind: str = SCREENING) -> Section:
    for candidate in sections(kind):
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def questions(kind: str = SCREENING) -> dict[str, Question]:
    """Every clinic-authored question of one questionnaire by key."""
    return {
        part.key: part
        for section_ in sections(kind)
        for part in section_.parts
        if isinstance(part, Question)
    }


def all_questions() -> dict[str, Question]:
    """Every clinic-authored question of every questionnaire by key (keys are unique across
    questionnaires; a test checks it)."""
    found: dict[str, Question] = {}
    for kind in QUESTIONNAIRES:
        found.update(questions(kind))
    return found
