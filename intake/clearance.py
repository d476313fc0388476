"""Whether a patient is cleared for treatment that needs a clinician's clearance, read from the
append-only decisions that intake.decisions records.

A patient is cleared when their latest decision is "cleared", its `valid_until` (a clinic-local
date, inclusive) has not passed, and they have not submitted a screening round after the one that
was decided: a new screening round ends a clearance until a clinician reviews it. Pre-infusion
check-in rounds do not. Dates are compared as clinic-local calendar dates, so a clearance ends at
midnight in Sacramento whatever the UTC offset that day (DST changes included).

The status and its label are safe for front desk: no reason, no flag, only where the patient
stands. scheduling's bookings ask `clearance_by_day` (every session's day of a booking or a course
in one read) for every appointment type that needs a clearance and, when refused,
`clearance_refusal` for a message saying why; other pages ask `has_valid_clearance`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from intake.models import ClearanceDecision, DecisionKind, IntakeSubmission
from propel import formatting


class ClearanceKind(enum.StrEnum):
    PENDING = "pending"
    CLEARED = "cleared"
    EXPIRED = "expired"
    DECLINED = "declined"
    NEEDS_INFORMATION = "needs_information"


LABELS = {
    ClearanceKind.PENDING: gettext_lazy("Pending review"),
    ClearanceKind.EXPIRED: gettext_lazy("Clearance expired"),
    ClearanceKind.DECLINED: gettext_lazy("Declined"),
    ClearanceKind.NEEDS_INFORMATION: gettext_lazy("Needs information"),
}


def _date(day: dt.date) -> str:
    return formatting.local_date(day)


@dataclass(frozen=True)
class ClearanceStatus:
    """Where a patient stands. `valid_until` is set for cleared and expired (the last valid day).

    `last_decision` is the kind of the patient's latest decision ("" if none), `screening_sent`
    whether any screening round was sent (a pending status without one is "No screening sent
    yet", never "Pending review"), and `new_round_since` says that a screening round was
    submitted after the decided one (the status is then "pending"): together they let
    `clearance_refusal` say why a booking is refused.
    """

    kind: ClearanceKind
    valid_until: dt.date | None = None
    last_decision: str = ""
    new_round_since: bool = False
    # Pending with no screening round sent: nothing is waiting for review, and the label says so.
    screening_sent: bool = True

    @property
    def is_cleared(self) -> bool:
        return self.kind == ClearanceKind.CLEARED

    @property
    def label(self) -> str:
        if self.kind == ClearanceKind.CLEARED and self.valid_until is not None:
            return _("Cleared until %(date)s") % {"date": _date(self.valid_until)}
        if self.kind == ClearanceKind.PENDING and not self.screening_sent:
            return _("No screening sent yet")
        return str(LABELS[self.kind])


def _status(
    *,
    kind: str | None,
    valid_until: dt.date | None,
    decided_round: int | None,
    latest_round: int | None,
    today: dt.date,
) -> ClearanceStatus:
    """Pure: one patient's status from their latest decision and latest submitted screening."""
    if kind is None:
        return ClearanceStatus(ClearanceKind.PENDING, screening_sent=latest_round is not None)
    if latest_round is not None and decided_round is not None and latest_round > decided_round:
        return ClearanceStatus(ClearanceKind.PENDING, last_decision=kind, new_round_since=True)
    if kind == DecisionKind.CLEARED:
        state = (
            ClearanceKind.CLEARED
            if valid_until is not None and valid_until >= today
            else ClearanceKind.EXPIRED
        )
        return ClearanceStatus(state, valid_until=valid_until, last_decision=kind)
    if kind == DecisionKind.DECLINED:
        return ClearanceStatus(ClearanceKind.DECLINED, last_decision=kind)
    return ClearanceStatus(ClearanceKind.NEEDS_INFORMATION, last_decision=kind)


def _latest(ids: set[int]) -> tuple[dict[int, Mapping[str, Any]], dict[int, int]]:
    """Each patient's latest decision and latest submitted screening round, in two queries."""
    latest_per_patient = (
        ClearanceDecision.objects.filter(patient_id=OuterRef("patient_id"))
        .order_by("-decided_at", "-id")
        .values("pk")[:1]
    )
    decisions: dict[int, Mapping[str, Any]] = {
        row["patient_id"]: row
        for row in ClearanceDecision.objects.filter(
            patient_id__in=ids, pk=Subquery(latest_per_patient)
        ).values("patient_id", "kind", "valid_until", "submission__round")
    }
    latest_rounds: dict[int, int] = dict(
        IntakeSubmission.objects.screenings()
        .submitted()
        .filter(patient_id__in=ids)
        .order_by()
        .values("patient_id")
        .annotate(latest=Max("round"))
        .values_list("patient_id", "latest")
    )
    return decisions, latest_rounds


def _status_on(
    decision: Mapping[str, Any], latest_round: int | None, today: dt.date
) -> ClearanceStatus:
    return _status(
        kind=decision.get("kind"),
        valid_until=decision.get("valid_until"),
        decided_round=decision.get("submission__round"),
        latest_round=latest_round,
        today=today,
    )


def clearance_statuses(patient_ids: Iterable[int], *, today: dt.date) -> dict[int, ClearanceStatus]:
    """Each patient's clearance on the clinic-local date `today`, in two queries whatever the
    number of patients (the latest decision per patient, the latest submitted screening round per
    patient)."""
    ids = set(patient_ids)
    if not ids:
        return {}
    decisions, latest_rounds = _latest(ids)
    return {
        patient_id: _status_on(decisions.get(patient_id, {}), latest_rounds.get(patient_id), today)
        for patient_id in ids
    }


def clearance_by_day(patient_id: int, days: Iterable[dt.date]) -> dict[dt.date, ClearanceStatus]:
    """The patient's clearance on each of the clinic-local `days` (a course's sessions), in the
    same two queries as one day."""
    decisions, latest_rounds = _latest({patient_id})
    decision = decisions.get(patient_id, {})
    return {day: _status_on(decision, latest_rounds.get(patient_id), day) for day in set(days)}


def clearance_status(patient_id: int, *, today: dt.date) -> ClearanceStatus:
    return clearance_statuses([patient_id], today=today)[patient_id]


def clinic_date(at: dt.datetime) -> dt.date:
    """The clinic-local calendar date of an aware instant (whatever time zone is active)."""
    if timezone.is_naive(at):
        raise ValueError("at must be an aware datetime")
    return timezone.localdate(at, timezone.get_default_timezone())


def has_valid_clearance(patient_id: int, at: dt.datetime) -> bool:
    """Whether the patient is cleared on the clinic-local date of `at` (an appointment's start)."""
    return clearance_status(patient_id, today=clinic_date(at)).is_cleared


def clearance_refusal(patient_id: int, at: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """Why the patient is not cleared on the date of `at`, in words fit for staff; "" if cleared.

    Names the decision's kind and dates only, never a reason or a flag.
    """
    status = clearance_status(patient_id, today=clinic_date(at))
    if status.kind == ClearanceKind.CLEARED:
        return ""
    if status.kind == ClearanceKind.EXPIRED and status.valid_until is not None:
        if status.valid_until < clinic_date(now or timezone.now()):
            return _("The patient's clearance expired on %(date)s.") % {
                "date": _date(status.valid_until)
            }
        return _("The patient's clearance is valid only until %(date)s, before this date.") % {
            "date": _date(status.valid_until)
        }
    if status.kind == ClearanceKind.DECLINED:
        return _("A clinician declined the patient for infusion.")
    if status.kind == ClearanceKind.NEEDS_INFORMATION:
        return _(
            "A clinician asked the patient for more information; they are not cleared until the "
            "patient answers and a clinician reviews it."
        )
    if status.new_round_since and status.last_decision == DecisionKind.CLEARED:
        return _(
            "The patient's clearance ended when they sent a new screening; a clinician needs to "
            "review it."
        )
    if status.new_round_since:
        return _("The patient's latest screening is waiting for a clinician's review.")
    return _("No clinician has decided on the patient's screening yet.")
