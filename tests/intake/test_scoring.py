"""Instrument scoring (intake.scoring) against hand-worked examples and every band edge."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from intake import policy, scoring
from intake.instruments import DATA_FILE, instrument

PHQ9 = [f"phq9_{n}" for n in range(1, 10)]
GAD7 = [f"gad7_{n}" for n in range(1, 8)]
PCL5 = [f"pcl5_{n}" for n in range(1, 21)]


def spread(total: int, item_ids: list[str], most: int) -> dict[str, int]:
    """Answers that add up to `total`, filling items in order up to `most` each."""
    answers = {}
    for item_id in item_ids:
        answers[item_id] = min(most, total)
        total -= answers[item_id]
    assert total == 0, "total out of range"
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "None-minimal"),
        (4, "None-minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Moderately severe"),
        (19, "Moderately severe"),
        (20, "Severe"),
        (27, "Severe"),
    ],
)
def test_phq9_total_and_band_at_every_edge(total, band):
    result = scoring.score_all(spread(total, PHQ9, 3))["phq9"]
    assert result == {"total": total, "band": band, "missing": []}


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Severe"),
        (21, "Severe"),
    ],
)
def test_gad7_total_and_band_at_every_edge(total, band):
    result = scoring.score_all(spread(total, GAD7, 3))["gad7"]
    assert result == {"total": total, "band": band, "missing": []}


def test_phq9_hand_worked_example():
    answers = dict(zip(PHQ9, [1, 2, 3, 0, 1, 2, 0, 1, 1], strict=True))
    assert scoring.total("phq9", answers) == 11
    assert scoring.band("phq9", 11) == "Moderate"


@pytest.mark.parametrize("instrument_id", ["phq9", "gad7", "pcl5"])
def test_a_missing_item_gives_no_total_and_no_prorating(instrument_id):
    items = instrument(instrument_id).scoring["items"]
    answers = dict.fromkeys(items, 1)
    del answers[items[-1]]
    assert scoring.total(instrument_id, answers) is None


@pytest.mark.parametrize("bad", [None, 4, -1, True, "two", 1.5, [1], {"v": 1}])
def test_an_item_answer_outside_its_options_counts_as_missing(bad):
    answers = dict.fromkeys(PHQ9, 1) | {"phq9_5": bad}
    result = scoring.score_all(answers)["phq9"]
    assert result["total"] is None
    assert result["missing"] == ["phq9_5"]


def test_a_numeric_string_or_whole_float_is_read_as_its_number():
    answers = dict.fromkeys(PHQ9, 1) | {"phq9_5": "2", "phq9_6": 3.0}
    assert scoring.total("phq9", answers) == 12


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "No pain"),
        (1, "Mild"),
        (3, "Mild"),
        (4, "Moderate"),
        (6, "Moderate"),
        (7, "Severe"),
        (10, "Severe"),
    ],
)
def test_nrs_single_item_and_band_at_every_edge(score, band):
    assert scoring.score_all({"nrs_now": score})["nrs11_pain"] == {
        "score": score,
        "band": band,
        "missing": [],
    }


def test_nrs_unanswered_has_no_score():
    assert scoring.score_all({})["nrs11_pain"] == {
        "score": None,
        "band": None,
        "missing": ["nrs_now"],
    }


@pytest.mark.parametrize(
    ("p", "e", "g", "mean"),
    [
        (7, 8, 8, "7.7"),  # 7.666...
        (1, 1, 2, "1.3"),  # 1.333...
        (5, 5, 6, "5.3"),
        (0, 0, 1, "0.3"),
        (0, 0, 0, "0.0"),
        (10, 10, 10, "10.0"),
        (9, 10, 10, "9.7"),
    ],
)
def test_peg_is_the_mean_rounded_to_one_decimal_without_bands(p, e, g, mean):
    answers = {"peg_p": p, "peg_e": e, "peg_g": g}
    assert scoring.mean("peg3", answers) == Decimal(mean)
    assert scoring.score_all(answers)["peg3"] == {"mean": mean, "missing": []}
    assert instrument("peg3").scoring["bands"] == []


def test_peg_with_a_missing_item_has_no_mean():
    assert scoring.score_all({"peg_p": 5, "peg_e": 5})["peg3"] == {
        "mean": None,
        "missing": ["peg_g"],
    }


# --- PCL-5 ----------------------------------------------------------------------------------------

# 32 with no C item at 2 or more, so the DSM-5 rule is not met: items 6-7 at 1, twelve at 2, six
# at 1.
PCL5_32 = (
    {"pcl5_6": 1, "pcl5_7": 1}
    | dict.fromkeys([f"pcl5_{n}" for n in (1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14)], 2)
    | dict.fromkeys([f"pcl5_{n}" for n in range(15, 21)], 1)
)
# The DSM-5 rule met with the fewest endorsements: 1 B, 1 C, 2 D, 2 E at 2; the rest 0.
PCL5_DSM5_MINIMAL = dict.fromkeys(PCL5, 0) | dict.fromkeys(
    ["pcl5_1", "pcl5_6", "pcl5_8", "pcl5_9", "pcl5_15", "pcl5_16"], 2
)


def pcl5(answers: dict) -> dict:
    return scoring.score_all({"stressful_experience": "yes", **answers})["pcl5"]


def test_pcl5_32_is_below_the_cutoff_and_33_is_at_it():
    below = pcl5(PCL5_32)
    assert below["total"] == 32
    assert below["at_or_above_cutoff"] is False
    assert below["band"] == "Below provisional cut-point"
    assert below["dsm5_provisional"] is False

    at = pcl5(PCL5_32 | {"pcl5_1": 3})
    assert at["total"] == 33
    assert at["at_or_above_cutoff"] is True
    assert at["band"].startswith("Probable PTSD")
    assert at["cutoff"] == policy.PCL5_CUTOFF == 33


def test_pcl5_cluster_subscores():
    answers = dict(zip(PCL5, range(20), strict=True))  # item n scored n - 1, capped below
    answers = {key: min(value, 4) for key, value in answers.items()}
    assert pcl5(answers)["clusters"] == {
        "B": 0 + 1 + 2 + 3 + 4,
        "C": 4 + 4,
        "D": 4 * 7,
        "E": 4 * 6,
    }


def test_pcl5_cluster_with_a_missing_item_is_none_but_others_are_scored():
    answers = dict.fromkeys(PCL5, 1)
    del answers["pcl5_6"]
    result = pcl5(answers)
    assert result["clusters"] == {"B": 5, "C": None, "D": 7, "E": 6}
    assert result["total"] is None
    assert result["dsm5_provisional"] is None
    assert result["at_or_above_cutoff"] is None


def test_pcl5_dsm5_rule_met_with_the_minimum_endorsements():
    result = pcl5(PCL5_DSM5_MINIMAL)
    assert result["dsm5_provisional"] is True
    assert result["total"] == 12
    assert result["at_or_above_cutoff"] is False


@pytest.mark.parametrize(
    "item_id",
    ["pcl5_1", "pcl5_6", "pcl5_8", "pcl5_15"],
    ids=["one B short", "one C short", "one D short", "one E short"],
)
def test_pcl5_dsm5_rule_not_met_when_one_cluster_is_one_item_short(item_id):
    assert pcl5(PCL5_DSM5_MINIMAL | {item_id: 1})["dsm5_provisional"] is False


def test_pcl5_item_rated_1_is_not_endorsed_but_3_and_4_are():
    assert pcl5(dict.fromkeys(PCL5, 1))["dsm5_provisional"] is False
    assert pcl5(dict.fromkeys(PCL5, 4))["dsm5_provisional"] is True
    assert pcl5(PCL5_DSM5_MINIMAL | {"pcl5_1": 3, "pcl5_6": 4})["dsm5_provisional"] is True


@pytest.mark.parametrize("answer", ["no", None, "YES", True])
def test_pcl5_is_skipped_unless_the_patient_reported_a_stressful_experience(answer):
    answers = dict.fromkeys(PCL5, 4) | {"stressful_experience": answer}
    assert "pcl5" not in scoring.score_all(answers)


def test_pcl5_policy_cutoff_matches_the_band_boundary_in_instruments_json():
    bands = instrument("pcl5").scoring["bands"]
    assert [band["min"] for band in bands] == [0, policy.PCL5_CUTOFF]


# --- TAPS-1 ---------------------------------------------------------------------------------------

TAPS_NEVER = {
    "taps1_tobacco": 0,
    "taps1_alcohol_men": 0,
    "taps1_alcohol_women": 0,
    "taps1_drugs": 0,
    "taps1_rx": 0,
}


@pytest.mark.parametrize(
    ("item_id", "domain"),
    [
        ("taps1_tobacco", "tobacco"),
        ("taps1_drugs", "illicit_drugs"),
        ("taps1_rx", "prescription_misuse"),
        ("taps1_alcohol_women", "alcohol"),
    ],
)
@pytest.mark.parametrize("value", [1, 2, 3, 4])
def test_taps1_any_answer_but_never_is_positive_for_its_domain_only(item_id, domain, value):
    positive = scoring.score_all(TAPS_NEVER | {item_id: value})["taps1"]["positive"]
    assert positive == {
        "tobacco": False,
        "alcohol": False,
        "illicit_drugs": False,
        "prescription_misuse": False,
    } | {domain: True}


def test_taps1_never_is_negative_everywhere():
    assert set(scoring.score_all(TAPS_NEVER)["taps1"]["positive"].values()) == {False}


def test_taps1_alcohol_for_men_uses_the_5_plus_item():
    answers = TAPS_NEVER | {"sex": "male", "taps1_alcohol_men": 2, "taps1_alcohol_women": 0}
    result = scoring.score_all(answers)["taps1"]
    assert result["alcohol_item"] == "taps1_alcohol_men"
    assert result["positive"]["alcohol"] is True


@pytest.mark.parametrize("sex", ["female", "other", None])
def test_taps1_alcohol_for_everyone_else_uses_the_4_plus_item_and_ignores_the_other(sex):
    answers = TAPS_NEVER | {"sex": sex, "taps1_alcohol_men": 4, "taps1_alcohol_women": 0}
    result = scoring.score_all(answers)["taps1"]
    assert result["alcohol_item"] == "taps1_alcohol_women"
    assert result["positive"]["alcohol"] is False


def test_taps1_unanswered_domain_is_none():
    result = scoring.score_all({"taps1_tobacco": 0})["taps1"]
    assert result["positive"]["tobacco"] is False
    assert result["positive"]["illicit_drugs"] is None
    assert result["missing"] == ["alcohol", "illicit_drugs", "prescription_misuse"]


def test_taps1_domains_match_instruments_json():
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    taps1 = next(entry for entry in raw["instruments"] if entry["id"] == "taps1")
    from_file: dict[str, list[str]] = {}
    for item in taps1["items"]:
        from_file.setdefault(item["domain"], []).append(item["id"])
    assert {domain: tuple(ids) for domain, ids in from_file.items()} == scoring.TAPS1_DOMAINS


# --- score_all ------------------------------------------------------------------------------------


def test_score_all_is_json_serialisable_and_keyed_by_instrument():
    answers = (
        spread(12, PHQ9, 3)
        | spread(8, GAD7, 3)
        | PCL5_32
        | TAPS_NEVER
        | {"stressful_experience": "yes", "nrs_now": 6, "peg_p": 7, "peg_e": 8, "peg_g": 8}
        | {
            "takes_medications": "yes",
            "medications": [{"name": "oxycodone", "dose": "10", "unit": "mg", "times_per_day": 3}],
        }
    )
    scores = scoring.score_all(answers)
    assert json.loads(json.dumps(scores)) == scores
    assert set(scores) == {
        "phq9",
        "gad7",
        "pcl5",
        "peg3",
        "nrs11_pain",
        "taps1",
        "mme_per_day",
        "mme_not_computed",
    }
    assert scores["mme_per_day"] == "45.0"
    assert scores["peg3"]["mean"] == "7.7"


def test_score_all_ignores_medicines_unless_the_patient_takes_medicines():
    meds = [{"name": "morphine", "dose": "100", "unit": "mg", "times_per_day": 1}]
    assert scoring.score_all({"takes_medications": "no", "medications": meds})["mme_per_day"] == (
        "0.0"
    )
    assert scoring.score_all({"takes_medications": "yes", "medications": meds})["mme_per_day"] == (
        "100.0"
    )


def test_score_all_reports_opioid_entries_left_out_of_the_total():
    meds = [
        {"name": "oxycodone", "dose": "10", "unit": "mg", "times_per_day": 2},
        {"name": "tramadol", "dose": "50", "unit": "other", "times_per_day": 2},
    ]
    scores = scoring.score_all({"takes_medications": "yes", "medications": meds})
    assert scores["mme_per_day"] == "30.0"
    assert scores["mme_not_computed"] == [1]


@pytest.mark.parametrize("answers", [None, [], "phq9", 3, {"phq9_1": object()}])
def test_score_all_never_raises_on_odd_input(answers):
    scores = scoring.score_all(answers)
    assert scores["mme_per_day"] == "0.0"
