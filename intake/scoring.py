"""Scores for the validated instruments, computed from their definitions in instruments.json
(intake.instruments): sums and bands (PHQ-9, GAD-7, PCL-5), PCL-5 cluster subscores and the
provisional DSM-5 rule, the PEG mean, the pain NRS with its bands, and TAPS-1 per-domain screens.

Pure functions over the flat answers mapping (intake.questions). An item answer counts only when
it is one of the item's option values; anything else is treated as unanswered. A total needs every
scored item: there is no prorating (instruments.json, "missing_data").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, cast

from intake import medications, policy
from intake.instruments import Instrument, Item, instrument, instruments

ONE_DECIMAL = Decimal("0.1")
TAPS1_ALCOHOL_MEN = "taps1_alcohol_men"
TAPS1_ALCOHOL_WOMEN = "taps1_alcohol_women"
# instruments.json gives each TAPS-1 item a "domain"; the loader does not carry it, so it is
# repeated here (tests/intake/test_scoring.py checks it against the file). The alcohol domain is
# asked by one of two items, chosen by sex (taps1_alcohol_item).
TAPS1_DOMAINS: dict[str, tuple[str, ...]] = {
    "tobacco": ("taps1_tobacco",),
    "alcohol": (TAPS1_ALCOHOL_MEN, TAPS1_ALCOHOL_WOMEN),
    "illicit_drugs": ("taps1_drugs",),
    "prescription_misuse": ("taps1_rx",),
}
_INTEGER = re.compile(r"^\s*-?\d{1,6}\s*$")


def as_int(value: object) -> int | None:
    """An integer answer, or None. Accepts an int (not a bool), a whole float or a numeric string,
    so that a stray "2" is still read as 2."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    return None


@cache
def _items() -> dict[str, Item]:
    return {item.id: item for entry in instruments().values() for item in entry.items}


def is_item(key: str) -> bool:
    return key in _items()


def item_value(answers: Mapping[str, Any], item_id: str) -> int | None:
    """The answer to an instrument item if it is one of the item's option values, else None."""
    item = _items().get(item_id)
    if item is None or not isinstance(answers, Mapping):
        return None
    value = as_int(answers.get(item_id))
    if value is None or value not in {option.value for option in item.options}:
        return None
    return value


def option_label(item_id: str, value: int) -> str:
    item = _items().get(item_id)
    for option in item.options if item else ():
        if option.value == value:
            return option.label
    return str(value)


def _values(answers: Mapping[str, Any], item_ids: list[str]) -> dict[str, int | None]:
    return {item_id: item_value(answers, item_id) for item_id in item_ids}


def _missing(values: dict[str, int | None]) -> list[str]:
    return [item_id for item_id, value in values.items() if value is None]


def band(instrument_id: str, score: int | Decimal | None) -> str | None:
    """The band label from instruments.json that contains `score`; None without one."""
    if score is None:
        return None
    for entry in instrument(instrument_id).scoring.get("bands", ()):
        if entry["min"] <= score <= entry["max"]:
            return cast(str, entry["label"])
    return None


def total(instrument_id: str, answers: Mapping[str, Any]) -> int | None:
    """The sum of the scored items; None when any is unanswered (no prorating)."""
    values = _values(answers, instrument(instrument_id).scoring["items"])
    if _missing(values):
        return None
    return sum(value for value in values.values() if value is not None)


def pcl5_clusters(answers: Mapping[str, Any]) -> dict[str, int | None]:
    """Cluster subscores B (items 1-5), C (6-7), D (8-14), E (15-20); a cluster with an unanswered
    item is None."""
    pcl5 = instrument("pcl5")
    clusters: dict[str, list[int | None]] = {}
    for item in pcl5.items:
        if item.scored and item.cluster:
            clusters.setdefault(item.cluster, []).append(item_value(answers, item.id))
    return {
        cluster: None if None in values else sum(v for v in values if v is not None)
        for cluster, values in clusters.items()
    }


def pcl5_dsm5_met(answers: Mapping[str, Any]) -> bool | None:
    """The provisional DSM-5 rule: an item counts when rated >= 2; at least 1 B, 1 C, 2 D and 2 E
    items (instruments.json, "provisional_dsm5_rule"). None when any item is unanswered."""
    pcl5 = instrument("pcl5")
    rule = pcl5.scoring["provisional_dsm5_rule"]
    endorsed_at = rule["item_endorsed_if"]["value"]
    counts = dict.fromkeys(rule["requires"], 0)
    for item in pcl5.items:
        if not item.scored:
            continue
        value = item_value(answers, item.id)
        if value is None:
            return None
        if value >= endorsed_at and item.cluster in counts:
            counts[item.cluster] += 1
    return all(counts[cluster] >= needed for cluster, needed in rule["requires"].items())


def mean(instrument_id: str, answers: Mapping[str, Any]) -> Decimal | None:
    """The mean of the scored items, rounded half-up to one decimal (the PEG)."""
    values = _values(answers, instrument(instrument_id).scoring["items"])
    if _missing(values) or not values:
        return None
    exact = Decimal(sum(v for v in values.values() if v is not None)) / len(values)
    return exact.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def taps1_alcohol_item(answers: Mapping[str, Any]) -> str:
    """The alcohol item the patient was asked: the 5+ item for men, else the 4+ item
    (instruments.json display_condition; the conservative choice when sex is not recorded)."""
    return TAPS1_ALCOHOL_MEN if answers.get("sex") == "male" else TAPS1_ALCOHOL_WOMEN


def taps1_positive(answers: Mapping[str, Any]) -> dict[str, bool | None]:
    """Per substance domain: any answer other than "Never" is positive; None when unanswered."""
    threshold = instrument("taps1").scoring["positive_if"]["value"]
    alcohol_item = taps1_alcohol_item(answers)
    result: dict[str, bool | None] = {}
    for domain, item_ids in TAPS1_DOMAINS.items():
        asked = [i for i in item_ids if domain != "alcohol" or i == alcohol_item]
        value = item_value(answers, asked[0])
        result[domain] = None if value is None else value >= threshold
    return result


def _sum_result(entry: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    score = total(entry.id, answers)
    return {
        "total": score,
        "band": band(entry.id, score),
        "missing": _missing(_values(answers, entry.scoring["items"])),
    }


def _pcl5_result(answers: Mapping[str, Any]) -> dict[str, Any]:
    result = _sum_result(instrument("pcl5"), answers)
    score = result["total"]
    result["clusters"] = pcl5_clusters(answers)
    result["dsm5_provisional"] = pcl5_dsm5_met(answers)
    result["cutoff"] = policy.PCL5_CUTOFF
    result["at_or_above_cutoff"] = None if score is None else score >= policy.PCL5_CUTOFF
    return result


def score_all(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Every instrument's score, JSON-serialisable, keyed by instrument id, plus "mme_per_day" (a
    decimal string) and "mme_not_computed" (positions of opioid entries left out of it).

    The questionnaire's display rules that change a score are applied here, so stale answers to a
    hidden question never count: the PCL-5 is left out unless stressful_experience is "yes"; the
    TAPS-1 alcohol item is the one shown for the patient's sex; medicines count only when
    takes_medications is "yes". The rule-based ketamine_use_history supplement has no score.
    """
    if not isinstance(answers, Mapping):
        answers = {}
    scores: dict[str, Any] = {}
    for entry in instruments().values():
        method = entry.scoring.get("method")
        if entry.id == "pcl5":
            if answers.get("stressful_experience") == "yes":
                scores["pcl5"] = _pcl5_result(answers)
        elif method == "sum":
            scores[entry.id] = _sum_result(entry, answers)
        elif method == "mean":
            value = mean(entry.id, answers)
            scores[entry.id] = {
                "mean": None if value is None else str(value),
                "missing": _missing(_values(answers, entry.scoring["items"])),
            }
        elif method == "single_item":
            item_id = entry.scoring["items"][0]
            value = item_value(answers, item_id)
            scores[entry.id] = {
                "score": value,
                "band": band(entry.id, value),
                "missing": [] if value is not None else [item_id],
            }
        elif method == "per_domain_flag":
            positive = taps1_positive(answers)
            scores[entry.id] = {
                "alcohol_item": taps1_alcohol_item(answers),
                "positive": positive,
                "missing": [domain for domain, flag in positive.items() if flag is None],
            }
    listed = answers.get("medications") if answers.get("takes_medications") == "yes" else []
    scores["mme_per_day"] = str(medications.total_mme(listed))
    scores["mme_not_computed"] = medications.opioids_without_mme(listed)
    return scores
