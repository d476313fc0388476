"""What other apps may ask intake, read-only: small functions over ids that answer one question
each, so scheduling need not query intake's models or reach into its services.

None of them writes, locks or audits; none reveals answers, scores or flag wording unless the
name says so (`round_flags` is for clinical pages). Batch forms (`*_statuses`) answer for any
number of patients in a fixed number of queries.

Reads that already live in intake are offered here too (clearance, the front desk's screening
badge), so that one module is the door.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from intake.clearance import (
    ClearanceStatus,
    clearance_by_day,
    clearance_refusal,
    clearance_status,
    clearance_statuses,
    clinic_date,
    has_valid_clearance,
)
from intake.models import (
    CrisisAlert,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    Patient,
    Severity,
    SubmissionStatus,
)
from intake.questionnaire_progress import QuestionnaireWording, questionnaire_progress
from intake.screening import ScreeningStatus, screening_status, screening_statuses

__all__ = [
    "ClearanceStatus",
    "FlagSummary",
    "QuestionnaireWording",
    "ScreeningStatus",
    "clearance_by_day",
    "clearance_refusal",
    "clearance_status",
    "clearance_statuses",
    "clinic_date",
    "crisis_alert_acknowledged",
    "hard_stop_raised",
    "has_hard_stop",
    "has_open_crisis_alert",
    "has_valid_clearance",
    "latest_screening_status",
    "questionnaire_progress",
    "questionnaire_status",
    "questionnaire_statuses",
    "round_flags",
    "round_urgent_unreviewed",
    "screening_status",
    "screening_statuses",
    "screening_submitted",
]

NO_ROUND = "none"


def latest_screening_status(patient_ref: str = "pk") -> Subquery:
    """The status of the patient's latest screening round ("draft" or "submitted"; None without
    one), as an expression to annotate a Patient queryset with (`patient_ref`: the patient's id
    there), so a query that reads the patient anyway answers it too."""
    return Subquery(
        IntakeSubmission.objects.screenings()
        .filter(patient_id=OuterRef(patient_ref))
        .order_by("-round")
        .values("status")[:1]
    )


def questionnaire_statuses(patient_ids: Iterable[int]) -> dict[int, str]:
    """For each patient, their latest screening round's status as the patient may see it:
    "none", "draft" or "submitted" (never its answers or flags). One query."""
    ids = set(patient_ids)
    statuses = dict.fromkeys(ids, NO_ROUND)
    rounds = (
        Patient.objects.filter(pk__in=ids)
        .annotate(latest=latest_screening_status())
        .filter(latest__isnull=False)
        .values_list("pk", "latest")
    )
    statuses.update(rounds)
    return statuses


def questionnaire_status(patient_id: int) -> str:
    """ "none", "draft" or "submitted": the patient's latest screening round."""
    return questionnaire_statuses([patient_id])[patient_id]


def screening_submitted(patient_id: int) -> bool:
    """Whether the patient's latest screening round has been sent."""
    return questionnaire_status(patient_id) == SubmissionStatus.SUBMITTED


def _hard_stop_flags(patient: int | OuterRef) -> QuerySet[Flag]:
    latest = (
        IntakeSubmission.objects.screenings()
        .filter(patient_id=patient, status=SubmissionStatus.SUBMITTED)
        .order_by("-round")
        .values("pk")[:1]
    )
    return Flag.objects.filter(submission__in=latest, severity=Severity.HARD_STOP)


def has_hard_stop(patient_id: int) -> bool:
    """Whether the patient's latest submitted screening round raised a hard-stop flag (a later
    submitted round, not a clearance decision, is what replaces it)."""
    return _hard_stop_flags(patient_id).exists()


def hard_stop_raised(patient_ref: str = "pk") -> Exists:
    """has_hard_stop as an expression to annotate a Patient queryset with (`patient_ref`: the
    patient's id there)."""
    # Two levels out: the round's query sits inside the flags' query inside the patients'.
    return Exists(_hard_stop_flags(OuterRef(OuterRef(patient_ref))))


def has_open_crisis_alert(patient_id: int) -> bool:
    """Whether any crisis alert of the patient's is still unacknowledged."""
    return CrisisAlert.objects.filter(patient_id=patient_id, acknowledged_at__isnull=True).exists()


def crisis_alert_acknowledged(submission_id: int) -> bool:
    """Whether the round's crisis alert exists and a clinician has acknowledged it."""
    return CrisisAlert.objects.filter(
        submission_id=submission_id, acknowledged_at__isnull=False
    ).exists()


def round_urgent_unreviewed(submission_id: int) -> bool:
    """Whether the round raised an urgent flag that nobody has dealt with: its crisis alert is not
    acknowledged and at least one urgent flag has no acknowledgement."""
    urgent = Flag.objects.filter(submission_id=submission_id, severity=Severity.URGENT)
    if not urgent.exists():
        return False
    if crisis_alert_acknowledged(submission_id):
        return False
    return urgent.filter(acknowledgements__isnull=True).exists()


@dataclass(frozen=True)
class FlagSummary:
    rule_id: str
    severity: str
    title: str
    reviewed: bool


def round_flags(submission_id: int, severities: Iterable[str]) -> list[FlagSummary]:
    """The round's flags of these severities, in the order they were raised, each marked
    `reviewed` when a clinician has acknowledged it (one query). Clinical pages only: the titles
    are health information."""
    rows = (
        Flag.objects.filter(submission_id=submission_id, severity__in=list(severities))
        .annotate(reviewed=Exists(FlagAcknowledgement.objects.filter(flag_id=OuterRef("pk"))))
        .order_by("id")
        .values_list("rule_id", "severity", "title", "reviewed")
    )
    return [FlagSummary(*row) for row in rows]
