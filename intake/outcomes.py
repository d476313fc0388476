"""A patient's measures over time (measurement-based care): the PHQ-9, GAD-7 and pain NRS scores of
every submitted round, screening and pre-infusion check-in alike, in time order, against the
baseline, with response and remission marked.

- Baseline: the measure's first score (the first submitted round, screening or check-in, that has
  one). It is the reference, never itself a response or a remission.
- Response: from the second score on, at least a RESPONSE_DROP_PERCENT drop from the baseline
  (score <= half of it, with the default 50), only when the baseline is above 0; reference §5.2
  calls this a convention.
- Remission (PHQ-9, GAD-7): from the second score on, a score below REMISSION_BELOW (5: the
  "none/minimal" band). The pain NRS has none.
Thresholds live in intake.policy; the severity bands (drawn on the chart) in instruments.json.

`outcome_series` is pure over plain values; `patient_outcomes` loads a patient's rounds in one
query and is what the clinician's chart passes to templates/intake/_outcomes.html.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any, cast

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from intake import policy, scoring
from intake.instruments import instrument
from intake.models import IntakeSubmission


@dataclass(frozen=True)
class Measure:
    """One measure charted over time, read from the stored scores (intake.scoring.score_all)."""

    key: str  # the instrument id, and its key in IntakeSubmission.scores
    name: Any  # short, translated
    score_field: str  # "total" (a summed instrument) or "score" (a single item)
    minimum: int
    maximum: int
    remission_below: int | None
    ticks: tuple[int, ...]  # the bands' lower bounds and the maximum, for the chart's axis
    bands: tuple[tuple[int, int, str], ...] = ()  # (lowest, highest, label) from instruments.json

    def band(self, score: int) -> str:
        return scoring.band(self.key, score) or ""


def _measure(key: str, name: Any, score_field: str) -> Measure:
    scoring_ = instrument(key).scoring
    bounds = scoring_["range"]
    ticks = sorted({band["min"] for band in scoring_.get("bands", ())} | {bounds["max"]})
    return Measure(
        key=key,
        name=name,
        score_field=score_field,
        minimum=bounds["min"],
        maximum=bounds["max"],
        remission_below=policy.REMISSION_BELOW.get(key),
        ticks=tuple(ticks),
        bands=tuple(
            (band["min"], band["max"], band["label"]) for band in scoring_.get("bands", ())
        ),
    )


@cache
def measures() -> tuple[Measure, ...]:
    return (
        _measure("phq9", _("PHQ-9 (depression)"), "total"),
        _measure("gad7", _("GAD-7 (anxiety)"), "total"),
        _measure("nrs11_pain", _("Pain (0 to 10)"), "score"),
    )


@dataclass(frozen=True)
class RoundScores:
    """What the series need from one submitted round."""

    kind: str  # SubmissionKind value
    submitted_at: dt.datetime
    day: dt.date  # the clinic-local date of submitted_at
    scores: Mapping[str, Any]


@dataclass(frozen=True)
class Point:
    day: dt.date
    at: dt.datetime
    score: int
    band: str
    kind: str  # screening or check_in
    is_baseline: bool
    response: bool  # never on the baseline
    remission: bool | None  # None when the measure has no remission marker; False on the baseline


@dataclass(frozen=True)
class Series:
    measure: Measure
    points: tuple[Point, ...]
    baseline: int | None

    @property
    def values(self) -> list[tuple[dt.date, int]]:
        return [(point.day, point.score) for point in self.points]

    @property
    def response_at_most(self) -> Fraction | None:
        """The highest score that counts as a response; None without a baseline above 0."""
        if not self.baseline:
            return None
        return Fraction(self.baseline * (100 - policy.RESPONSE_DROP_PERCENT), 100)

    @property
    def response_drop_percent(self) -> int:
        return policy.RESPONSE_DROP_PERCENT

    @property
    def baseline_day(self) -> dt.date | None:
        return next((point.day for point in self.points if point.is_baseline), None)

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None


def is_response(score: int, baseline: int | None) -> bool:
    """At least a RESPONSE_DROP_PERCENT drop from a baseline above 0 (exact: no rounding)."""
    if baseline is None or baseline <= 0:
        return False
    return score * 100 <= baseline * (100 - policy.RESPONSE_DROP_PERCENT)


def is_remission(score: int, measure: Measure) -> bool | None:
    if measure.remission_below is None:
        return None
    return score < measure.remission_below


def stored_score(scores: Mapping[str, Any], measure: Measure) -> int | None:
    """The measure's score from a round's stored scores; None when absent or not a whole number
    within the instrument's range."""
    result = scores.get(measure.key) if isinstance(scores, Mapping) else None
    value = result.get(measure.score_field) if isinstance(result, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if measure.minimum <= value <= measure.maximum else None


def measure_series(rounds: Iterable[RoundScores], measure: Measure) -> Series:
    """One measure's series. Rounds are put in submission order (stable for equal times); rounds
    without a score for the measure are left out. The first score is the baseline; response and
    remission are judged from the second on."""
    ordered = sorted(rounds, key=lambda r: r.submitted_at)
    scored = [(r, score) for r in ordered if (score := stored_score(r.scores, measure)) is not None]
    baseline = scored[0][1] if scored else None
    points = tuple(
        Point(
            day=r.day,
            at=r.submitted_at,
            score=score,
            band=measure.band(score),
            kind=str(r.kind),
            is_baseline=index == 0,
            response=index > 0 and is_response(score, baseline),
            remission=(
                is_remission(score, measure)
                if index > 0 or measure.remission_below is None
                else False
            ),
        )
        for index, (r, score) in enumerate(scored)
    )
    return Series(measure=measure, points=points, baseline=baseline)


def outcome_series(rounds: Iterable[RoundScores]) -> tuple[Series, ...]:
    """PHQ-9, GAD-7 and pain series, in that order. Pure."""
    rounds = list(rounds)
    return tuple(measure_series(rounds, measure) for measure in measures())


def patient_outcomes(patient_id: int) -> tuple[Series, ...]:
    """The patient's series from every submitted round, screening and check-in: one query
    whatever the number of rounds. Dates are the clinic's."""
    rows = (
        IntakeSubmission.objects.submitted()
        .filter(patient_id=patient_id)
        .order_by("submitted_at", "pk")
        .values_list("kind", "submitted_at", "scores")
    )
    zone = timezone.get_default_timezone()
    # A submitted round always has submitted_at (the column is nullable for drafts).
    return outcome_series(
        RoundScores(kind, cast(dt.datetime, at), timezone.localdate(at, zone), scores or {})
        for kind, at, scores in rows
    )
