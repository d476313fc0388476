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

Reading the items lives in scheduling.day_of (it imports nothing of the visit services, so
the lifecycle's START gate can use it); this module acts on them.

Titles carry flag wording: they are for clinicians (and admins, who may read flags); front desk
sees only that a clinician must review the patient's answers (items_context).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from intake.clearance import clinic_date
from propel.roles import Capability, can, roles_of
from scheduling.audit import audit_patient_event
from scheduling.day_of import ACKNOWLEDGEABLE_STATUSES, day_of_items
from scheduling.errors import SchedulingError
from scheduling.lifecycle import Action
from scheduling.models import Appointment, Visit, VisitItemAcknowledgement
from scheduling.transitions import lifecycle_require
from scheduling.visits.common import CLINICAL_ROLES, locked_visit, require_role, required_text
from scheduling.visits.forms import ItemAcknowledgeForm


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
    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    reason = required_text(reason, "visit_item_reason_needed")
    with transaction.atomic():
        visit = locked_visit(appointment_id, started=False)
        appointment = visit.appointment
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
        audit_patient_event(
            visit,
            "visit.item_acknowledged",
            actor=actor,
            request=request,
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
