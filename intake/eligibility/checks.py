"""The building blocks of the eligibility rules: the facts a rule reads (the answers the patient
could see, scores, medicines) and small combinators that turn them into checks.

A check returns a Hit (the answer keys that made it fire, and words for the flag's title) or None.
Pure: no ORM, no clock, no settings.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from intake import medications, policy, scoring
from intake.instruments import instrument
from intake.questions import Question, all_questions

# The values of intake.models.Severity, most pressing first (that module needs Django's app
# registry, which this pure package does without; tests check the two agree).
URGENT, HARD_STOP, REVIEW, INFO = "urgent", "hard_stop", "review", "info"
SEVERITIES = (URGENT, HARD_STOP, REVIEW, INFO)
DATE_OF_BIRTH = "date_of_birth"
EARLIEST_DATE = dt.date(1900, 1, 1)


# --- Facts the rules read ------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    answers: Mapping[str, Any]  # visible answers only
    today: dt.date
    date_of_birth: dt.date | None
    scores: Mapping[str, Any]  # intake.scoring.score_all of the visible answers
    medications: tuple[Any, ...]
    classes: Mapping[str, list[int]]  # intake.medications.classes_in


@dataclass(frozen=True)
class Hit:
    """A check that fired: the answer keys that made it fire, and words for the flag's title."""

    evidence: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __add__(self, other: Hit) -> Hit:
        return Hit(
            tuple(dict.fromkeys(self.evidence + other.evidence)),
            tuple(dict.fromkeys(self.notes + other.notes)),
        )


@dataclass(frozen=True)
class Check:
    """A predicate over Facts: a Hit when it fires, else None. `reads` names the answer keys it
    looks at, so a test can prove each still exists in the questionnaire."""

    test: Callable[[Facts], Hit | None]
    reads: frozenset[str]

    def __call__(self, facts: Facts) -> Hit | None:
        return self.test(facts)


@cache
def _questions() -> dict[str, Question]:
    return all_questions()


def _choice(facts: Facts, key: str) -> Any:
    """A single-choice answer if it is one of the question's option values, else None."""
    value = facts.answers.get(key)
    if scoring.is_item(key):
        return scoring.item_value(facts.answers, key)
    question = _questions().get(key)
    if question is None or not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if value in {option for option, _label in question.options} else None


def _choices(facts: Facts, key: str) -> list[str]:
    """A multiple-choice answer's valid option values (a lone string counts as a list of one)."""
    value = facts.answers.get(key)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    question = _questions().get(key)
    allowed = {option for option, _label in question.options} if question else set()
    return [v for v in values if isinstance(v, str) and v in allowed]


def _number(facts: Facts, key: str) -> int | None:
    """An int answer within its question's limits, or an instrument item's value."""
    if scoring.is_item(key):
        return scoring.item_value(facts.answers, key)
    value = scoring.as_int(facts.answers.get(key))
    question = _questions().get(key)
    if value is None or question is None:
        return None
    if question.minimum is not None and value < question.minimum:
        return None
    if question.maximum is not None and value > question.maximum:
        return None
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _date(facts: Facts, key: str) -> dt.date | None:
    """A past event's date, or None when missing, unreadable, in the future, before 1900 or
    before the patient was born."""
    when = _as_date(facts.answers.get(key))
    if when is None or when > facts.today or when < EARLIEST_DATE:
        return None
    if facts.date_of_birth is not None and when < facts.date_of_birth:
        return None
    return when


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` earlier, clamped to the month's end (31 Aug -> 28 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Whole years; a 29 February birthday counts from 1 March in non-leap years."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


# --- Combinators ---------------------------------------------------------------------------------


def answer_in(key: str, *values: Any, missing_counts: bool = False, say: str = "") -> Check:
    """Fires when the answer is one of `values`, adding `say` to the title. With missing_counts, an
    unanswered (or unreadable) answer fires too, read as values[0], and the title says so."""

    def test(facts: Facts) -> Hit | None:
        value = _choice(facts, key)
        if value in values:
            return Hit((key,), (say,) if say else ())
        if value is None and missing_counts:
            return Hit(notes=(f"{key} not answered: treated as {values[0]!r}",))
        return None

    return Check(test, frozenset({key}))


def yes(key: str, *, missing_counts: bool = False, say: str = "") -> Check:
    return answer_in(key, "yes", missing_counts=missing_counts, say=say)


def text_given(key: str) -> Check:
    """Fires when a free-text answer is given (not blank), naming it as evidence."""

    def test(facts: Facts) -> Hit | None:
        value = facts.answers.get(key)
        return Hit((key,)) if isinstance(value, str) and value.strip() else None

    return Check(test, frozenset({key}))


def gte(key: str, threshold: int, *, say: str = "") -> Check:
    """Fires when the number (an instrument item or an int question) is >= threshold. `say` puts
    the answer in the title: say="item 9:" -> "item 9: Several days"."""

    def test(facts: Facts) -> Hit | None:
        value = _number(facts, key)
        if value is None or value < threshold:
            return None
        label = scoring.option_label(key, value) if scoring.is_item(key) else str(value)
        return Hit((key,), (f"{say} {label}",) if say else ())

    return Check(test, frozenset({key}))


def contains(key: str, *values: str, missing_counts: bool = False) -> Check:
    """Fires when a multiple-choice answer includes any of `values`. With missing_counts, an
    unanswered (or empty) one fires too, and the title says so."""

    def test(facts: Facts) -> Hit | None:
        chosen = _choices(facts, key)
        if any(value in chosen for value in values):
            return Hit((key,))
        if not chosen and missing_counts:
            return Hit(notes=(f"{key} not answered: treated as {values[0]!r}",))
        return None

    return Check(test, frozenset({key}))


def date_within(key: str, *, days: int = 0, months: int = 0, inclusive: bool = True) -> Check:
    """Fires when the ISO date answer is within the window before today: on or after the cut-off
    (inclusive) or strictly after it. A missing, unreadable or impossible date fires as well, so a
    "yes" with no usable date lands in the strictest window, and the title says so."""
    span = f"{days} days" if days else f"{months} months"
    window = f"within {span}" if inclusive else f"less than {span} ago"

    def test(facts: Facts) -> Hit | None:
        when = _date(facts, key)
        if when is None:
            return Hit(notes=(f"date not given or unreadable: treated as {window}",))
        cutoff = (
            facts.today - dt.timedelta(days=days) if days else months_before(facts.today, months)
        )
        inside = when >= cutoff if inclusive else when > cutoff
        return Hit((key,), (f"on {when.isoformat()}",)) if inside else None

    return Check(test, frozenset({key}))


def dated(key: str) -> Check:
    """Fires when the date answer is usable (see _date), putting it in the title."""

    def test(facts: Facts) -> Hit | None:
        when = _date(facts, key)
        return None if when is None else Hit((key,), (f"on {when.isoformat()}",))

    return Check(test, frozenset({key}))


def all_of(*checks: Check) -> Check:
    def test(facts: Facts) -> Hit | None:
        hit = Hit()
        for check in checks:
            found = check(facts)
            if found is None:
                return None
            hit += found
        return hit

    return Check(test, frozenset().union(*(check.reads for check in checks)))


def any_of(*checks: Check) -> Check:
    def test(facts: Facts) -> Hit | None:
        found = [hit for hit in (check(facts) for check in checks) if hit is not None]
        return sum(found, Hit()) if found else None

    return Check(test, frozenset().union(*(check.reads for check in checks)))


def not_(check: Check) -> Check:
    return Check(lambda facts: Hit() if check(facts) is None else None, check.reads)


def optional(check: Check) -> Check:
    """Never blocks; adds the check's evidence and notes when it fires."""
    return Check(lambda facts: check(facts) or Hit(), check.reads)


def noted(note: str, check: Check) -> Check:
    """The check, with `note` added to the title when it fires."""

    def test(facts: Facts) -> Hit | None:
        hit = check(facts)
        return None if hit is None else hit + Hit(notes=(note,))

    return Check(test, check.reads)


def age_under(years: int) -> Check:
    def test(facts: Facts) -> Hit | None:
        if facts.date_of_birth is None:
            return Hit((DATE_OF_BIRTH,), (f"date of birth unreadable: treated as under {years}",))
        age = age_on(facts.date_of_birth, facts.today)
        return Hit((DATE_OF_BIRTH,), (f"age {age}",)) if age < years else None

    return Check(test, frozenset({DATE_OF_BIRTH}))


def _medicine(entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    drug = medications.identify(name)
    if drug is None:
        return "?"
    if drug.exact:
        return drug.generic
    typed = " ".join(str(name).split())[:40]
    return f"possibly {drug.generic} (typed {typed!r})"


def takes(class_id: str) -> Check:
    """Fires when any medicine entry is in the class (intake.policy.MEDICATION_CLASSES)."""

    def test(facts: Facts) -> Hit | None:
        positions = facts.classes.get(class_id)
        if not positions:
            return None
        names = ", ".join(dict.fromkeys(_medicine(facts.medications[i]) for i in positions))
        return Hit(tuple(f"medications[{i}]" for i in positions), (names,))

    return Check(test, frozenset({"medications"}))


def _mme(facts: Facts) -> Decimal:
    try:
        return Decimal(str(facts.scores.get("mme_per_day", "0")))
    except InvalidOperation:
        return Decimal("0")


def opioid_mme(*, at_least: Decimal | None = None, below: Decimal | None = None) -> Check:
    """Fires when an opioid is listed and total MME/day is in [at_least, below). The title gives the
    total, which entries it leaves out, and combination products whose dose needs checking."""
    opioids = takes("opioid")

    def test(facts: Facts) -> Hit | None:
        hit = opioids(facts)
        total = _mme(facts)
        if hit is None:
            return None
        if (at_least is not None and total < at_least) or (below is not None and total >= below):
            return None
        notes = [f"{total} MME/day"]
        left_out = facts.scores.get("mme_not_computed") or []
        if left_out:
            listed = ", ".join(f"medications[{i}]" for i in left_out)
            notes.append(f"not computed for {listed} (unit, dose or name): clinician to calculate")
        combined = [
            f"medications[{i}]"
            for i in facts.classes.get("opioid", [])
            if _is_combination(facts.medications[i])
        ]
        if combined:
            notes.append(
                f"combination product at {', '.join(combined)}: check the dose is the opioid's"
            )
        return hit + Hit(notes=tuple(notes))

    return Check(test, opioids.reads)


def _is_combination(entry: Any) -> bool:
    drug = medications.identify(entry.get("name")) if isinstance(entry, Mapping) else None
    return bool(drug and drug.combination)


def reported_bp(*, review: bool) -> Check:
    """A self-reported latest reading in §2.4's CLINICIAN REVIEW band (review=True) or INFO band
    (review=False, and not in the review band). Never a hard stop: see intake.policy."""
    keys = ("bp_latest_systolic", "bp_latest_diastolic")

    def test(facts: Facts) -> Hit | None:
        systolic, diastolic = (_number(facts, key) for key in keys)
        if review:
            limits = (policy.BP_REVIEW_SYSTOLIC, policy.BP_REVIEW_DIASTOLIC)
        else:
            limits = (policy.BP_INFO_SYSTOLIC, policy.BP_INFO_DIASTOLIC)
        over = [
            key
            for key, value, limit in zip(keys, (systolic, diastolic), limits, strict=True)
            if value is not None and value >= limit
        ]
        in_review_band = (systolic or 0) >= policy.BP_REVIEW_SYSTOLIC or (
            diastolic or 0
        ) >= policy.BP_REVIEW_DIASTOLIC
        if not over or (not review and in_review_band):
            return None
        reading = f"{systolic or '?'}/{diastolic or '?'}"
        when = _date(facts, "bp_latest_on")
        notes = [f"reported {reading}", f"taken {when.isoformat()}" if when else "date not given"]
        if (systolic or 0) > policy.BP_MEASURED_HARD_STOP_SYSTOLIC_ABOVE or (
            diastolic or 0
        ) > policy.BP_MEASURED_HARD_STOP_DIASTOLIC_ABOVE:
            notes.append("would be a hard stop if measured on the day")
        return Hit((*over, *(("bp_latest_on",) if when else ())), tuple(notes))

    return Check(test, frozenset({*keys, "bp_latest_on"}))


def score_at_least(instrument_id: str, threshold: int) -> Check:
    """Fires when the instrument's total is >= threshold; evidence is the items scored above 0."""
    items = tuple(instrument(instrument_id).scoring["items"])

    def test(facts: Facts) -> Hit | None:
        result = facts.scores.get(instrument_id) or {}
        score = result.get("total")
        if not isinstance(score, int) or score < threshold:
            return None
        evidence = tuple(i for i in items if (scoring.item_value(facts.answers, i) or 0) > 0)
        return Hit(evidence, (f"total {score}, {result.get('band')}",))

    return Check(test, frozenset(items))


def pcl5_probable() -> Check:
    """PCL-5 total at or above the cut-off, or the provisional DSM-5 rule met."""
    items = tuple(instrument("pcl5").scoring["items"])

    def test(facts: Facts) -> Hit | None:
        result = facts.scores.get("pcl5") or {}
        notes = []
        if result.get("at_or_above_cutoff"):
            notes.append(f"total {result.get('total')} (cut-off {policy.PCL5_CUTOFF})")
        if result.get("dsm5_provisional"):
            notes.append("provisional DSM-5 rule met")
        if not notes:
            return None
        evidence = tuple(i for i in items if (scoring.item_value(facts.answers, i) or 0) > 0)
        return Hit(evidence, tuple(notes))

    return Check(test, frozenset({"stressful_experience", *items}))
