"""Clinician review: the queue of screening rounds waiting for a decision, and what a patient's
chart shows. Read-only; the decisions themselves are services in intake.decisions.

Each loader runs a fixed number of queries whatever the number of patients, rounds, flags or
decisions (tests/intake/test_review_queue.py and test_review_chart.py count them).

The queue orders by each patient's next consultation, which scheduling owns. intake never imports
scheduling, so scheduling registers a lookup here at start-up (scheduling.review_hooks, from
SchedulingConfig.ready()); until it does, nobody has a consultation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias, TypedDict, cast

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise, WithAnnotations

from intake import medications
from intake.answers import effective_answers, medication_label
from intake.models import (
    SEVERITY_ORDER,
    ClearanceDecision,
    CrisisAlert,
    CrisisNotification,
    DecisionKind,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    Patient,
    Severity,
    SubmissionKind,
    SubmissionStatus,
)

# --- Next consultation: a lookup scheduling provides ------------------------------------------

# fn(patient_ids, now=...) -> {patient_id: start of the patient's next active consultation}. One
# query for any number of patients; patients without one are left out.
ConsultationLookup = Callable[..., Mapping[int, dt.datetime]]


def no_consultations(patient_ids: Collection[int], *, now: dt.datetime) -> dict[int, dt.datetime]:
    """The default lookup: no patient has a consultation (no query)."""
    return {}


_consultation_lookup: ConsultationLookup = no_consultations


def set_consultation_lookup(lookup: ConsultationLookup) -> ConsultationLookup:
    """Register the next-consultation lookup; returns the previous one (so a test can restore
    it). Called once by scheduling at start-up."""
    global _consultation_lookup
    previous = _consultation_lookup
    _consultation_lookup = lookup
    return previous


def consultation_lookup() -> ConsultationLookup:
    return _consultation_lookup


def next_consultations(patient_ids: Collection[int], *, now: dt.datetime) -> dict[int, dt.datetime]:
    ids = set(patient_ids)
    if not ids:
        return {}
    return dict(_consultation_lookup(ids, now=now))


# --- The queue ---------------------------------------------------------------------------------


class RoundStatus:
    """Why a round is in the queue, in words for the status column."""

    NEW = _("New: awaiting first review")
    RESUBMITTED = _("Resubmitted after a request for information")
    RESCREENED = _("Re-screened: awaiting review")
    DECIDED_ALERT_OPEN = _("Decided, but the crisis alert is still open")
    ALERT_ON_DRAFT = _("Crisis alert on a screening not sent yet")
    ALERT_ON_CHECK_IN = _("Crisis alert on a pre-visit check-in")


def flag_count_annotations(prefix: str = "flags") -> dict[str, Count]:
    """`n_urgent`, `n_hard_stop`, `n_review`, `n_info`: flags of each severity on a round."""
    return {
        f"n_{severity}": Count(prefix, filter=Q(**{f"{prefix}__severity": severity}))
        for severity in Severity.values
    }


SUBMITTED_SCREENING = Q(kind=SubmissionKind.SCREENING, status=SubmissionStatus.SUBMITTED)


def queue_queryset() -> QuerySet[QueuedRound]:
    """Each patient's latest submitted screening round that has no decision yet, plus any
    patient's latest round while the patient has an unacknowledged crisis alert (an urgent answer
    never leaves the queue until someone has acted on it), plus every other round that carries an
    open crisis alert of its own: a draft (item 9 answered on a step, never sent) or a check-in
    round, whether or not the patient ever sent a screening. One query, unordered: the order needs
    the consultation times, which come from scheduling (`review_queue`).

    A needs-information decision sits on the round it was made on, so a newer round submitted
    since has no decision and comes back here on its own.
    """
    newer = (
        IntakeSubmission.objects.screenings()
        .submitted()
        .filter(patient=OuterRef("patient"), round__gt=OuterRef("round"))
    )
    decided = ClearanceDecision.objects.filter(submission=OuterRef("pk"))
    open_alert = CrisisAlert.objects.filter(
        patient=OuterRef("patient"), acknowledged_at__isnull=True
    )
    own_open_alert = CrisisAlert.objects.filter(
        submission=OuterRef("pk"), acknowledged_at__isnull=True
    )
    last_decision = (
        ClearanceDecision.objects.filter(patient=OuterRef("patient"))
        .order_by("-decided_at", "-pk")
        .values("kind")[:1]
    )
    awaiting_decision = (
        SUBMITTED_SCREENING & Q(has_newer=False) & (Q(decided=False) | Q(open_alert=True))
    )
    # A submitted screening's alert is always carried by the patient's latest screening row above.
    alert_elsewhere = Q(own_open_alert=True) & ~SUBMITTED_SCREENING
    queued = (
        IntakeSubmission.objects.annotate(
            decided=Exists(decided),
            open_alert=Exists(open_alert),
            own_open_alert=Exists(own_open_alert),
            has_newer=Exists(newer),
        )
        .filter(awaiting_decision | alert_elsewhere)
        .annotate(last_decision_kind=Subquery(last_decision), **flag_count_annotations())
        .select_related("patient", "crisis_alert__acknowledged_by")
        .defer("answers", "scores", "completed_sections", "info_request")
        .order_by()
    )
    # django-stubs cannot see the flag counts (annotate(**dict)): the rows' type says them.
    return cast("QuerySet[QueuedRound]", queued)


class QueueAnnotations(TypedDict):
    """What the queue's query (and flag_count_annotations) adds to each round."""

    decided: bool
    open_alert: bool
    last_decision_kind: str | None
    n_urgent: int
    n_hard_stop: int
    n_review: int
    n_info: int


# A round as queue_queryset loads it.
QueuedRound: TypeAlias = "WithAnnotations[IntakeSubmission, QueueAnnotations]"


@dataclass(frozen=True)
class QueueRow:
    submission: QueuedRound
    consultation: dt.datetime | None

    @property
    def patient(self) -> Patient:
        return self.submission.patient

    @property
    def alert(self) -> CrisisAlert | None:
        return getattr(self.submission, "crisis_alert", None)

    @property
    def alert_only(self) -> bool:
        """In the queue for its open crisis alert alone: a draft or a check-in round, no screening
        to decide on. Its flags were never evaluated as a whole, so the queue shows no counts."""
        submission = self.submission
        return not (
            submission.kind == SubmissionKind.SCREENING
            and submission.status == SubmissionStatus.SUBMITTED
        )

    @property
    def urgent_open(self) -> bool:
        """An unacknowledged crisis alert, or (belt and braces) an urgent flag with no alert."""
        return bool(self.submission.open_alert) or (
            self.submission.n_urgent > 0 and self.alert is None
        )

    @property
    def urgent(self) -> bool:
        return self.urgent_open or self.submission.n_urgent > 0

    @property
    def hard_stop(self) -> bool:
        return not self.alert_only and self.submission.n_hard_stop > 0

    @property
    def counts(self) -> dict[str, int]:
        return {severity: getattr(self.submission, f"n_{severity}") for severity in Severity.values}

    @property
    def waiting_since(self) -> dt.datetime | None:
        """When the round was sent; for an alert-only row, when its alert was raised."""
        if self.alert_only and self.alert is not None:
            return self.alert.raised_at
        return self.submission.submitted_at

    @property
    def status(self) -> Any:
        submission = self.submission
        if submission.kind == SubmissionKind.CHECK_IN:
            return RoundStatus.ALERT_ON_CHECK_IN
        if self.alert_only:
            return RoundStatus.ALERT_ON_DRAFT
        if submission.decided:
            return RoundStatus.DECIDED_ALERT_OPEN
        after_decision: dict[str | None, StrOrPromise] = {
            None: RoundStatus.NEW,
            DecisionKind.NEEDS_INFORMATION: RoundStatus.RESUBMITTED,
        }
        return after_decision.get(submission.last_decision_kind, RoundStatus.RESCREENED)


def queue_sort_key(row: QueueRow) -> tuple[Any, ...]:
    """Open crisis alerts first, then hard stops, then the earliest consultation (none last),
    then the longest waiting."""
    waiting = row.waiting_since
    return (
        not row.urgent_open,
        not row.hard_stop,
        row.consultation is None,
        row.consultation or dt.datetime.max.replace(tzinfo=dt.UTC),
        waiting or dt.datetime.max.replace(tzinfo=dt.UTC),
        row.submission.pk,
    )


def order_queue(
    rounds: Iterable[QueuedRound], consultations: Mapping[int, dt.datetime]
) -> list[QueueRow]:
    rows = [QueueRow(s, consultations.get(s.patient_id)) for s in rounds]
    return sorted(rows, key=queue_sort_key)


def review_queue(*, now: dt.datetime) -> list[QueueRow]:
    """The whole queue in review order: two queries (the rounds, the consultations).

    Sorted in Python because part of the key lives in scheduling; the queue is the clinic's
    undecided work, hundreds of rows at most, and only light columns are loaded.
    """
    rounds = list(queue_queryset())
    consultations = next_consultations({s.patient_id for s in rounds}, now=now)
    return order_queue(rounds, consultations)


def recent_decisions(limit: int = 20) -> list[ClearanceDecision]:
    """The latest decisions, newest first, in one query."""
    return list(
        ClearanceDecision.objects.select_related("patient", "decided_by", "submission")
        .only(
            "kind",
            "valid_until",
            "decided_at",
            "patient__first_name",
            "patient__last_name",
            "patient__date_of_birth",
            "decided_by__username",
            "decided_by__first_name",
            "decided_by__last_name",
            "submission__round",
        )
        .order_by("-decided_at", "-pk")[:limit]
    )


# --- The chart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedicationRow:
    label: str
    mme: Decimal | None
    opioid: bool

    @property
    def mme_missing(self) -> bool:
        return self.opioid and self.mme is None


def medication_rows(answers: Mapping[str, Any]) -> tuple[list[MedicationRow], Decimal]:
    """The medicines that count in a round's answers, each with its MME per day (opioids with a
    CDC factor), and the total. Pure."""
    listed = medications.entries(effective_answers(answers).get("medications"))
    opioids = set(medications.classes_in(listed).get("opioid", []))
    rows = [
        MedicationRow(
            label=medication_label(entry) if isinstance(entry, Mapping) else str(entry),
            mme=medications.daily_mme(entry),
            opioid=position in opioids,
        )
        for position, entry in enumerate(listed)
    ]
    return rows, medications.total_mme(listed)


def age_on(date_of_birth: dt.date, today: dt.date) -> int:
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - before_birthday


def by_severity(flags: Iterable[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda flag: (SEVERITY_ORDER.get(flag.severity, 99), flag.pk))


@dataclass
class Chart:
    """What a patient's chart shows, loaded in a fixed number of queries."""

    patient: Patient
    # Every screening round, newest first; answers and scores not loaded (`current` has them).
    rounds: list[IntakeSubmission]
    # The latest submitted screening round, in full; None before the first is sent.
    current: IntakeSubmission | None
    flags: list[Flag]
    alerts: list[CrisisAlert]
    # Newest first.
    decisions: list[ClearanceDecision]

    @property
    def draft(self) -> IntakeSubmission | None:
        return next((s for s in self.rounds if s.status == SubmissionStatus.DRAFT), None)

    @property
    def previous_rounds(self) -> list[IntakeSubmission]:
        current = self.current.pk if self.current else None
        return [s for s in self.rounds if s.is_submitted and s.pk != current]

    @property
    def latest_decision(self) -> ClearanceDecision | None:
        return self.decisions[0] if self.decisions else None

    @property
    def current_decision(self) -> ClearanceDecision | None:
        """The latest decision made on the current round, if any."""
        if self.current is None:
            return None
        return next((d for d in self.decisions if d.submission_id == self.current.pk), None)

    @property
    def has_hard_stop(self) -> bool:
        return any(flag.severity == Severity.HARD_STOP for flag in self.flags)

    @property
    def open_alerts(self) -> list[CrisisAlert]:
        return [alert for alert in self.alerts if alert.acknowledged_at is None]

    @property
    def unacknowledged_flags(self) -> list[Flag]:
        return [flag for flag in self.flags if not flag.acknowledgements.all()]


def load_chart(patient: Patient) -> Chart:
    """Seven queries whatever the number of rounds, flags, acknowledgements, alerts, their texts
    and escalations (intake.crisis), and decisions."""
    rounds = list(
        IntakeSubmission.objects.screenings()
        .filter(patient=patient)
        .defer("answers", "scores")
        .order_by("-round")
    )
    latest = next((s for s in rounds if s.is_submitted), None)
    current = None
    flags: list[Flag] = []
    if latest is not None:
        current = IntakeSubmission.objects.get(pk=latest.pk)
        current.patient = patient
        acknowledgements = FlagAcknowledgement.objects.select_related("by").order_by("at", "pk")
        flags = by_severity(
            Flag.objects.filter(submission=current).prefetch_related(
                Prefetch("acknowledgements", queryset=acknowledgements)
            )
        )
    notifications = CrisisNotification.objects.select_related("user").order_by("step", "pk")
    alerts = list(
        CrisisAlert.objects.filter(patient=patient)
        .select_related("acknowledged_by", "submission")
        .prefetch_related(Prefetch("notifications", queryset=notifications))
        .only(
            *("priority", "raised_at", "notified_at", "acknowledged_at", "outcome"),
            *("patient_id", "submission__round", "submission__kind"),
            *("acknowledged_by__username", "acknowledged_by__first_name"),
            "acknowledged_by__last_name",
        )
        .order_by("-raised_at", "-pk")
    )
    decisions = list(
        ClearanceDecision.objects.filter(patient=patient)
        .select_related("decided_by", "submission")
        .defer(
            "submission__answers",
            "submission__scores",
            "submission__completed_sections",
            "submission__info_request",
        )
        .order_by("-decided_at", "-pk")
    )
    return Chart(
        patient=patient,
        rounds=rounds,
        current=current,
        flags=flags,
        alerts=alerts,
        decisions=decisions,
    )


def flag_counts(flags: Sequence[Flag]) -> dict[str, int]:
    counts = dict.fromkeys(Severity.values, 0)
    for flag in flags:
        counts[flag.severity] = counts.get(flag.severity, 0) + 1
    return counts
