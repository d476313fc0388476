"""The lifecycle table (scheduling.lifecycle), exhaustively: every state x action x party x date x
combination of the facts the gates look at. No database: the table is pure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduling.lifecycle import (
    RULES,
    START_GATE,
    Action,
    Facts,
    Need,
    Party,
    When,
    diagram,
    document,
    offered,
    refusals,
    table_markdown,
)
from scheduling.models import AppointmentStatus as S

LA = ZoneInfo("America/Los_Angeles")
START = dt.datetime(2027, 1, 5, 10, 0, tzinfo=LA)
# The moments that matter to the date rules: the day before, the visit's day before and after the
# start, the day after. Late evening and early morning, so the UTC date differs from the local.
MOMENTS = {
    "day_before": dt.datetime(2027, 1, 4, 22, 30, tzinfo=LA),
    "visit_day_early": dt.datetime(2027, 1, 5, 0, 30, tzinfo=LA),
    "visit_day_after_start": dt.datetime(2027, 1, 5, 23, 30, tzinfo=LA),
    "day_after": dt.datetime(2027, 1, 6, 0, 30, tzinfo=LA),
}
STATUSES = [None, *S.values]
ALL_PARTIES = [frozenset({p}) for p in Party]
GATE_FIELDS = (
    "clearance",
    "paperwork",
    "identity",
    "escort",
    "day_of_answers",
    "a13_yes",
    "open_items",
    "urgent_alert",
    "vitals",
    "ended",
    "discharged",
)
GOOD = {
    "clearance": True,
    "paperwork": True,
    "identity": True,
    "escort": True,
    "day_of_answers": True,
    "a13_yes": False,
    "open_items": 0,
    "urgent_alert": False,
    "vitals": "passed",
    "ended": True,
    "discharged": True,
}
BAD = {
    "clearance": False,
    "paperwork": False,
    "identity": False,
    "escort": False,
    "day_of_answers": False,
    "a13_yes": True,
    "open_items": 1,
    "urgent_alert": True,
    "vitals": "sign_off",
    "ended": False,
    "discharged": False,
}


def all_gate_combinations():
    """Each gate fact good or bad on its own, all good, all bad: 12 variants."""
    yield GOOD
    yield BAD
    for field in GATE_FIELDS:
        yield {**GOOD, field: BAD[field]}


def every_case():
    for status, action, parties, (moment_name, now), gates, treatment in itertools.product(
        STATUSES,
        list(Action),
        ALL_PARTIES,
        MOMENTS.items(),
        list(all_gate_combinations()),
        (True, False),
    ):
        facts = Facts(status=status, start=START, treatment=treatment, **gates)
        yield status, action, parties, moment_name, now, facts


def test_the_table_covers_every_action_and_leads_only_to_real_statuses():
    assert set(RULES) == set(Action)
    for rule in RULES.values():
        assert rule.target is None or rule.target in S.values
        assert rule.sources <= {None, *S.values}
        assert rule.parties


def test_no_combination_reaches_in_progress_or_completed_for_an_infusion_without_the_gates():
    allowed_seen = set()
    for status, action, parties, moment_name, now, facts in every_case():
        if refusals(action, facts, parties, now=now, tz=LA):
            continue
        allowed_seen.add((status, action))
        target = RULES[action].target
        if facts.treatment and target == S.IN_PROGRESS:
            assert status == S.CHECKED_IN
            assert parties == {Party.CLINICIAN}
            assert moment_name.startswith("visit_day")
            assert facts.clearance and facts.identity and facts.escort and facts.day_of_answers
            assert facts.paperwork
            assert not facts.a13_yes and facts.open_items == 0 and not facts.urgent_alert
            assert facts.vitals == "passed"
        if facts.treatment and target == S.COMPLETED:
            # Only from in progress, which only START leads to: the gate was passed on the way.
            assert status == S.IN_PROGRESS
            assert facts.ended and facts.discharged
    # The walk found the ways forward, so the assertions above were exercised.
    assert (S.CHECKED_IN, Action.START) in allowed_seen
    assert (S.IN_PROGRESS, Action.COMPLETE) in allowed_seen


def test_each_start_gate_alone_stops_the_infusion_and_is_named():
    now = MOMENTS["visit_day_early"]
    for need in START_GATE:
        field = {
            Need.CLEARANCE: "clearance",
            Need.PAPERWORK: "paperwork",
            Need.IDENTITY: "identity",
            Need.ESCORT: "escort",
            Need.DAY_OF_ANSWERS: "day_of_answers",
            Need.NO_A13: "a13_yes",
            Need.NO_OPEN_ITEMS: "open_items",
            Need.NO_URGENT_ALERT: "urgent_alert",
            Need.VITALS: "vitals",
        }[need]
        facts = Facts(
            status=S.CHECKED_IN, start=START, treatment=True, **{**GOOD, field: BAD[field]}
        )
        found = refusals(Action.START, facts, {Party.CLINICIAN}, now=now, tz=LA)
        assert [r.code for r in found] == [need]
        assert found[0].where  # says where to put it right


@pytest.mark.parametrize("vitals", ["missing", "repeat", "sign_off", "defer", "emergency"])
def test_vitals_not_passed_or_signed_off_stop_the_start(vitals):
    facts = Facts(status=S.CHECKED_IN, start=START, treatment=True, **{**GOOD, "vitals": vitals})
    found = refusals(Action.START, facts, {Party.CLINICIAN}, now=MOMENTS["visit_day_early"], tz=LA)
    assert [r.code for r in found] == [Need.VITALS]


def test_every_missing_step_is_listed_at_once():
    facts = Facts(status=S.CHECKED_IN, start=START, treatment=True, **BAD)
    found = refusals(Action.START, facts, {Party.CLINICIAN}, now=MOMENTS["visit_day_early"], tz=LA)
    assert [r.code for r in found] == list(START_GATE)


@pytest.mark.parametrize(
    ("action", "allowed_moments"),
    [
        (Action.CHECK_IN, {"visit_day_early", "visit_day_after_start"}),
        (Action.START, {"visit_day_early", "visit_day_after_start"}),
        (Action.RECORD_VITALS, {"visit_day_early", "visit_day_after_start"}),
        (Action.DEFER, {"visit_day_early", "visit_day_after_start"}),
        (Action.NO_SHOW, {"visit_day_after_start", "day_after"}),
        (Action.COMPLETE, {"visit_day_early", "visit_day_after_start", "day_after"}),
        (Action.CANCEL, {"day_before", "visit_day_early", "visit_day_after_start"}),
        (Action.MOVE, {"day_before", "visit_day_early"}),
    ],
)
def test_actions_are_dated_in_clinic_local_time(action, allowed_moments):
    rule = RULES[action]
    status = sorted(s for s in rule.sources if s is not None)[0]
    parties = {next(iter(rule.parties))}
    facts = Facts(status=status, start=START, treatment=True, **GOOD)
    if action == Action.COMPLETE:
        facts = dataclasses.replace(facts, status=S.IN_PROGRESS)
    allowed = {
        name
        for name, now in MOMENTS.items()
        if not refusals(action, facts, parties, now=now, tz=LA)
    }
    assert allowed == allowed_moments


@pytest.mark.parametrize("status", [S.CANCELLED, S.COMPLETED, S.NO_SHOW, S.DEFERRED])
def test_nothing_is_done_to_a_closed_visit(status):
    facts = Facts(status=status, start=START, treatment=True, **GOOD)
    for action, parties, now in itertools.product(Action, ALL_PARTIES, MOMENTS.values()):
        assert refusals(action, facts, parties, now=now, tz=LA), (action, parties)


def test_a_treatment_visit_is_not_completed_straight_from_check_in():
    facts = Facts(status=S.CHECKED_IN, start=START, treatment=True, **GOOD)
    found = refusals(Action.COMPLETE, facts, {Party.CLINICIAN}, now=START, tz=LA)
    assert [r.code for r in found] == ["state"]
    facts = dataclasses.replace(facts, status=S.IN_PROGRESS, ended=False)
    found = refusals(Action.COMPLETE, facts, {Party.CLINICIAN}, now=START, tz=LA)
    assert [r.code for r in found] == [Need.INFUSION_ENDED]
    facts = dataclasses.replace(facts, ended=True, discharged=False)
    found = refusals(Action.COMPLETE, facts, {Party.FRONT_DESK}, now=START, tz=LA)
    assert [r.code for r in found] == [Need.DISCHARGE]


def test_paperwork_holds_a_consultations_check_in_and_an_infusions_start_only():
    now = MOMENTS["visit_day_early"]
    desk = {Party.FRONT_DESK}
    missing = {**GOOD, "paperwork": False}
    consultation = Facts(status=S.BOOKED, start=START, treatment=False, **missing)
    found = refusals(Action.CHECK_IN, consultation, desk, now=now, tz=LA)
    assert [(r.code, r.where) for r in found] == [(Need.PAPERWORK, "on-file")]
    # A treatment visit is checked in with its paperwork missing (the desk scans the ID then)...
    infusion = Facts(status=S.BOOKED, start=START, treatment=True, **missing)
    assert not refusals(Action.CHECK_IN, infusion, desk, now=now, tz=LA)
    # ...and its start waits for it.
    infusion = dataclasses.replace(infusion, status=S.CHECKED_IN)
    found = refusals(Action.START, infusion, {Party.CLINICIAN}, now=now, tz=LA)
    assert [r.code for r in found] == [Need.PAPERWORK]
    # A consultation's completion does not ask again.
    checked_in = dataclasses.replace(consultation, status=S.CHECKED_IN)
    assert not refusals(Action.COMPLETE, checked_in, desk, now=now, tz=LA)


def test_a_consultation_completes_from_check_in_without_infusion_steps():
    facts = Facts(status=S.CHECKED_IN, start=START, treatment=False, identity=True)
    assert not refusals(Action.COMPLETE, facts, {Party.FRONT_DESK}, now=START, tz=LA)
    assert [r.code for r in refusals(Action.START, facts, {Party.CLINICIAN}, now=START, tz=LA)] == [
        "type"
    ]


@pytest.mark.parametrize(
    ("action", "parties"),
    [
        (Action.CHECK_IN, {Party.FRONT_DESK, Party.ADMIN}),
        (Action.START, {Party.CLINICIAN}),
        (Action.RECORD_VITALS, {Party.CLINICIAN}),
        (Action.NO_SHOW, {Party.FRONT_DESK, Party.CLINICIAN, Party.ADMIN}),
        (
            Action.CANCEL,
            {Party.FRONT_DESK, Party.CLINICIAN, Party.ADMIN, Party.PATIENT, Party.SYSTEM},
        ),
        (Action.MOVE, {Party.FRONT_DESK, Party.CLINICIAN, Party.ADMIN, Party.PATIENT}),
    ],
)
def test_who_may_take_each_action(action, parties):
    rule = RULES[action]
    status = sorted(s for s in rule.sources if s is not None)[0]
    now = (
        MOMENTS["visit_day_after_start"]
        if action == Action.NO_SHOW
        else START - dt.timedelta(hours=1)
    )
    facts = Facts(status=status, start=START, treatment=True, **GOOD)
    may = {
        party
        for party in Party
        if [r.code for r in refusals(action, facts, {party}, now=now, tz=LA)] != ["role"]
    }
    assert may == parties


def test_offered_actions_hide_what_the_role_state_or_date_forbid_and_keep_missing_steps():
    facts = Facts(status=S.BOOKED, start=START, treatment=True)
    desk = offered(facts, {Party.FRONT_DESK}, now=MOMENTS["visit_day_early"], tz=LA)
    assert Action.CHECK_IN in desk  # shown, with the identity, escort and answers still to do
    assert Action.START not in desk and Action.NO_SHOW not in desk
    assert Action.CHECK_IN not in offered(
        facts, {Party.FRONT_DESK}, now=MOMENTS["day_before"], tz=LA
    )


def test_the_diagram_and_table_come_from_the_rules():
    text = diagram()
    for action in RULES:
        if action != Action.BOOK:
            assert f": {action.value}" in text
    assert "checked_in --> in_progress: start" in text
    assert "booked --> in_progress" not in text
    markdown = table_markdown()
    assert all(f"| {action.value} |" in markdown for action in Action)
    assert When.VISIT_DAY.value in markdown


def test_the_lifecycle_document_is_generated_from_the_table():
    path = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"
    assert path.read_text(encoding="utf-8") == document(), (
        "docs/lifecycle.md is out of date: run `manage.py lifecycle_doc`"
    )
