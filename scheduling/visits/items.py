"""Day-of items: what a clinician must acknowledge, with a reason, before today's infusion starts.

The one home of the rule (issue 14, "patient answers win over the desk"). An item is

- each flag of severity urgent, hard stop or review on this visit's submitted pre-visit check-in
  round (intake's rules, e.g. A13 alcohol or drugs, new or changed medicines, a newly started
  MAOI), code "flag:<rule_id>". The A13 answer covers the CHECK_IN_ABSTINENCE_HOURS before the
  patient sent it, so its flag counts only while that window reaches the visit (answer_stands);
  an older yes is asked again at the desk like an older no. A yes to A13 or new medicines in the
  round's answers counts even if no flag was stored for it: the patient's yes is never lost;
- the desk's yes to new medicines (Visit.new_medicines), code "desk:new_medicines", unless it only
  repeats the patient's own yes with the same detail. The desk's yes to A13 is not an item: it
  defers the visit at once (scheduling.visits.arrival).

A yes is never turned into a no: it is acknowledged (VisitItemAcknowledgement, append-only, once
per visit and item). An urgent flag whose crisis alert or flag was already acknowledged by a
clinician (intake's crisis pathway) is resolved there and is not an item again.

This module imports the visit services (scheduling.visits.common) only inside the functions that
act, so the lifecycle's START gate can import open_day_of_items at the top of its module.

Titles carry flag wording: they are for clinicians (and admins, who may read flags); front desk
sees only that a clinician must review the patient's answers (items_context).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.clearance import clinic_date
from intake.models import (
    CrisisAlert,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    Severity,
    SubmissionStatus,
)
from propel.audit import audit_record
from propel.roles import Capability, can, roles_of
from scheduling.errors import SchedulingError
from scheduling.lifecycle import RULES, Action
from scheduling.models import (
    Appointment,
    PreInfusionCheckIn,
    Visit,
    VisitItemAcknowledgement,
)

ITEM_SEVERITIES = (Severity.URGENT, Severity.HARD_STOP, Severity.REVIEW)
SEVERITY_RANK = {Severity.URGENT: 0, Severity.HARD_STOP: 1, Severity.REVIEW: 2}

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


def _flags(submission: IntakeSubmission) -> list[Flag]:
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


def visit_acknowledge_item(
    *,
    appointment_id: int,
    item: str,
    reason: str,
    actor: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> VisitItemAcknowledgement:
    """A clinician acknowledges one open day-of item with a reason, so it no longer blocks the
    start. Clinicians only; on the visit's clinic-local day, before the infusion starts, while
    the appointment is booked or checked in.

    Locks the visit row; the item must be one of the visit's items now. Once only: a second
    acknowledgement (a double submit, a second screen) gets SchedulingError
    ("visit_item_already_acknowledged"), whether it finds the row under the lock or trips the
    unique constraint. Writes "visit.item_acknowledged" naming the patient and the item (not the
    reason, which may carry health details; it is on the row).
    """
    from scheduling.visits.common import CLINICAL_ROLES, locked_visit, require_role
    from scheduling.visits.transitions import lifecycle_require

    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError("visit_item_reason_needed")
    with transaction.atomic():
        visit = locked_visit(appointment_id)
        appointment = visit.appointment
        if visit.started_at is not None:
            raise SchedulingError("visit_already_started")
        items = {i.code: i for i in day_of_items(appointment, visit, now=now)}
        found = items.get(item)
        if found is None:
            raise SchedulingError("visit_item_unknown")
        if found.acknowledged is not None:
            raise SchedulingError("visit_item_already_acknowledged")
        # Who, which statuses and which day: the lifecycle table (ACKNOWLEDGE_ITEM).
        lifecycle_require(appointment, visit, Action.ACKNOWLEDGE_ITEM, actor=actor, now=now)
        try:
            with transaction.atomic():
                acknowledgement = VisitItemAcknowledgement.objects.create(
                    visit=visit, item=item, reason=reason[:2000], by=actor, at=now
                )
        except IntegrityError as error:
            raise SchedulingError("visit_item_already_acknowledged") from error
        audit_record(
            action="visit.item_acknowledged",
            actor=actor,
            request=request,
            patient_id=appointment.patient_id,
            obj=visit,
            detail={"item": item, "severity": found.severity},
        )
    return acknowledgement


def items_context(
    appointment: Appointment, visit: Visit | None, user: Any, now: dt.datetime
) -> dict[str, Any]:
    """What the visit screen's "Day-of items" section needs (_day_of_items.html). Clinicians and
    admins (who may read flags) get the items with their wording; only clinicians get the
    acknowledge forms, and only while the visit may still take one. Everyone else gets the count
    of open items alone, shown as a neutral sentence."""
    from scheduling.visits.common import CLINICAL_ROLES
    from scheduling.visits.forms import ItemAcknowledgeForm

    items = day_of_items(appointment, visit, now=now)
    open_count = sum(1 for item in items if item.is_open)
    may_read = can(user, Capability.HEALTH_RECORD)
    may_acknowledge = (
        bool(roles_of(user) & CLINICAL_ROLES)
        and appointment.status in ACKNOWLEDGEABLE_STATUSES
        and not (visit is not None and (visit.started_at or visit.deferred_at))
        and clinic_date(now) == clinic_date(appointment.start)
    )
    return {
        "day_of_items": items if may_read else [],
        "day_of_items_open": open_count,
        "day_of_items_may_acknowledge": may_acknowledge,
        "day_of_items_form": ItemAcknowledgeForm() if may_acknowledge else None,
    }
