"""The pre-infusion vital-signs gate (reference §2.4, PROPOSED; the medical director approves the
numbers, which live in settings as VITALS_*). Pure: thresholds come in as a VitalThresholds, the
readings as plain values; scheduling.visits loads, stores and decides what happens next.

§2.4 in short: measure seated after 5 minutes' rest; if the first reading is at or above a flag
line, repeat after 5 more minutes and count the lower of the two. Symptoms send the patient down
the emergency pathway whatever the numbers say. Otherwise the most severe band any value falls in
wins: defer (hard stop for today) > clinician sign-off > proceed with a note > proceed.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Collection
from typing import Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from scheduling.models import GateOutcome

# Symptom codes stored on VitalReading.symptoms (reference §2.4, the emergency row).
SYMPTOMS: tuple[tuple[str, StrOrPromise], ...] = (
    ("chest_pain", gettext_lazy("Chest pain")),
    ("short_of_breath", gettext_lazy("Shortness of breath")),
    ("severe_headache", gettext_lazy("Sudden severe headache")),
    ("vision_change", gettext_lazy("Change in vision")),
    ("confusion", gettext_lazy("Confusion")),
    ("focal_weakness", gettext_lazy("Weakness in one part of the body")),
)
SYMPTOM_CODES = frozenset(code for code, _label in SYMPTOMS)

# Most severe last; "the most severe wins" compares by this.
SEVERITY: dict[str, int] = {
    GateOutcome.PROCEED: 0,
    GateOutcome.PROCEED_WITH_NOTE: 1,
    GateOutcome.SIGN_OFF: 2,
    GateOutcome.DEFER: 3,
    GateOutcome.EMERGENCY: 4,
}

# Values outside these are typing errors, not patients (the same bounds as the table's check
# constraint vital_reading_plausible, so a bad value is refused with a message, not a 500).
PLAUSIBLE: dict[str, tuple[int, int]] = {
    "systolic": (50, 300),
    "diastolic": (20, 200),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
    "weight_lb": (50, 1000),
}


@dataclasses.dataclass(frozen=True)
class VitalThresholds:
    """The §2.4 lines. `*_above` lines are exceeded strictly (SBP 181 defers, 180 does not);
    `*_below` lines strictly (HR 49 defers, 50 does not); the others are "at or above"."""

    note_systolic: int = 140  # SBP 140-159 -> proceed with a note
    note_diastolic: int = 90  # DBP 90-99
    sign_off_systolic: int = 160  # SBP 160-180 -> clinician sign-off
    sign_off_diastolic: int = 100  # DBP 100-110
    defer_above_systolic: int = 180  # SBP > 180 -> defer
    defer_above_diastolic: int = 110  # DBP > 110
    hr_defer_below: int = 50  # HR < 50 -> defer
    hr_defer_above: int = 120  # HR > 120 -> defer
    hr_sign_off_from: int = 100  # HR 100-120 -> sign-off
    spo2_sign_off_below: int = 95  # SpO2 < 95 -> sign-off
    spo2_defer_below: int = 90  # SpO2 < 90 -> defer


DEFAULT_THRESHOLDS = VitalThresholds()


class ReadingLike(Protocol):
    """A VitalReading row or a Reading: read-only properties, so a frozen dataclass fits."""

    @property
    def systolic(self) -> int: ...
    @property
    def diastolic(self) -> int: ...
    @property
    def heart_rate(self) -> int: ...
    @property
    def spo2(self) -> int: ...
    @property
    def symptoms(self) -> Collection[str]: ...


@dataclasses.dataclass(frozen=True)
class Reading:
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    symptoms: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Assessment:
    """`outcome` a GateOutcome value; `reasons` every finding in words, most severe first;
    `codes` the same findings as stable codes (e.g. "bp_defer"), for code that branches on them."""

    outcome: str
    reasons: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()


def as_reading(reading: ReadingLike) -> Reading:
    return Reading(
        systolic=reading.systolic,
        diastolic=reading.diastolic,
        heart_rate=reading.heart_rate,
        spo2=reading.spo2,
        symptoms=frozenset(reading.symptoms or ()),
    )


def implausible(values: dict[str, int | None]) -> list[str]:
    """The fields (keys of PLAUSIBLE) whose value is outside the plausible range; None is skipped
    (weight is optional). A diastolic at or above the systolic is reported as "diastolic"."""
    bad = [
        field
        for field, value in values.items()
        if value is not None
        and field in PLAUSIBLE
        and not PLAUSIBLE[field][0] <= value <= PLAUSIBLE[field][1]
    ]
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if (
        "diastolic" not in bad
        and systolic is not None
        and diastolic is not None
        and diastolic >= systolic
    ):
        bad.append("diastolic")
    return bad


def needs_repeat(reading: ReadingLike, t: VitalThresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether §2.4 asks for a second reading: any value at or above a flag line (SBP >= 140 or
    DBP >= 90, HR >= 100 or < 50, SpO2 < 95). With symptoms there is no waiting: the emergency
    pathway starts on the first reading, so no repeat."""
    if reading.symptoms:
        return False
    return (
        reading.systolic >= t.note_systolic
        or reading.diastolic >= t.note_diastolic
        or reading.heart_rate >= t.hr_sign_off_from
        or reading.heart_rate < t.hr_defer_below
        or reading.spo2 < t.spo2_sign_off_below
    )


Finding = tuple[str, str, str]  # (outcome, code, reason)


@dataclasses.dataclass(frozen=True)
class _Line:
    """One line of one vital sign: crossed when `crosses(value, limit)` holds for any value of
    the sign against its limit (the VitalThresholds fields in `limits`, one per value)."""

    outcome: str
    code: str
    crosses: Callable[[int, int], bool]
    limits: tuple[str, ...]
    reason: Promise  # %(value)s the reading, %(limit)s the line, as "a/b" for blood pressure


_BP_HIGHER = gettext_lazy("Blood pressure %(value)s is %(limit)s or higher.")
_HR_HIGHER = gettext_lazy("Heart rate %(value)s is %(limit)s or higher.")
_SPO2_BELOW = gettext_lazy("Oxygen saturation %(value)s%% is below %(limit)s%%.")

# Each sign (its ReadingLike fields) with its lines, most severe first: a sign's finding is the
# first line it crosses, so at most one finding each.
_SIGNS: tuple[tuple[tuple[str, ...], tuple[_Line, ...]], ...] = (
    (
        ("systolic", "diastolic"),
        (
            _Line(
                GateOutcome.DEFER,
                "bp_defer",
                operator.gt,
                ("defer_above_systolic", "defer_above_diastolic"),
                gettext_lazy("Blood pressure %(value)s is above %(limit)s."),
            ),
            _Line(
                GateOutcome.SIGN_OFF,
                "bp_sign_off",
                operator.ge,
                ("sign_off_systolic", "sign_off_diastolic"),
                _BP_HIGHER,
            ),
            _Line(
                GateOutcome.PROCEED_WITH_NOTE,
                "bp_note",
                operator.ge,
                ("note_systolic", "note_diastolic"),
                _BP_HIGHER,
            ),
        ),
    ),
    (
        ("heart_rate",),
        (
            _Line(
                GateOutcome.DEFER,
                "hr_defer",
                operator.gt,
                ("hr_defer_above",),
                gettext_lazy("Heart rate %(value)s is above %(limit)s."),
            ),
            _Line(
                GateOutcome.DEFER,
                "hr_defer",
                operator.lt,
                ("hr_defer_below",),
                gettext_lazy("Heart rate %(value)s is below %(limit)s."),
            ),
            _Line(
                GateOutcome.SIGN_OFF, "hr_sign_off", operator.ge, ("hr_sign_off_from",), _HR_HIGHER
            ),
        ),
    ),
    (
        ("spo2",),
        (
            _Line(GateOutcome.DEFER, "spo2_defer", operator.lt, ("spo2_defer_below",), _SPO2_BELOW),
            _Line(
                GateOutcome.SIGN_OFF,
                "spo2_sign_off",
                operator.lt,
                ("spo2_sign_off_below",),
                _SPO2_BELOW,
            ),
        ),
    ),
)


def _findings(reading: ReadingLike, t: VitalThresholds) -> list[Finding]:
    """(outcome, code, reason) for every line the reading crosses: symptoms, then blood pressure,
    heart rate and oxygen saturation (at most one finding each, the most severe band)."""
    found = [_symptoms_finding(reading)]
    found += [_sign_finding(reading, fields, lines, t) for fields, lines in _SIGNS]
    return [finding for finding in found if finding is not None]


def _symptoms_finding(reading: ReadingLike) -> Finding | None:
    if not reading.symptoms:
        return None
    labels = dict(SYMPTOMS)
    named = ", ".join(str(labels.get(code, code)) for code in sorted(reading.symptoms))
    return (
        GateOutcome.EMERGENCY,
        "symptoms",
        _("Symptoms reported: %(named)s.") % {"named": named},
    )


def _sign_finding(
    reading: ReadingLike, fields: tuple[str, ...], lines: tuple[_Line, ...], t: VitalThresholds
) -> Finding | None:
    """The first of the sign's lines that any of its values crosses."""
    values = [getattr(reading, field) for field in fields]
    for line in lines:
        limits = [getattr(t, name) for name in line.limits]
        if any(map(line.crosses, values, limits)):
            shown = {"value": _joined(values), "limit": _joined(limits)}
            return (line.outcome, line.code, str(line.reason) % shown)
    return None


def _joined(numbers: list[int]) -> str:
    return "/".join(str(number) for number in numbers)


def assess(reading: ReadingLike, t: VitalThresholds = DEFAULT_THRESHOLDS) -> Assessment:
    """The §2.4 outcome of one (counted) reading: the most severe band any value falls in, or
    EMERGENCY with any symptom; PROCEED (no reasons) when nothing crosses a line."""
    found = sorted(_findings(reading, t), key=lambda item: -SEVERITY[item[0]])
    if not found:
        return Assessment(outcome=GateOutcome.PROCEED)
    return Assessment(
        outcome=str(found[0][0]),
        reasons=tuple(reason for _o, _c, reason in found),
        codes=tuple(code for _o, code, _r in found),
    )


def counted(
    first: ReadingLike, repeat: ReadingLike, t: VitalThresholds = DEFAULT_THRESHOLDS
) -> Reading:
    """The reading that counts after a repeat: "the lower of the two" (§2.4).

    "Lower" is read as the reading in the less severe band (so a repeat that moves HR or SpO2 back
    into range counts even if its BP is a little higher), then the lower SBP, then the lower DBP,
    then the repeat. Mixing values from the two readings (lowest SBP with the other's HR) is not
    done: it would describe a patient nobody measured.

    Symptoms are not a measurement that a second reading can undo: the counted reading carries
    the symptoms of both, so a symptom on either one keeps the emergency pathway.
    """
    a, b = as_reading(first), as_reading(repeat)
    numbers_only = (
        dataclasses.replace(a, symptoms=frozenset()),
        dataclasses.replace(b, symptoms=frozenset()),
    )

    def key(item: tuple[int, Reading]) -> tuple[int, int, int, int]:
        order, reading = item
        return (
            SEVERITY[assess(reading, t).outcome],
            reading.systolic,
            reading.diastolic,
            -order,
        )

    _order, lower = min(enumerate(numbers_only), key=key)
    return dataclasses.replace(lower, symptoms=a.symptoms | b.symptoms)


def during_alert(reading: ReadingLike, t: VitalThresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether a reading taken during the infusion must bring a clinician now: any symptom, or any
    value past a hard-stop line (the §2.4 defer lines: SBP > 180 or DBP > 110, HR > 120 or < 50,
    SpO2 < 90). The sign-off band is expected during an infusion (ketamine raises BP) and only
    shows on the chart."""
    return SEVERITY[assess(reading, t).outcome] >= SEVERITY[GateOutcome.DEFER]
