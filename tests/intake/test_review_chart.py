"""The patient's chart: what a clinician reads on it, that every read is audited, and that it
costs the same number of queries however much history the patient (and the clinic) has."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from intake.examples import complete_answers
from intake.models import (
    ClearanceDecision,
    CrisisAlert,
    DecisionKind,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
)
from intake.review import age_on, medication_rows
from intake.screening import submission_save_section
from propel.models import AuditEvent
from tests.factories import (
    CheckInSubmissionFactory,
    ClearanceDecisionFactory,
    IntakeSubmissionFactory,
    PatientFactory,
)
from tests.intake.review_data import (
    HARD_STOP,
    NOW,
    OPIOIDS,
    URGENT,
    bulk_patients,
    bulk_rounds,
    chart_url,
    sent,
)

pytestmark = pytest.mark.django_db


def main_of(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1]


def test_the_chart_shows_the_patient_and_the_latest_round_in_full(
    patient, clinician_user, client_for
):
    sent(patient, at=NOW - dt.timedelta(days=200))
    submission = sent(patient, phq9_1=2, phq9_difficulty=1, **HARD_STOP, **OPIOIDS)

    response = client_for(clinician_user).get(chart_url(patient))

    assert response.status_code == 200
    main = main_of(response)
    # Header: who, how old, how to reach them, who drives them home, where they stand.
    assert f"{patient.first_name} {patient.last_name}" in main
    assert "Jan 1, 1970" in main
    assert "years old" in main
    assert patient.email in main
    assert "(916) 555-0100" in main
    assert "Sam Driver" in main
    assert "Pending review" in main
    assert f"Round {submission.round}, sent" in main
    # Answers grouped by section; scores with bands.
    assert "1. About you" in main
    assert "Thoughts that you would be better off dead" in main
    assert "Patient Health Questionnaire-9 (PHQ-9)" in main
    assert "2 / 27" in main
    assert "None-minimal" in main
    # Medications with MME per entry and total.
    assert "Oxycodone, 30 mg, 4 times a day" in main
    assert "180.0" in main
    assert "Sertraline, 50 mg, 1 time a day" in main
    assert "Total morphine milligram equivalents per day" in main
    # Flags by severity, each with evidence and source.
    flags = list(Flag.objects.filter(submission=submission))
    hard_stop = next(f for f in flags if f.severity == "hard_stop")
    info = next(f for f in flags if f.severity == "info")
    assert main.index(f'id="flag-{hard_stop.pk}"') < main.index(f'id="flag-{info.pk}"')
    for flag in flags:
        assert flag.source.replace("&", "&amp;") in main
        for item in flag.evidence:
            assert item["question"].replace("'", "&#x27;") in main
    assert "Not acknowledged yet." in main
    # The earlier round is a link to its read-only page.
    earlier = IntakeSubmission.objects.get(patient=patient, round=1)
    assert f"/staff/intake/{earlier.pk}/" in main
    # The measures over time (the check-in engineer's partial).
    outcomes = main.split('id="outcomes"', 1)[1]
    assert "PHQ-9 (depression)" in outcomes
    assert 'data-measure="phq9"' in outcomes


def test_age_counts_whole_years_on_the_day():
    assert age_on(dt.date(1970, 3, 10), dt.date(2027, 3, 9)) == 56
    assert age_on(dt.date(1970, 3, 10), dt.date(2027, 3, 10)) == 57
    assert age_on(dt.date(2000, 2, 29), dt.date(2027, 2, 28)) == 26
    assert age_on(dt.date(2000, 2, 29), dt.date(2027, 3, 1)) == 27


def test_medication_rows_give_each_opioid_its_mme_and_flag_the_ones_without():
    rows, total = medication_rows(
        complete_answers(
            takes_medications="yes",
            medications=[
                {"name": "Oxycodone", "dose": "10", "unit": "mg", "times_per_day": 3},
                {"name": "Buprenorphine", "dose": "8", "unit": "mg", "times_per_day": 1},
                {"name": "Sertraline", "dose": "50", "unit": "mg", "times_per_day": 1},
            ],
        )
    )

    assert [(r.mme, r.mme_missing) for r in rows] == [
        (Decimal("45.0"), False),
        (None, True),
        (None, False),
    ]
    assert total == Decimal("45.0")
    hidden, none = medication_rows(
        complete_answers(
            takes_medications="no",
            medications=[{"name": "Oxycodone", "dose": "10", "unit": "mg", "times_per_day": 3}],
        )
    )
    assert (hidden, none) == ([], Decimal("0.0"))


def test_flags_show_who_acknowledged_them_and_the_decision_history_is_complete(
    patient, clinician_user, client_for
):
    first = sent(patient, at=NOW - dt.timedelta(days=30), **HARD_STOP)
    ClearanceDecisionFactory(
        submission=first,
        needs_information=True,
        reason="Please send your latest blood pressure readings.",
        decided_by=clinician_user,
        decided_at=NOW - dt.timedelta(days=29),
    )
    second = sent(patient, at=NOW, **HARD_STOP)
    for flag in Flag.objects.filter(submission=second):
        FlagAcknowledgement.objects.create(
            flag=flag, by=clinician_user, at=NOW, note=f"Checked {flag.rule_id} by phone."
        )
    ClearanceDecision.objects.create(
        patient=patient,
        submission=second,
        kind=DecisionKind.CLEARED,
        valid_until=dt.date(2027, 9, 1),
        reason="Readings fine.",
        override_reason="Controlled on the day; GP letter on file.",
        decided_by=clinician_user,
        decided_at=NOW + dt.timedelta(hours=1),
    )

    response = client_for(clinician_user).get(chart_url(patient))

    main = main_of(response)
    assert "Acknowledged by Test Staffer" in main
    assert "Checked bp_uncontrolled by phone." in main or "by phone." in main
    assert "Every flag is acknowledged." in main
    history = main.split('id="decisions"', 1)[1]
    assert history.index("Cleared for infusion") < history.index("Needs more information")
    assert "Wed, Sep 1, 2027" in history
    assert "Readings fine." in history
    assert "Controlled on the day; GP letter on file." in history
    assert "Please send your latest blood pressure readings." in history
    assert clinician_user.get_full_name() in history
    assert "Round 2 was decided: Cleared for infusion" in main


def test_an_open_crisis_alert_is_on_top_and_an_acknowledged_one_says_who_and_when(
    patient, clinician_user, client_for
):
    submission = sent(patient, **URGENT)
    client = client_for(clinician_user)

    main = main_of(client.get(chart_url(patient)))
    assert main.index("Urgent: self-harm answer") < main.index("<h1")
    assert "Immediate: phone within the hour" in main
    assert "Not yet: check the on-call list and call the patient" in main
    assert "Acknowledge the alert" in main

    CrisisAlert.objects.filter(submission=submission).update(
        acknowledged_at=NOW, acknowledged_by=clinician_user, outcome="Phoned; safety plan agreed."
    )
    main = main_of(client.get(chart_url(patient)))
    assert main.index("<h1") < main.index("Urgent: self-harm answer")
    assert "acknowledged by Test Staffer" in main
    assert "Phoned; safety plan agreed." in main
    assert "Acknowledge the alert" not in main


def test_a_crisis_alert_names_the_kind_of_round_that_raised_it(patient, clinician_user, client_for):
    screening = sent(patient, **URGENT)
    check_in = CheckInSubmissionFactory(patient=patient)
    submission_save_section(
        submission_id=check_in.pk,
        section_key="phq9",
        answers={"phq9_9": 1},
        complete=False,
    )

    main = main_of(client_for(clinician_user).get(chart_url(patient)))

    alerts = main.split('<div id="crisis">', 1)[1].split('<header class="mb-4">', 1)[0]
    assert alerts.count("Urgent: self-harm answer") == 2
    assert f"pre-infusion check-in round {check_in.round}" in alerts
    assert f"screening round {screening.round}" in alerts
    assert alerts.count("screening round") == 1


def test_a_patient_who_has_sent_nothing_has_an_empty_chart(patient, clinician_user, client_for):
    IntakeSubmissionFactory(patient=patient)  # a draft only

    response = client_for(clinician_user).get(chart_url(patient))

    assert response.status_code == 200
    main = main_of(response)
    assert "No screening sent yet." in main
    assert "round 1 in progress with the patient" in main
    assert "Record decision" not in main


def test_an_unknown_patient_is_404(clinician_user, client_for):
    assert client_for(clinician_user).get(chart_url(999999)).status_code == 404


@pytest.mark.parametrize("persona", ["clinician_user", "admin_user"])
def test_every_read_of_the_chart_is_audited(persona, patient, client_for, request):
    user = request.getfixturevalue(persona)
    submission = sent(patient)
    client = client_for(user)

    client.get(chart_url(patient))
    client.get(chart_url(patient))

    events = AuditEvent.objects.filter(action="chart.viewed", patient_id=patient.pk, actor=user)
    assert events.count() == 2
    assert events.first().detail == {"round": submission.round}
    assert events.first().ip_address


# --- Cost ----------------------------------------------------------------------------------------


def _history(patient, *, rounds: int, others: int, clinician) -> None:
    """`rounds` screening rounds for `patient`, each with flags (acknowledged twice), a crisis
    alert on every third and a decision on every round but the latest; plus `others` patients."""
    bulk_rounds(
        bulk_patients(others, prefix="Other"),
        rounds=2,
        decided_every=2,
        alert_every=3,
        clinician=clinician,
    )
    bulk_rounds([patient], rounds=rounds, flags_per_round=6, alert_every=1, clinician=clinician)
    mine = list(IntakeSubmission.objects.filter(patient=patient).order_by("round"))
    FlagAcknowledgement.objects.bulk_create(
        FlagAcknowledgement(flag=flag, by=clinician, at=NOW, note=f"Note {n}")
        for flag in Flag.objects.filter(submission__patient=patient)
        for n in range(2)
    )
    CrisisAlert.objects.bulk_create(
        CrisisAlert(
            submission=s,
            patient=patient,
            priority="urgent",
            raised_at=NOW,
            acknowledged_at=NOW,
            acknowledged_by=clinician,
            outcome="Phoned.",
        )
        for s in mine[:-1:3]
    )
    ClearanceDecision.objects.bulk_create(
        ClearanceDecision(
            patient=patient,
            submission=s,
            kind=DecisionKind.NEEDS_INFORMATION,
            reason="More, please.",
            decided_by=clinician,
            decided_at=NOW - dt.timedelta(days=len(mine) - s.round),
        )
        for s in mine[:-1]
    )


# Session, user, device, roles; patient, rounds, latest round, flags, acknowledgements, alerts,
# decisions; clearance status (2); outcomes (1); audit row; the idle-timeout session write (3);
# the crisis banner's open alerts (1, every clinician page: intake.context_processors); each
# alert's texts and escalations (1, intake.crisis).
CHART_QUERY_CEILING = 20


@pytest.mark.parametrize(("others", "rounds"), [(5, 2), (500, 20)])
def test_the_chart_costs_the_same_however_much_history(
    others, rounds, clinician_user, client_for, django_assert_max_num_queries
):
    patient = PatientFactory()
    _history(patient, rounds=rounds, others=others, clinician=clinician_user)
    client = client_for(clinician_user)

    with django_assert_max_num_queries(CHART_QUERY_CEILING):
        response = client.get(chart_url(patient))

    assert response.status_code == 200
    chart = response.context["chart"]
    assert len(chart.rounds) == rounds
    assert len(chart.flags) == 6
    assert len(chart.decisions) == rounds - 1
    assert all(len(flag.acknowledgements.all()) == 2 for flag in chart.flags)


def test_the_chart_query_count_does_not_grow_with_history(clinician_user, client_for):
    from tests.intake.review_data import count_queries

    small, large = PatientFactory(), PatientFactory()
    _history(small, rounds=2, others=0, clinician=clinician_user)
    _history(large, rounds=20, others=0, clinician=clinician_user)
    client = client_for(clinician_user)
    client.get(chart_url(small))  # warm the session

    assert count_queries(client, chart_url(small)) == count_queries(client, chart_url(large))
