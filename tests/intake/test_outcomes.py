"""Measures over time (intake.outcomes): hand-worked series with baseline, response and remission,
the one-query loader, and the chart partial showing the same values as its table."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

import pytest
from django.template.loader import render_to_string

from intake.outcomes import (
    RoundScores,
    is_response,
    measures,
    outcome_series,
    patient_outcomes,
)
from tests.factories import IntakeSubmissionFactory, PatientFactory

SCREENING, CHECK_IN = "screening", "check_in"
START = dt.datetime(2027, 1, 4, 18, 0, tzinfo=dt.UTC)


def stored(phq9: int | None = None, gad7: int | None = None, pain: int | None = None) -> dict:
    """Scores as intake_submit stores them (only the fields the series read)."""
    scores: dict = {}
    if phq9 is not None:
        scores["phq9"] = {"total": phq9, "band": "x", "missing": []}
    if gad7 is not None:
        scores["gad7"] = {"total": gad7, "band": "x", "missing": []}
    if pain is not None:
        scores["nrs11_pain"] = {"score": pain, "band": "x", "missing": []}
    return scores


def rnd(kind: str, days: float, **scores: int | None) -> RoundScores:
    at = START + dt.timedelta(days=days)
    return RoundScores(kind, at, at.date(), stored(**scores))


def series(rounds, key: str = "phq9"):
    return {s.measure.key: s for s in outcome_series(rounds)}[key]


# --- The series (pure) ----------------------------------------------------------------------------


def test_three_measures_in_order():
    assert [s.measure.key for s in outcome_series([])] == ["phq9", "gad7", "nrs11_pain"]
    assert all(s.points == () and s.baseline is None for s in outcome_series([]))


def test_baseline_is_the_first_score_and_each_later_point_is_judged_against_it():
    phq = series(
        [
            rnd(SCREENING, 0, phq9=20),
            rnd(CHECK_IN, 2, phq9=16),
            rnd(CHECK_IN, 4, phq9=10),
            rnd(CHECK_IN, 7, phq9=4),
            rnd(SCREENING, 60, phq9=12),  # a later screening is a point, not a new baseline
        ]
    )

    assert phq.baseline == 20
    assert phq.response_at_most == 10
    assert phq.values == [
        (dt.date(2027, 1, 4), 20),
        (dt.date(2027, 1, 6), 16),
        (dt.date(2027, 1, 8), 10),
        (dt.date(2027, 1, 11), 4),
        (dt.date(2027, 3, 5), 12),
    ]
    assert [p.is_baseline for p in phq.points] == [True, False, False, False, False]
    assert [p.response for p in phq.points] == [False, False, True, True, False]
    assert [p.remission for p in phq.points] == [False, False, False, True, False]
    assert [p.band for p in phq.points] == [
        "Severe",
        "Moderately severe",
        "Moderate",
        "None-minimal",
        "Moderate",
    ]
    assert [p.kind for p in phq.points] == [SCREENING, CHECK_IN, CHECK_IN, CHECK_IN, SCREENING]


@pytest.mark.parametrize(("score", "response"), [(10, True), (11, False), (9, True), (0, True)])
def test_response_is_at_least_a_fifty_percent_drop_from_20(score, response):
    phq = series([rnd(SCREENING, 0, phq9=20), rnd(CHECK_IN, 1, phq9=score)])
    assert phq.points[1].response is response
    assert is_response(score, 20) is response


def test_response_with_an_odd_baseline_needs_the_score_at_or_under_half():
    assert series([rnd(SCREENING, 0, gad7=15)], "gad7").response_at_most == Fraction(15, 2)
    assert is_response(7, 15)
    assert not is_response(8, 15)


@pytest.mark.parametrize(("score", "remission"), [(5, False), (4, True), (0, True)])
def test_remission_is_a_score_below_5_for_phq9_and_gad7(score, remission):
    rounds = [rnd(SCREENING, 0, phq9=12, gad7=12), rnd(CHECK_IN, 1, phq9=score, gad7=score)]
    assert series(rounds, "phq9").points[1].remission is remission
    assert series(rounds, "gad7").points[1].remission is remission


def test_pain_has_response_but_no_remission_marker():
    pain = series([rnd(SCREENING, 0, pain=8), rnd(CHECK_IN, 1, pain=4)], "nrs11_pain")
    assert pain.measure.remission_below is None
    assert [p.remission for p in pain.points] == [None, None]
    assert [p.response for p in pain.points] == [False, True]
    assert [p.band for p in pain.points] == ["Severe", "Moderate"]


def test_a_baseline_of_0_marks_no_response():
    pain = series([rnd(SCREENING, 0, pain=0), rnd(CHECK_IN, 1, pain=0)], "nrs11_pain")
    assert pain.baseline == 0
    assert pain.response_at_most is None
    assert not any(p.response for p in pain.points)


def test_the_first_score_is_the_baseline_whatever_round_it_came_from():
    phq = series([rnd(CHECK_IN, 0, phq9=20), rnd(CHECK_IN, 1, phq9=2)])
    assert phq.baseline == 20
    assert [p.is_baseline for p in phq.points] == [True, False]
    assert [p.response for p in phq.points] == [False, True]
    assert [p.remission for p in phq.points] == [False, True]


@pytest.mark.parametrize("key", ["phq9", "gad7", "nrs11_pain"])
def test_a_single_low_score_is_a_baseline_never_a_response_or_remission(key):
    only = series([rnd(SCREENING, 0, phq9=0, gad7=0, pain=0)], key).points
    assert [p.is_baseline for p in only] == [True]
    assert [p.response for p in only] == [False]
    assert only[0].remission is not True


def test_response_and_remission_are_judged_from_the_second_score_on():
    phq = series([rnd(SCREENING, 0, phq9=4), rnd(CHECK_IN, 1, phq9=4), rnd(CHECK_IN, 2, phq9=2)])
    assert [p.remission for p in phq.points] == [False, True, True]
    assert [p.response for p in phq.points] == [False, False, True]


def test_points_are_in_submitted_order_with_screenings_and_check_ins_merged():
    rounds = [
        rnd(CHECK_IN, 9, phq9=6),
        rnd(SCREENING, 30, phq9=14),
        rnd(CHECK_IN, 3, phq9=15),
        rnd(SCREENING, 0, phq9=18),
        rnd(CHECK_IN, 6, phq9=9),
    ]

    phq = series(rounds)

    assert [p.score for p in phq.points] == [18, 15, 9, 6, 14]
    assert [p.kind for p in phq.points] == [SCREENING, CHECK_IN, CHECK_IN, CHECK_IN, SCREENING]
    assert phq.baseline == 18  # the earliest screening, not the first in the input
    assert [p.response for p in phq.points] == [False, False, True, True, False]


def test_a_check_in_before_the_first_screening_is_the_baseline():
    phq = series([rnd(CHECK_IN, 0, phq9=3), rnd(SCREENING, 1, phq9=12)])
    assert phq.baseline == 3
    assert [p.is_baseline for p in phq.points] == [True, False]


def test_rounds_without_a_usable_score_are_left_out():
    rounds = [
        rnd(SCREENING, 0, phq9=12),
        RoundScores(CHECK_IN, START, START.date(), {"phq9": {"total": None}}),
        RoundScores(CHECK_IN, START, START.date(), {"phq9": {"total": True}}),
        RoundScores(CHECK_IN, START, START.date(), {"phq9": {"total": 99}}),
        RoundScores(CHECK_IN, START, START.date(), {"phq9": "junk"}),
        rnd(CHECK_IN, 1, gad7=3),  # no PHQ-9 in this one
    ]
    assert series(rounds).values == [(START.date(), 12)]


def test_measures_take_their_range_and_ticks_from_the_instruments():
    phq9, gad7, pain = measures()
    assert (phq9.minimum, phq9.maximum, phq9.ticks) == (0, 27, (0, 5, 10, 15, 20, 27))
    assert (gad7.minimum, gad7.maximum, gad7.ticks) == (0, 21, (0, 5, 10, 15, 21))
    assert (pain.minimum, pain.maximum, pain.ticks) == (0, 10, (0, 1, 4, 7, 10))


# --- The loader -----------------------------------------------------------------------------------


def submitted(patient, kind: str, round_: int, days: float, **scores) -> None:
    IntakeSubmissionFactory(
        patient=patient,
        kind=kind,
        round=round_,
        status="submitted",
        submitted_at=START + dt.timedelta(days=days),
        scores=stored(**scores),
    )


@pytest.mark.django_db
def test_patient_outcomes_reads_only_the_patients_submitted_rounds():
    patient, other = PatientFactory(), PatientFactory()
    submitted(patient, SCREENING, 1, 0, phq9=16, gad7=12, pain=6)
    submitted(patient, CHECK_IN, 1, 3, phq9=8, gad7=4, pain=3)
    IntakeSubmissionFactory(patient=patient, kind=CHECK_IN, round=2, scores=stored(phq9=1))
    submitted(other, SCREENING, 1, 1, phq9=27)

    phq, gad, pain = patient_outcomes(patient.pk)

    assert phq.values == [(dt.date(2027, 1, 4), 16), (dt.date(2027, 1, 7), 8)]
    assert [p.response for p in phq.points] == [False, True]
    assert [p.remission for p in gad.points] == [False, True]
    assert pain.values == [(dt.date(2027, 1, 4), 6), (dt.date(2027, 1, 7), 3)]


@pytest.mark.django_db
def test_dates_are_the_clinics():
    patient = PatientFactory()
    # 02:30 UTC on 5 January is still the 4th in Sacramento.
    IntakeSubmissionFactory(
        patient=patient,
        status="submitted",
        submitted_at=dt.datetime(2027, 1, 5, 2, 30, tzinfo=dt.UTC),
        scores=stored(phq9=3),
    )
    assert patient_outcomes(patient.pk)[0].values == [(dt.date(2027, 1, 4), 3)]


@pytest.mark.django_db
@pytest.mark.parametrize("rounds", [2, 50])
def test_patient_outcomes_takes_one_query_however_many_rounds(django_assert_num_queries, rounds):
    patient = PatientFactory()
    submitted(patient, SCREENING, 1, 0, phq9=20, gad7=15, pain=7)
    for number in range(1, rounds):
        submitted(patient, CHECK_IN, number, number, phq9=20 - number % 20, gad7=5, pain=3)

    with django_assert_num_queries(1):
        outcomes = patient_outcomes(patient.pk)

    assert len(outcomes[0].points) == rounds


# --- The partial: chart and table agree -----------------------------------------------------------


def chart_values(svg: str) -> list[str]:
    return re.findall(r'<g class="point[^"]*" data-label="[^"]*" data-value="([^"]+)"', svg)


def test_the_partial_shows_each_measure_as_a_chart_and_the_same_values_as_a_table():
    outcomes = outcome_series(
        [
            rnd(SCREENING, 0, phq9=20, gad7=12, pain=6),
            rnd(CHECK_IN, 2, phq9=11, gad7=6, pain=5),
            rnd(CHECK_IN, 5, phq9=10, gad7=4, pain=3),
        ]
    )

    html = render_to_string("intake/_outcomes.html", {"outcomes": outcomes})

    sections = html.split('<section class="outcome')[1:]
    assert len(sections) == 3
    for section, measure_series in zip(sections, outcomes, strict=True):
        svg = section[section.index("<svg") : section.index("</svg>") + 6]
        table = section[section.index("<table") : section.index("</table>")]
        expected = [str(p.score) for p in measure_series.points]
        assert chart_values(svg) == expected
        assert re.findall(r"<td data-score>(\d+)</td>", table) == expected
        assert svg.count('<g class="point') == len(measure_series.points)
        for point in measure_series.points:
            assert point.band in table
            assert point.day.strftime("%b %-d, %Y") in table
    phq9_rows = re.findall(r"<tr>(.*?)</tr>", sections[0].split("<tbody>")[1], re.S)
    assert ["Baseline" in row for row in phq9_rows] == [True, False, False]
    assert ["<strong>Yes</strong>" in row for row in phq9_rows] == [False, False, True]  # 11, 10
    gad7_rows = re.findall(r"<tr>(.*?)</tr>", sections[1].split("<tbody>")[1], re.S)
    assert [row.count("<strong>Yes</strong>") for row in gad7_rows] == [
        0,
        1,
        2,
    ]  # 6: resp.; 4: both
    assert "Remission" not in sections[2].split("<table")[1]  # no remission column for pain
    assert "style=" not in html
    assert "<script" not in html


def test_the_partial_with_no_scores_says_so():
    html = render_to_string("intake/_outcomes.html", {"outcomes": outcome_series([])})
    assert html.count("No scores yet.") == 3
    assert "<svg" not in html


def test_the_partial_never_says_yes_on_the_baseline_row_and_ties_the_table_to_the_chart():
    outcomes = outcome_series([rnd(SCREENING, 0, phq9=3, gad7=2, pain=0)])

    html = render_to_string("intake/_outcomes.html", {"outcomes": outcomes})

    for key in ("phq9", "gad7", "nrs11_pain"):
        section = html.split(f'data-measure="{key}"')[1].split("</table>")[0]
        [row] = re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>")[1], re.S)
        assert "Yes" not in row
        assert "Baseline" in row
        assert f'id="outcome-{key}-table"' in html
        assert f'aria-describedby="outcome-{key}-desc outcome-{key}-table"' in html
