"""The pre-infusion vital-signs gate (scheduling.vitals, reference §2.4): every band edge."""

from __future__ import annotations

import pytest

from scheduling.models import GateOutcome
from scheduling.vitals import (
    SYMPTOM_CODES,
    Reading,
    VitalThresholds,
    assess,
    counted,
    during_alert,
    implausible,
    needs_repeat,
)

T = VitalThresholds()
NORMAL = {"systolic": 120, "diastolic": 75, "heart_rate": 70, "spo2": 98}


def reading(**changes: object) -> Reading:
    values = {**NORMAL, **changes}
    values["symptoms"] = frozenset(values.get("symptoms", ()))  # type: ignore[arg-type]
    return Reading(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("systolic", "diastolic", "outcome"),
    [
        (139, 89, GateOutcome.PROCEED),
        (140, 89, GateOutcome.PROCEED_WITH_NOTE),
        (139, 90, GateOutcome.PROCEED_WITH_NOTE),
        (140, 90, GateOutcome.PROCEED_WITH_NOTE),
        (159, 99, GateOutcome.PROCEED_WITH_NOTE),
        (160, 99, GateOutcome.SIGN_OFF),
        (159, 100, GateOutcome.SIGN_OFF),
        (160, 100, GateOutcome.SIGN_OFF),
        (180, 110, GateOutcome.SIGN_OFF),
        (181, 100, GateOutcome.DEFER),
        (180, 111, GateOutcome.DEFER),
        (150, 111, GateOutcome.DEFER),
    ],
)
def test_blood_pressure_bands(systolic: int, diastolic: int, outcome: str) -> None:
    assert assess(reading(systolic=systolic, diastolic=diastolic), T).outcome == outcome


@pytest.mark.parametrize(
    ("heart_rate", "outcome"),
    [
        (49, GateOutcome.DEFER),
        (50, GateOutcome.PROCEED),
        (99, GateOutcome.PROCEED),
        (100, GateOutcome.SIGN_OFF),
        (120, GateOutcome.SIGN_OFF),
        (121, GateOutcome.DEFER),
    ],
)
def test_heart_rate_bands(heart_rate: int, outcome: str) -> None:
    assert assess(reading(heart_rate=heart_rate), T).outcome == outcome


@pytest.mark.parametrize(
    ("spo2", "outcome"),
    [
        (89, GateOutcome.DEFER),
        (90, GateOutcome.SIGN_OFF),
        (94, GateOutcome.SIGN_OFF),
        (95, GateOutcome.PROCEED),
        (100, GateOutcome.PROCEED),
    ],
)
def test_oxygen_saturation_bands(spo2: int, outcome: str) -> None:
    assert assess(reading(spo2=spo2), T).outcome == outcome


def test_normal_reading_proceeds_without_reasons() -> None:
    result = assess(reading(), T)
    assert result.outcome == GateOutcome.PROCEED
    assert result.reasons == ()


@pytest.mark.parametrize("symptom", sorted(SYMPTOM_CODES))
def test_any_symptom_with_normal_numbers_is_the_emergency_pathway(symptom: str) -> None:
    result = assess(reading(symptoms={symptom}), T)
    assert result.outcome == GateOutcome.EMERGENCY
    assert "symptoms" in result.codes


def test_the_six_symptoms_of_the_reference() -> None:
    assert {
        "chest_pain",
        "short_of_breath",
        "severe_headache",
        "vision_change",
        "confusion",
        "focal_weakness",
    } == SYMPTOM_CODES


def test_the_most_severe_finding_wins_and_every_finding_is_given() -> None:
    result = assess(reading(systolic=145, heart_rate=110, spo2=89), T)
    assert result.outcome == GateOutcome.DEFER
    assert result.codes == ("spo2_defer", "hr_sign_off", "bp_note")
    assert len(result.reasons) == 3


def test_symptoms_outrank_a_hard_stop() -> None:
    result = assess(reading(systolic=200, symptoms={"chest_pain"}), T)
    assert result.outcome == GateOutcome.EMERGENCY
    assert result.codes[0] == "symptoms"
    assert "bp_defer" in result.codes


def test_thresholds_come_from_the_dataclass() -> None:
    stricter = VitalThresholds(defer_above_systolic=170)
    assert assess(reading(systolic=175), stricter).outcome == GateOutcome.DEFER
    assert assess(reading(systolic=175), T).outcome == GateOutcome.SIGN_OFF


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, False),
        ({"systolic": 139, "diastolic": 89, "heart_rate": 99, "spo2": 95}, False),
        ({"heart_rate": 50}, False),
        ({"systolic": 140}, True),
        ({"diastolic": 90}, True),
        ({"heart_rate": 100}, True),
        ({"heart_rate": 49}, True),
        ({"spo2": 94}, True),
        ({"systolic": 200, "symptoms": {"confusion"}}, False),
    ],
)
def test_needs_repeat_at_or_above_a_flag_line(changes: dict, expected: bool) -> None:
    assert needs_repeat(reading(**changes), T) is expected


def test_counted_is_the_lower_reading() -> None:
    first, repeat = reading(systolic=165, diastolic=95), reading(systolic=150, diastolic=92)
    chosen = counted(first, repeat, T)
    assert (chosen.systolic, chosen.diastolic) == (150, 92)
    assert assess(chosen, T).outcome == GateOutcome.PROCEED_WITH_NOTE


def test_counted_compares_the_band_before_the_systolic() -> None:
    # The repeat's BP is higher but its heart rate is back in range: it is the lower reading.
    first = reading(systolic=130, heart_rate=125)
    repeat = reading(systolic=138, heart_rate=80)
    assert counted(first, repeat, T) == repeat


def test_counted_same_band_takes_the_lower_systolic_either_way_round() -> None:
    high, low = reading(systolic=155), reading(systolic=145)
    assert counted(high, low, T).systolic == 145
    assert counted(low, high, T).systolic == 145


def test_counted_keeps_symptoms_from_either_reading() -> None:
    chosen = counted(reading(systolic=150, symptoms={"chest_pain"}), reading(systolic=130), T)
    assert chosen.systolic == 130
    assert assess(chosen, T).outcome == GateOutcome.EMERGENCY


def test_during_alert_above_the_hard_stop_line_or_with_symptoms() -> None:
    assert not during_alert(reading(systolic=175, diastolic=105, heart_rate=115), T)
    assert during_alert(reading(systolic=181), T)
    assert during_alert(reading(diastolic=111), T)
    assert during_alert(reading(heart_rate=121), T)
    assert during_alert(reading(heart_rate=49), T)
    assert during_alert(reading(spo2=89), T)
    assert during_alert(reading(symptoms={"severe_headache"}), T)


def test_implausible_values_are_named() -> None:
    assert implausible({"systolic": 120, "diastolic": 80, "heart_rate": 70, "spo2": 98}) == []
    assert implausible({"systolic": 12, "diastolic": 8}) == ["systolic", "diastolic"]
    assert implausible({"systolic": 120, "diastolic": 130}) == ["diastolic"]
    assert implausible({"spo2": 101, "weight_lb": None}) == ["spo2"]
