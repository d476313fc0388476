"""The building blocks of the questionnaires: the kinds, the answer options shared by many
questions, and the Question / InstrumentBlock / Section types with their small constructors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

# The questionnaire kinds: the values of intake.models.SubmissionKind (that module needs Django's
# app registry, which this data module does without; tests check the two agree).
SCREENING, CHECK_IN = "screening", "check_in"

YES, NO, UNSURE, NOT_APPLICABLE = "yes", "no", "unsure", "not_applicable"
YES_NO = ((YES, _("Yes")), (NO, _("No")))
YES_NO_UNSURE = (*YES_NO, (UNSURE, _("Not sure")))
YES_NO_NA = (*YES_NO, (NOT_APPLICABLE, _("Does not apply to me")))

MEDICATION_UNITS = (
    ("mg", _("mg")),
    ("mcg_per_hour", _("mcg per hour (skin patch)")),
    ("other", _("Other or not sure")),
)
MAX_MEDICATIONS = 30


@dataclass(frozen=True)
class Question:
    key: str
    text: Any  # a lazy translation
    kind: str  # yes_no, yes_no_unsure, yes_no_na, choice, multi, int, decimal, date, text,
    #            phone, checkbox, medications
    required: bool = True
    options: tuple[tuple[str, Any], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    help_text: Any = ""
    # Shown (and required) only when answers[show_if[0]] is one of show_if[1].
    show_if: tuple[str, tuple[Any, ...]] | None = None
    # Dates: whether a date after today is acceptable (e.g. a next chemotherapy cycle).
    future_ok: bool = False
    rule: str = ""  # the reference rule this question feeds, for readers of this file
    # Placeholders in `text` filled from Django settings when shown: (placeholder, setting name).
    # `text` may then be an ngettext_lazy whose number is the placeholder.
    text_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InstrumentBlock:
    """All items of one validated instrument, shown verbatim in one step."""

    instrument_id: str
    show_if: tuple[str, tuple[Any, ...]] | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    intro: Any = ""
    parts: tuple[Question | InstrumentBlock, ...] = field(default_factory=tuple)


def yes_no(key: str, text: Any, *, rule: str = "", show_if=None, required: bool = True) -> Question:
    return Question(
        key, text, "yes_no", options=YES_NO, rule=rule, show_if=show_if, required=required
    )


def yes_no_unsure(key: str, text: Any, *, rule: str = "", show_if=None) -> Question:
    return Question(key, text, "yes_no_unsure", options=YES_NO_UNSURE, rule=rule, show_if=show_if)


def when(key: str, text: Any, *, show_if) -> Question:
    return Question(key, text, "date", show_if=show_if, help_text=_("An approximate date is fine."))
