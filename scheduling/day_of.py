"""Day-of items, read: what a clinician must acknowledge, with a reason, before today's infusion
starts. The rule itself (which answers and flags make an item) is described in
scheduling.visits.items, which acts on these items (acknowledge, the visit screen's section).

This module reads only: it imports nothing of the visit services, so the lifecycle's START gate
(scheduling.transitions) can ask for the open items without an import circle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django_stubs_ext import WithAnnotations

from intake.models import (
    CrisisAlert,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    Severity,
    SubmissionStatus,
)
from scheduling.lifecycle import RULES, Action
from scheduling.models import (
    Appointment,
    PreInfusionCheckIn,
    Visit,
    VisitItemAcknowledgement,
)

ITEM_SEVERITIES = (Severity.URGENT, Severity.HARD_STOP, Severity.REVIEW)
SEVERITY_RANK: dict[str, int] = {Severity.URGENT: 0, Severity.HARD_STOP: 1, Severity.REVIEW: 2}

# intake.eligibility.rules.CHECK_IN_RULES: the check-in's A13 and new-medicines rules.
A13_RULE = "check_in_alcohol_or_drugs"
NEW_MEDICINES_RULE = "check_in_new_medicines"
DESK_NEW_MEDICINES = "desk:new_medicines"

# Before the infusion starts, and only while the visit is still open (the lifecycle table).
ACKNOWLEDGEABLE_STATUSES = RULES[Action.ACKNOWLEDGE_ITEM].sources


@dataclass(frozen=True)
class DayOfItem:
    code: str  # stable: "flag:<rule_id>" or "desk:new_medicines"
    severity: str  # intake.models.Severity
    title: str  # staff (clinical) wording: never shown to front desk or the patient
    acknowledged: VisitItemAcknowledgement | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledged is None


def flag_code(rule_id: str) -> str:
    return f"flag:{rule_id}"


def answer_stands(sent: dt.datetime | None, *, start: dt.datetime, now: dt.datetime) -> bool:
    """Whether a check-in's A13 answer, sent at `sent`, still speaks for today's visit. It covers
    the CHECK_IN_ABSTINENCE_HOURS before it was sent; the visit needs those hours before its start
    (or before now, while the patient is checked in early). Pure but for the setting."""
    if sent is None:
        return False
    window = dt.timedelta(hours=settings.CHECK_IN_ABSTINENCE_HOURS)
    return sent >= min(now, start) - window


def _yes(value: object) -> bool:
    return str(value) == "yes"


def _same_detail(first: str, second: str) -> bool:
    return " ".join(first.split()).casefold() == " ".join(second.split()).casefold()


def _round(appointment: Appointment) -> IntakeSubmission | None:
    """This visit's submitted check-in round (one query)."""
    link = (
        PreInfusionCheckIn.objects.select_related("submission")
        .filter(appointment=appointment, submission__status=SubmissionStatus.SUBMITTED)
        .first()
    )
    return link.submission if link is not None else None


class _Reviewed(TypedDict):
    reviewed: bool


def _flags(submission: IntakeSubmission) -> list[WithAnnotations[Flag, _Reviewed]]:
    """The round's item-level flags, each marked `reviewed` when a clinician acknowledged it in
    intake (one query)."""
    return list(
        Flag.objects.filter(submission=submission, severity__in=ITEM_SEVERITIES)
        .annotate(reviewed=Exists(FlagAcknowledgement.objects.filter(flag_id=OuterRef("pk"))))
        .order_by("id")
    )


def _candidates(
    appointment: Appointment, visit: Visit | None, *, now: dt.datetime
) -> list[tuple[str, str, str]]:
    """(code, severity, title) of every item, before acknowledgements. Two queries, three when
    an urgent flag needs its crisis alert looked up."""
    found: dict[str, tuple[str, str, str]] = {}
    submission = _round(appointment) if appointment.appointment_type.needs_clearance else None
    answers: dict[str, Any] = {}
    if submission is not None:
        answers = submission.answers or {}
        a13_stands = answer_stands(submission.submitted_at, start=appointment.start, now=now)
        flags = _flags(submission)
        alert_done = False
        if any(f.severity == Severity.URGENT for f in flags):
            alert_done = CrisisAlert.objects.filter(
                submission=submission, acknowledged_at__isnull=False
            ).exists()
        for flag in flags:
            if flag.rule_id == A13_RULE and not a13_stands:
                continue
            if flag.severity == Severity.URGENT and (alert_done or flag.reviewed):
                continue
            code = flag_code(flag.rule_id)
            found[code] = (code, flag.severity, flag.title)
        # The patient's yes counts even when no flag was stored for it (rules change; rounds
        # written by other paths): it can only add an item, never remove one.
        a13 = flag_code(A13_RULE)
        if a13 not in found and a13_stands and _yes(answers.get("alcohol_or_drugs_recent")):
            found[a13] = (
                a13,
                Severity.HARD_STOP,
                _(
                    "Alcohol or recreational drugs within the pre-visit window (A13), answered in "
                    "the patient's check-in: defer today's infusion unless a clinician judges "
                    "otherwise"
                ),
            )
        meds = flag_code(NEW_MEDICINES_RULE)
        if meds not in found and _yes(answers.get("new_medicines")):
            found[meds] = (
                meds,
                Severity.REVIEW,
                _("New or changed medicines since the last visit (patient's check-in): %(d)s")
                % {"d": str(answers.get("new_medicines_detail") or "—")[:500]},
            )
    if visit is not None and visit.new_medicines:
        desk_detail = visit.new_medicines_detail or ""
        repeats_patient = _yes(answers.get("new_medicines")) and _same_detail(
            desk_detail, str(answers.get("new_medicines_detail") or "")
        )
        if not repeats_patient:
            found[DESK_NEW_MEDICINES] = (
                DESK_NEW_MEDICINES,
                Severity.REVIEW,
                _("New or changed medicines reported at the desk: %(d)s")
                % {"d": desk_detail or "—"},
            )
    return sorted(found.values(), key=lambda c: (SEVERITY_RANK.get(c[1], 9), c[0]))


def day_of_items(
    appointment: Appointment, visit: Visit | None, *, now: dt.datetime
) -> list[DayOfItem]:
    """Every day-of item of this visit, most pressing first, each with its acknowledgement (or
    None). `appointment` should have appointment_type loaded; `visit` may be None before arrival.
    At most four queries whatever the number of items."""
    candidates = _candidates(appointment, visit, now=now)
    acknowledged: dict[str, VisitItemAcknowledgement] = {}
    if candidates and visit is not None and visit.pk is not None:
        acknowledged = {
            ack.item: ack
            for ack in VisitItemAcknowledgement.objects.filter(visit=visit).select_related("by")
        }
    return [
        DayOfItem(code, severity, title, acknowledged.get(code))
        for code, severity, title in candidates
    ]


def open_day_of_items(
    appointment: Appointment, visit: Visit | None, *, now: dt.datetime
) -> list[DayOfItem]:
    """The day-of items no clinician has acknowledged: the infusion may not start while any is
    left (the lifecycle's START gate)."""
    return [item for item in day_of_items(appointment, visit, now=now) if item.is_open]
