"""Data for the clinician review tests: rounds sent through the real services, and bulk data
(bulk_create, no services) for the query-count tests."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from intake import review
from intake.examples import complete_answers
from intake.models import (
    ClearanceDecision,
    CrisisAlert,
    DecisionKind,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    Patient,
    Severity,
    SubmissionStatus,
)
from intake.screening import intake_submit
from tests.factories import IntakeSubmissionFactory, PatientFactory

NOW = dt.datetime(2027, 3, 10, 18, 0, tzinfo=dt.UTC)

URGENT = {"phq9_9": 2}
HARD_STOP = {"bp_diagnosed": "yes", "bp_treated": "yes", "bp_controlled": "no"}
OPIOIDS = {
    "takes_medications": "yes",
    "medications": [
        {"name": "Oxycodone", "dose": "30", "unit": "mg", "times_per_day": 4},
        {"name": "Sertraline", "dose": "50", "unit": "mg", "times_per_day": 1},
    ],
}


def sent(patient: Patient | None = None, *, at: dt.datetime = NOW, **changes) -> IntakeSubmission:
    """A screening round sent through intake_submit (scores, flags, crisis alert as in life)."""
    patient = patient or PatientFactory()
    previous = IntakeSubmission.objects.filter(patient=patient).count()
    submission = IntakeSubmissionFactory(
        patient=patient, complete=True, answers=complete_answers(**changes), round=previous + 1
    )
    return intake_submit(submission_id=submission.pk, now=at)


def chart_url(patient: Patient | int) -> str:
    patient_id = patient if isinstance(patient, int) else patient.pk
    return reverse("intake:chart", kwargs={"patient_id": patient_id})


QUEUE = reverse("intake:review_queue")


def decide_url(patient: Patient) -> str:
    return reverse("intake:chart_decide", kwargs={"patient_id": patient.pk})


def flag_url(patient: Patient | int, flag: Flag | int) -> str:
    patient_id = patient if isinstance(patient, int) else patient.pk
    flag_id = flag if isinstance(flag, int) else flag.pk
    return reverse(
        "intake:chart_flag_acknowledge", kwargs={"patient_id": patient_id, "flag_id": flag_id}
    )


def alert_url(patient: Patient | int, alert: CrisisAlert | int) -> str:
    patient_id = patient if isinstance(patient, int) else patient.pk
    alert_id = alert if isinstance(alert, int) else alert.pk
    return reverse(
        "intake:chart_alert_acknowledge", kwargs={"patient_id": patient_id, "alert_id": alert_id}
    )


def hidden_inputs(html: str) -> dict[str, str]:
    """The decision form's hidden fields as the page drew them."""
    return {
        name: re.search(rf'name="{name}" value="(\d+)"', html)[1]
        for name in ("submission_id", "after")
    }


def decide(client, patient: Patient, **fields):
    """Post the decision form as the chart currently draws it, with `fields` filled in."""
    page = client.get(chart_url(patient)).content.decode()
    return client.post(decide_url(patient), hidden_inputs(page) | fields)


@contextmanager
def consultation_lookup(mapping: dict[int, dt.datetime]) -> Iterator[None]:
    """Replace scheduling's registered lookup for one test (and put it back)."""
    previous = review.set_consultation_lookup(
        lambda ids, *, now: {pid: at for pid, at in mapping.items() if pid in ids}
    )
    try:
        yield
    finally:
        review.set_consultation_lookup(previous)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200
    return len(captured)


# --- Bulk data: many patients, rounds, flags, decisions in a few statements --------------------

SEVERITY_CYCLE = (Severity.URGENT, Severity.HARD_STOP, Severity.REVIEW, Severity.INFO)


def bulk_patients(count: int, *, prefix: str = "Bulk") -> list[Patient]:
    return Patient.objects.bulk_create(
        Patient(
            first_name=f"{prefix}{index}",
            last_name="McFakeface",
            date_of_birth=dt.date(1960 + index % 40, 1 + index % 12, 1 + index % 28),
            email=f"{prefix.lower()}{index}@example.test",
        )
        for index in range(count)
    )


def bulk_rounds(
    patients: list[Patient],
    *,
    rounds: int = 1,
    flags_per_round: int = 4,
    decided_every: int = 0,
    alert_every: int = 0,
    clinician=None,
    at: dt.datetime = NOW,
) -> list[IntakeSubmission]:
    """`rounds` submitted screening rounds per patient with flags of every severity; every
    `decided_every`-th patient's latest round gets a decision (and flag acknowledgements), every
    `alert_every`-th an open crisis alert. Returns the latest round of each patient."""
    answers = complete_answers()
    submissions = IntakeSubmission.objects.bulk_create(
        IntakeSubmission(
            patient=patient,
            round=number,
            status=SubmissionStatus.SUBMITTED,
            answers=answers,
            completed_sections=[],
            scores={},
            submitted_at=at - dt.timedelta(minutes=index, days=rounds - number),
        )
        for index, patient in enumerate(patients)
        for number in range(1, rounds + 1)
    )
    Flag.objects.bulk_create(
        Flag(
            submission=submission,
            rule_id=f"rule_{n}",
            severity=SEVERITY_CYCLE[n % len(SEVERITY_CYCLE)],
            title=f"Bulk flag {n}",
            evidence=[{"key": "bp_diagnosed", "question": "Blood pressure?", "answer": "Yes"}],
            source="Bulk source",
        )
        for submission in submissions
        for n in range(flags_per_round)
    )
    latest = [s for s in submissions if s.round == rounds]
    if alert_every:
        CrisisAlert.objects.bulk_create(
            CrisisAlert(submission=s, patient_id=s.patient_id, priority="urgent", raised_at=at)
            for index, s in enumerate(latest)
            if index % alert_every == 0
        )
    if decided_every and clinician is not None:
        decided = [s for index, s in enumerate(latest) if index % decided_every == 0]
        FlagAcknowledgement.objects.bulk_create(
            FlagAcknowledgement(flag=flag, by=clinician, at=at, note="Seen.")
            for flag in Flag.objects.filter(submission__in=decided)
        )
        ClearanceDecision.objects.bulk_create(
            ClearanceDecision(
                patient_id=s.patient_id,
                submission=s,
                kind=DecisionKind.DECLINED,
                reason="Bulk decline.",
                decided_by=clinician,
                decided_at=at,
            )
            for s in decided
        )
    return latest


def today_at(hour: int) -> dt.datetime:
    """An instant today, clinic time."""
    return timezone.localtime().replace(hour=hour, minute=0, second=0, microsecond=0)
