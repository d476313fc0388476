"""What a questionnaire shows, requires and counts for a given set of answers, and how an answer
reads back to a person. Pure functions over intake.questions and the instruments: no queries.

Every function takes the questionnaire `kind` (intake.questions.SCREENING, the default, or
CHECK_IN); those given a round read it from the round.

The questionnaire is flattened into `Entry` objects, one per stored answer key, each with the
conditions under which it is shown. Conditions are evaluated in questionnaire order against the
answers *as they are shown*: an answer to a question that is no longer shown (the patient changed
an earlier answer) stays stored but does not count, and cannot make a later question appear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import phonenumbers
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from intake import instruments as instruments_
from intake import questions as questions_
from intake.instruments import Instrument, Item
from intake.questions import MEDICATION_UNITS, SCREENING, InstrumentBlock, Question, Section
from propel import formatting

if TYPE_CHECKING:
    from intake.models import IntakeSubmission  # type-only: this module stays free of the ORM

# The item whose positive answer means the patient must see crisis resources at once (§5.3).
CRISIS_ITEM = "phq9_9"
# Unscored follow-up items: shown when any item of their instrument is above 0, never required.
OPTIONAL_ITEMS = frozenset({"phq9_difficulty", "gad7_difficulty"})
# Keys a rule may cite as evidence that are not questionnaire answers.
DERIVED_EVIDENCE = {"date_of_birth": _("Date of birth")}


# --- Conditions and entries (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """`any(answers[key] <op> value for key in keys)`; an unanswered key never satisfies `in`
    or a comparison, and always satisfies `not_in` (so the TAPS-1 4+ drinks item is asked when
    sex is not recorded as male, as the reference proposes)."""

    keys: tuple[str, ...]
    op: str  # in, not_in, >, >=, <, <=
    values: tuple[Any, ...]

    def met(self, answers: Mapping[str, Any]) -> bool:
        return any(self._test(answers.get(key)) for key in self.keys)

    def _test(self, answer: Any) -> bool:
        if self.op == "in":
            return answer is not None and answer in self.values
        if self.op == "not_in":
            return answer not in self.values
        if not isinstance(answer, int | float) or isinstance(answer, bool):
            return False
        limit: float = self.values[0]
        return {
            ">": answer > limit,
            ">=": answer >= limit,
            "<": answer < limit,
            "<=": answer <= limit,
        }[self.op]

    def as_json(self) -> dict[str, Any]:
        """The condition for static/js/questionnaire.js (which compares values as strings)."""
        return {"keys": list(self.keys), "op": self.op, "values": [str(v) for v in self.values]}


def condition_from_show_if(show_if: tuple[str, tuple[Any, ...]]) -> Condition:
    key, values = show_if
    return Condition((key,), "in", tuple(values))


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return int(text)


def parse_display_condition(text: str) -> Condition:
    """Parse the display conditions used in instruments.json:
    `key == 'value'`, `key != 'value'`, `key == 1`, `any of prefix_1..prefix_9 > 0`.
    Anything else raises ValueError (a test parses every condition in the file)."""
    text = text.strip()
    keys: tuple[str, ...]
    if text.startswith("any of "):
        span, _sep, rest = text[len("any of ") :].partition(" ")
        first, _sep, last = span.partition("..")
        prefix, _sep, start = first.rpartition("_")
        last_prefix, _sep, end = last.rpartition("_")
        if not prefix or prefix != last_prefix or not start.isdigit() or not end.isdigit():
            raise ValueError(f"unknown display condition {text!r}")
        keys = tuple(f"{prefix}_{n}" for n in range(int(start), int(end) + 1))
    else:
        key, _sep, rest = text.partition(" ")
        keys = (key,)
    op, _sep, value = rest.strip().partition(" ")
    if not value or not all(key.replace("_", "").isalnum() for key in keys):
        raise ValueError(f"unknown display condition {text!r}")
    if op == "==":
        return Condition(keys, "in", (_literal(value),))
    if op == "!=":
        return Condition(keys, "not_in", (_literal(value),))
    if op in {">", ">=", "<", "<="}:
        return Condition(keys, op, (_literal(value),))
    raise ValueError(f"unknown display condition {text!r}")


@dataclass(frozen=True)
class Entry:
    """One stored answer key: a clinic question or an instrument item.

    `block_condition` is the instrument block's show_if (PCL-5 only after a stressful experience);
    `condition` is the question's own show_if or the item's display condition.
    """

    key: str
    section_key: str
    required: bool
    condition: Condition | None = None
    block_condition: Condition | None = None
    question: Question | None = None
    instrument: Instrument | None = None
    item: Item | None = None

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(c for c in (self.block_condition, self.condition) if c is not None)

    @property
    def text(self) -> Any:
        if self.question is not None:
            return question_text(self.question)
        assert self.item is not None  # an entry is a question or an item
        return instruments_.shown_item(self.item).text  # published wording, active language

    @property
    def kind(self) -> str:
        return self.question.kind if self.question is not None else "item"

    def shown(self, answers: Mapping[str, Any]) -> bool:
        return all(condition.met(answers) for condition in self.conditions)

    def option_label(self, value: Any) -> str:
        if self.item is not None:
            options = instruments_.shown_item(self.item).options
            return _option_label(((o.value, o.label) for o in options), value)
        return _option_label(self.question.options if self.question else (), value)


def question_text(question: Question) -> Any:
    """The question's wording as shown: placeholders named in `text_params` are filled from their
    settings at the moment it is shown (the check-in's alcohol window follows
    CHECK_IN_ABSTINENCE_HOURS), in the active language."""
    if not question.text_params:
        return question.text
    values = {name: getattr(settings, setting) for name, setting in question.text_params}
    return question.text % values


def instrument_ids(kind: str = SCREENING) -> tuple[str, ...]:
    """The instruments a questionnaire asks, in order."""
    return tuple(
        part.instrument_id
        for section_ in questions_.sections(kind)
        for part in section_.parts
        if isinstance(part, InstrumentBlock)
    )


def _section_entries(section_: Section) -> tuple[Entry, ...]:
    entries: list[Entry] = []
    for part in section_.parts:
        if isinstance(part, Question):
            entries.append(
                Entry(
                    part.key,
                    section_.key,
                    part.required,
                    condition=condition_from_show_if(part.show_if) if part.show_if else None,
                    question=part,
                )
            )
            continue
        instrument = instruments_.instrument(part.instrument_id)
        block = condition_from_show_if(part.show_if) if part.show_if else None
        for item in instrument.items:
            entries.append(
                Entry(
                    item.id,
                    section_.key,
                    item.id not in OPTIONAL_ITEMS,
                    condition=(
                        parse_display_condition(item.display_condition)
                        if item.display_condition
                        else None
                    ),
                    block_condition=block,
                    instrument=instrument,
                    item=item,
                )
            )
    return tuple(entries)


@cache
def section_entries(section_key: str, kind: str = SCREENING) -> tuple[Entry, ...]:
    return _section_entries(questions_.section(section_key, kind))


@cache
def all_entries(kind: str = SCREENING) -> dict[str, Entry]:
    """Every entry of one questionnaire by key, in questionnaire order."""
    return {
        entry.key: entry
        for section_ in questions_.sections(kind)
        for entry in section_entries(section_.key, kind)
    }


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def effective_answers(answers: Mapping[str, Any], kind: str = SCREENING) -> dict[str, Any]:
    """The answers that count: those to entries shown given the answers before them.

    Stale answers (to questions hidden by a later change) and unknown keys are left out. This is
    what scoring, the rules and the summaries see.
    """
    effective: dict[str, Any] = {}
    if not isinstance(answers, Mapping):
        return effective
    for key, entry in all_entries(kind).items():
        if key in answers and _shown_safely(entry, effective):
            effective[key] = answers[key]
    return effective


def _shown_safely(entry: Entry, answers: Mapping[str, Any]) -> bool:
    try:
        return entry.shown(answers)
    except TypeError:  # an unhashable or incomparable stale value hides what depends on it
        return False


def shown_keys(answers: Mapping[str, Any], kind: str = SCREENING) -> set[str]:
    """Keys of every entry shown for these answers (answered or not)."""
    effective: dict[str, Any] = {}
    shown: set[str] = set()
    for key, entry in all_entries(kind).items():
        if entry.shown(effective):
            shown.add(key)
            if key in answers:
                effective[key] = answers[key]
    return shown


def missing_answers(
    answers: Mapping[str, Any], section_key: str | None = None, kind: str = SCREENING
) -> list[Entry]:
    """Required entries that are shown but not answered, in order."""
    shown = shown_keys(answers, kind)
    entries = (
        section_entries(section_key, kind) if section_key else tuple(all_entries(kind).values())
    )
    return [
        entry
        for entry in entries
        if entry.required and entry.key in shown and is_blank(answers.get(entry.key))
    ]


def incomplete_sections(submission: IntakeSubmission) -> list[Section]:
    """Sections not yet saved, or saved but missing a required answer (an earlier change can make
    a question appear in a section already done, e.g. sex and the TAPS-1 alcohol item)."""
    kind = submission.kind
    missing = {entry.section_key for entry in missing_answers(submission.answers, kind=kind)}
    done = set(submission.completed_sections)
    return [s for s in questions_.sections(kind) if s.key not in done or s.key in missing]


# --- Reading answers back (pure) ---------------------------------------------------------------


def _option_label(options: Iterable[tuple[Any, Any]], value: Any) -> str:
    for option_value, label in options:
        if option_value == value:
            return str(label)
    return str(value)


def _format_date(value: Any) -> str:
    try:
        return formatting.calendar_date(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _format_phone(value: Any) -> str:
    try:
        number = phonenumbers.parse(str(value), "US")
    except phonenumbers.NumberParseException:
        return str(value)
    region = phonenumbers.region_code_for_number(number)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == "US"
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def medication_label(row: Mapping[str, Any]) -> str:
    parts = [str(row.get("name") or "")]
    if row.get("dose") not in (None, ""):
        unit = _option_label(MEDICATION_UNITS, row.get("unit")) if row.get("unit") else ""
        if row.get("unit") == "other":
            unit = ""
        parts.append(f"{row['dose']} {unit}".strip())
    times = row.get("times_per_day")
    if times:
        parts.append(
            ngettext("%(count)d time a day", "%(count)d times a day", int(times))
            % {"count": int(times)}
        )
    return ", ".join(part for part in parts if part)


def answer_label(key: str, value: Any, kind: str = SCREENING) -> str:
    """A stored answer as a person reads it ("Several days", "Mar 3, 2021", "Yes")."""
    if value is None or value == "" or value == []:
        return str(_("Not answered"))
    entry = all_entries(kind).get(key)
    if entry is None:
        if isinstance(value, dt.date):
            return formatting.calendar_date(value)
        return str(value)
    if entry.item is not None:
        return entry.option_label(value)
    question = entry.question
    assert question is not None  # not an item, so a question
    kind = question.kind
    if kind in {"yes_no", "yes_no_unsure", "yes_no_na", "choice"}:
        return _option_label(question.options, value)
    if kind == "multi":
        values = value if isinstance(value, list) else [value]
        return ", ".join(_option_label(question.options, v) for v in values)
    if kind == "checkbox":
        return str(_("Yes")) if value is True else str(_("No"))
    if kind == "date":
        return _format_date(value)
    if kind == "phone":
        return _format_phone(value)
    if kind == "medications":
        rows = value if isinstance(value, list) else []
        return "; ".join(medication_label(row) for row in rows if isinstance(row, dict))
    return str(value)


@dataclass(frozen=True)
class AnswerRow:
    key: str
    question: str
    answer: str
    answered: bool


@dataclass(frozen=True)
class SectionSummary:
    section: Section
    number: int
    rows: list[AnswerRow]
    complete: bool
    edit_url: str = ""  # filled in by the patient's review page (intake.views)


def summarise(submission: IntakeSubmission) -> list[SectionSummary]:
    """Every section with its shown questions and the answers that count, for review pages."""
    kind = submission.kind
    answers = submission.answers
    effective = effective_answers(answers, kind)
    shown = shown_keys(answers, kind)
    incomplete = {s.key for s in incomplete_sections(submission)}
    summaries = []
    for number, section_ in enumerate(questions_.sections(kind), start=1):
        rows = [
            AnswerRow(
                key=entry.key,
                question=str(entry.text),
                answer=answer_label(entry.key, effective.get(entry.key), kind),
                answered=not is_blank(effective.get(entry.key)),
            )
            for entry in section_entries(section_.key, kind)
            if entry.key in shown
        ]
        summaries.append(
            SectionSummary(section_, number, rows, complete=section_.key not in incomplete)
        )
    return summaries


def _list_position(key: str, list_key: str) -> int | None:
    """3 for "medications[3]"; None for anything else."""
    prefix = f"{list_key}["
    if key.startswith(prefix) and key.endswith("]") and key[len(prefix) : -1].isdigit():
        return int(key[len(prefix) : -1])
    return None


def flag_evidence(
    keys: Iterable[str],
    answers: Mapping[str, Any],
    *,
    date_of_birth: dt.date,
    kind: str = SCREENING,
) -> list[dict[str, str]]:
    """Evidence as stored on a Flag: which question, in the clinic's language, and the answer."""
    rows = []
    entries = all_entries(kind)
    with translation.override("en"):
        for key in keys:
            entry = entries.get(key)
            if entry is not None:
                question = str(entry.text)
                answer = answer_label(key, answers.get(key), kind)
            elif key == "date_of_birth":
                question = str(DERIVED_EVIDENCE[key])
                answer = answer_label(key, date_of_birth)
            elif (position := _list_position(key, "medications")) is not None:
                listed = answers.get("medications")
                listed = listed if isinstance(listed, list) else []
                question = f"{all_entries()['medications'].text} ({position + 1})"
                row = listed[position] if position < len(listed) else None
                answer = medication_label(row) if isinstance(row, dict) else str(_("Not answered"))
            else:
                question = key.replace("_", " ").capitalize()
                answer = answer_label(key, answers.get(key))
            rows.append({"key": key, "question": question, "answer": answer})
    return rows
