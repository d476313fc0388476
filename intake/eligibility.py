"""Which flags a screening raises: the reference's rule tables (shared/clinical/
screening-reference.md §1.2, §2.4, §3, §4, §5, §7.2) as one table of rules over the answers.

`evaluate(answers, date_of_birth=..., today=...)` is pure: no ORM, no clock, no settings. It reads
only the answers the patient could see (`visible`): a stale answer to a follow-up whose question
is now hidden (mi_on kept after mi_ever changed to "no") never raises a flag.

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

import calendar
import datetime as dt
import logging
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from intake import medications, policy, scoring
from intake.instruments import instrument
from intake.questions import SECTIONS, InstrumentBlock, Question, questions

logger = logging.getLogger(__name__)

# The values of intake.models.Severity, most pressing first (that module needs Django's app
# registry, which this pure module does without; tests check the two agree).
URGENT, HARD_STOP, REVIEW, INFO = "urgent", "hard_stop", "review", "info"
SEVERITIES = (URGENT, HARD_STOP, REVIEW, INFO)
_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}
DATE_OF_BIRTH = "date_of_birth"
TITLE_MAX_LENGTH = 200  # intake.models.Flag.title
EARLIEST_DATE = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class FlagResult:
    rule_id: str
    severity: str  # one of SEVERITIES
    title: str  # clinician wording, never shown to patients
    evidence: tuple[str, ...]  # answer keys, "date_of_birth", "medications[2]"
    source: str  # the reference's rule id and basis
    priority: str = ""  # PHQ-9 item 9 only: "urgent" or "immediate" (§5.3)


# --- What the patient could see ------------------------------------------------------------------

Getter = Callable[[str], Any]


_ANY_OF = re.compile(r"^any of ([a-z0-9]+_)(\d+)\.\.\1(\d+) > (\d+)$")
_COMPARE = re.compile(r"^([a-z0-9_]+) (==|!=) (.+)$")


def _display_condition(text: str) -> Callable[[Getter], bool]:
    """The three forms instruments.json uses: "any of phq9_1..phq9_9 > 0", "sex == 'male'",
    "kh_nonmedical_ever == 1". Anything else is an error in the data file, found by the tests."""
    if match := _ANY_OF.match(text):
        prefix, first, last, above = match.groups()
        keys = [f"{prefix}{n}" for n in range(int(first), int(last) + 1)]

        def any_above(get: Getter) -> bool:
            values = (scoring.as_int(get(key)) for key in keys)
            return any(value is not None and value > int(above) for value in values)

        return any_above
    if match := _COMPARE.match(text):
        key, op, literal = match.groups()
        compare = operator.eq if op == "==" else operator.ne
        if literal.isdigit():
            number = int(literal)
            return lambda get: compare(scoring.as_int(get(key)), number)
        if len(literal) >= 2 and literal[0] == literal[-1] == "'":
            word = literal[1:-1]
            return lambda get: compare(get(key), word)
    raise ValueError(f"unsupported display_condition: {text!r}")


def _show_if(show_if: tuple[str, tuple[Any, ...]] | None) -> Callable[[Getter], bool] | None:
    if show_if is None:
        return None
    key, values = show_if
    return lambda get: get(key) in values


@cache
def _display_rules() -> dict[str, Callable[[Getter], bool] | None]:
    """Every answer key in questionnaire order -> the test that shows it (None: always shown)."""
    rules: dict[str, Callable[[Getter], bool] | None] = {}
    for section in SECTIONS:
        for part in section.parts:
            if isinstance(part, Question):
                rules[part.key] = _show_if(part.show_if)
            elif isinstance(part, InstrumentBlock):
                block = _show_if(part.show_if)
                for item in instrument(part.instrument_id).items:
                    own = (
                        _display_condition(item.display_condition)
                        if item.display_condition
                        else None
                    )
                    rules[item.id] = _both(block, own)
    return rules


def _both(
    first: Callable[[Getter], bool] | None, second: Callable[[Getter], bool] | None
) -> Callable[[Getter], bool] | None:
    if first is None or second is None:
        return first or second
    return lambda get: first(get) and second(get)


def visible(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to questions the patient could see, given their other answers: a question's
    show_if, its instrument block's show_if and the instrument item's display_condition, applied
    through chains (metastasis_sites needs metastases "yes", which needs has_cancer "yes").
    Keys the questionnaire does not ask are dropped."""
    if not isinstance(answers, Mapping):
        return {}
    rules = _display_rules()
    shown: dict[str, bool] = {}

    def get(key: str) -> Any:
        return answers.get(key) if is_shown(key) else None

    def is_shown(key: str) -> bool:
        if key not in shown:
            shown[key] = False  # a cycle in the data would hide, not recurse forever
            test = rules.get(key)
            try:
                shown[key] = test is None or bool(test(get))
            except TypeError:  # an unhashable or incomparable stale value
                shown[key] = False
        return shown[key]

    return {key: answers[key] for key in rules if key in answers and is_shown(key)}


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
    return questions()


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
                return step["priority"]
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

RULES: tuple[Rule, ...] = (
    # §5.3 / A23: crisis pathway. Booking is not blocked; no infusion before a documented
    # assessment.
    Rule(
        "phq9_item9_positive",
        URGENT,
        "PHQ-9 item 9 positive (thoughts of death or self-harm): contact the patient and complete "
        "a validated suicide-risk assessment before any infusion",
        "A23 / §5.3 · Simon 2013, 2016; NPSG 15.01.01; workflow PROPOSED",
        gte("phq9_9", 1, say="item 9:"),
        priority=_item9_priority,
    ),
    # §1.2
    Rule(
        "ketamine_allergy",
        HARD_STOP,
        "Allergy or hypersensitivity to ketamine or esketamine",
        "A1 · Ketalar and Spravato labels",
        yes("ketamine_allergy"),
    ),
    Rule(
        "pregnancy",
        HARD_STOP,
        "Pregnant, possibly pregnant, or planning pregnancy in the next 3 months",
        "A2 · Spravato patient information; trial exclusions; clinic practice",
        yes("pregnancy"),
    ),
    Rule(
        "breastfeeding",
        REVIEW,
        "Currently breastfeeding",
        "A3 · Spravato: do not breastfeed",
        yes("breastfeeding"),
    ),
    Rule(
        "aneurysm_avm",
        HARD_STOP,
        "Known aneurysm (brain, aorta or other artery) or arteriovenous malformation",
        "A4 / §3 · Spravato contraindication",
        yes("aneurysm_avm"),
    ),
    Rule(
        "brain_bleed",
        HARD_STOP,
        "History of intracerebral haemorrhage",
        "A5 / §3 · Spravato contraindication",
        yes("brain_bleed"),
    ),
    Rule(
        "psychosis_or_mania_current",
        HARD_STOP,
        "Current psychosis or mania/hypomania",
        "A8 · Cohen 2018 (poorly controlled psychoses); trial exclusions",
        any_of(
            yes("psychosis_recent", say="hallucinations or paranoia in the past month"),
            yes("mania_recent", say="elevated mood or much less sleep in the past 2 weeks"),
        ),
    ),
    Rule(
        "psychosis_history",
        REVIEW,
        "Past diagnosis of a psychotic disorder or hospitalisation for psychosis",
        "A9 · Sanacora 2017 (secondary); Spravato (assess benefit and risk)",
        yes("psychosis_history"),
    ),
    Rule(
        "bipolar",
        REVIEW,
        "Bipolar disorder",
        "A10 · trial practice (bipolar depression with mood stabilisers)",
        yes("bipolar"),
    ),
    Rule(
        "kh_nonmedical_use",
        HARD_STOP,
        "Non-medical ketamine use, or treatment for ketamine-related problems",
        "A11 · clinic policy (history of ketamine misuse); Cohen 2018",
        all_of(
            any_of(
                noted("non-medical use", gte("kh_nonmedical_ever", 1)),
                noted("treated for ketamine-related problems", gte("kh_treatment", 1)),
            ),
            optional(gte("kh_last_use", 1, say="last use:")),
        ),
    ),
    Rule(
        "taps1_drug_or_rx_positive",
        REVIEW,
        "TAPS-1 positive for illicit drugs or prescription misuse: complete TAPS-2; hard stop if "
        "an active substance-use disorder is confirmed",
        "A12 / §4 · Cohen 2018 (no serial infusions with active substance abuse); TAPS-1; PROPOSED",
        any_of(
            gte("taps1_drugs", 1, say="illicit drugs:"),
            gte("taps1_rx", 1, say="prescription misuse:"),
        ),
    ),
    Rule(
        "raised_icp",
        HARD_STOP,
        "Known or suspected raised intracranial pressure (hydrocephalus, shunt, or told of raised "
        "pressure)",
        "A14 · Cohen 2018 (grade C); Mayo trial exclusion",
        RAISED_ICP,
    ),
    Rule(
        "brain_tumour_or_metastasis",
        REVIEW,
        "Brain tumour or brain metastases without known raised pressure",
        "A15 · Cohen 2018 (lower dose, extreme caution)",
        all_of(
            any_of(
                all_of(yes("brain_condition"), contains("brain_condition_kind", "tumour")),
                contains("metastasis_sites", "brain"),
            ),
            not_(RAISED_ICP),
        ),
    ),
    Rule(
        "eye_acute",
        HARD_STOP,
        "Acute angle-closure glaucoma or open-globe eye injury",
        "A16 · Cohen 2018 (grade C); hard-stop tier PROPOSED",
        all_of(yes("eye_pressure"), EYE_ACUTE),
    ),
    Rule(
        "eye_pressure",
        REVIEW,
        "Glaucoma or raised eye pressure, or eye surgery or injury in the last 3 months",
        "A16 · Cohen 2018 (grade C)",
        all_of(
            yes("eye_pressure"),
            not_(EYE_ACUTE),
            optional(
                answer_in(
                    "eye_acute",
                    "unsure",
                    say="patient not sure whether acute angle-closure or open-globe",
                )
            ),
        ),
    ),
    Rule(
        "liver_severe",
        HARD_STOP,
        "Severe liver disease (cirrhosis, liver failure or severe damage)",
        "A17 · Cohen 2018 (avoid in severe hepatic impairment)",
        yes("liver_severe"),
    ),
    Rule(
        "liver_disease",
        REVIEW,
        "Liver disease, liver metastases or abnormal liver tests: plan liver-test monitoring",
        "A18 · Cohen 2018 (judicious use with monitoring); Noppers 2011; Cotter 2021",
        any_of(
            yes("liver_disease"),
            noted("liver metastases", contains("metastasis_sites", "liver")),
        ),
    ),
    Rule(
        "bladder_symptoms",
        REVIEW,
        "Bladder or urinary symptoms, or interstitial cystitis",
        "A19 · Psychiatric Annals 2018 (screen for a history of cystitis)",
        yes("bladder"),
    ),
    Rule(
        "kh_urinary_symptoms",
        REVIEW,
        "Urinary or bladder problems a doctor linked to ketamine (possible ketamine uropathy)",
        "A19 / §4 · ketamine_use_history supplement (not validated); Psychiatric Annals 2018",
        gte("kh_urinary", 1),
    ),
    Rule(
        "seizures",
        REVIEW,
        "Epilepsy or a past seizure",
        "A20 · some clinic exclusion lists; not a guideline item (unconfirmed)",
        yes("seizures"),
    ),
    Rule(
        "lung_disease_osa",
        REVIEW,
        "Home oxygen, severe lung disease or CPAP (sleep apnoea): bring CPAP",
        "A21 · clinic practice; not a guideline item (unconfirmed)",
        yes("lung_osa"),
    ),
    Rule(
        "under_18",
        HARD_STOP,
        f"Under {policy.ADULT_AGE}",
        "A22 · clinic scope; Spravato not approved in paediatrics",
        age_under(policy.ADULT_AGE),
    ),
    # §3 cardiac and cerebrovascular (windows PROPOSED, by analogy)
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
    # §7.2 medicines (tiers PROPOSED)
    Rule(
        "med_benzodiazepine",
        REVIEW,
        "Benzodiazepine (may reduce the antidepressant effect): record dose and "
        "diazepam-equivalent",
        "§7.2 · Andrade 2017; Andrashko 2020",
        takes("benzodiazepine"),
    ),
    Rule(
        "med_maoi",
        REVIEW,
        "MAOI: monitor BP closely",
        "§7.2 · Spravato label",
        takes("maoi"),
    ),
    Rule(
        "med_psychostimulant",
        REVIEW,
        "Prescribed psychostimulant: risk of raised BP and heart rate",
        "§7.2 · Spravato label; Ketalar label (unconfirmed wording)",
        takes("psychostimulant"),
    ),
    Rule(
        "med_opioid_high_mme",
        REVIEW,
        f"Opioids at or above {policy.OPIOID_MME_REVIEW_AT} MME/day: additive sedation and "
        "respiratory depression",
        "§7.2 · CDC 2016/2022; threshold PROPOSED; information only for cancer pain",
        opioid_mme(at_least=policy.OPIOID_MME_REVIEW_AT),
    ),
    Rule(
        "med_opioid",
        INFO,
        "Opioids: additive sedation",
        "§7.2 · ASA 2025; CDC 2022",
        opioid_mme(below=policy.OPIOID_MME_REVIEW_AT),
    ),
    Rule(
        "med_lamotrigine",
        INFO,
        "Lamotrigine (effect on ketamine's antidepressant action not known)",
        "§7.2 · Andrade 2017; Mayo trial exclusion",
        takes("lamotrigine"),
    ),
    Rule(
        "med_nmda_other",
        INFO,
        "Other NMDA-active medicine",
        "§7.2 · Mayo trial exclusion list",
        takes("nmda_other"),
    ),
    Rule(
        "med_cns_depressant",
        INFO,
        "Other CNS depressant: additive sedation",
        "§7.2 · Spravato label (CNS depressants)",
        takes("cns_depressant"),
    ),
    Rule(
        "med_naltrexone",
        INFO,
        "Naltrexone (may attenuate the antidepressant effect)",
        "§7.2 · Williams 2018 (unconfirmed)",
        takes("naltrexone"),
    ),
    Rule(
        "med_cyp_interacting",
        INFO,
        "CYP3A4/CYP2B6 inhibitor or inducer: changes ketamine exposure",
        "§7.2 · Andrade 2017",
        takes("cyp_interacting"),
    ),
    Rule(
        "med_glp1_agonist",
        INFO,
        "GLP-1 receptor agonist: delayed gastric emptying, review fasting instructions",
        "§7.2 · ASA guidance on GLP-1 RAs and sedation (unconfirmed)",
        takes("glp1_agonist"),
    ),
    Rule(
        "med_theophylline",
        INFO,
        "Theophylline or aminophylline (may lower the seizure threshold)",
        "§7.2 · Ketalar label (unconfirmed)",
        takes("theophylline"),
    ),
    Rule(
        "med_antidepressant",
        INFO,
        "Conventional antidepressant (can probably be combined)",
        "§7.2 · Andrade 2017",
        takes("antidepressant"),
    ),
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
    Rule(
        "phq9_moderate_or_above",
        INFO,
        f"PHQ-9 >= {policy.PHQ9_FLAG_AT}",
        "§5.2 · Kroenke 2001",
        score_at_least("phq9", policy.PHQ9_FLAG_AT),
    ),
    Rule(
        "gad7_moderate_or_above",
        INFO,
        f"GAD-7 >= {policy.GAD7_FLAG_AT}",
        "§5.4 · Spitzer 2006",
        score_at_least("gad7", policy.GAD7_FLAG_AT),
    ),
    Rule(
        "pcl5_probable_ptsd",
        INFO,
        "PCL-5 suggests probable PTSD: confirm with a clinical interview",
        "§5.5 · National Center for PTSD; cut-off PROPOSED",
        pcl5_probable(),
    ),
)


# --- Evaluation ----------------------------------------------------------------------------------


def _facts(answers: Mapping[str, Any], date_of_birth: object, today: dt.date) -> Facts:
    if isinstance(today, dt.datetime):
        today = today.date()
    if not isinstance(today, dt.date):
        raise TypeError("today must be a date")  # a caller's bug, not odd patient input
    shown = visible(answers)
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
    answers: Mapping[str, Any], *, date_of_birth: dt.date, today: dt.date
) -> list[FlagResult]:
    """Every flag the answers raise, most pressing first (urgent, hard stop, review, info), then by
    rule id. Reads only visible answers. `today` is the clinic's date of the evaluation."""
    facts = _facts(answers, date_of_birth, today)
    flags = [flag for rule in RULES if (flag := _apply(rule, facts)) is not None]
    return sorted(flags, key=lambda flag: (_SEVERITY_ORDER[flag.severity], flag.rule_id))


def rules_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in RULES}
