"""The infusion itself: whether it may start, start, end, and discharge to an escort."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from scheduling.audit import audit_patient_event
from scheduling.course_state import course_complete_if_done
from scheduling.errors import SchedulingError
from scheduling.lifecycle import Action, Party, parties_of, refusals
from scheduling.models import AppointmentStatus, Visit
from scheduling.slots import clinic_tz
from scheduling.transitions import (
    appointment_transition,
    explain,
    lifecycle_require,
    load_facts,
)
from scheduling.visits.common import (
    CLINICAL_ROLES,
    claim_visit_step,
    locked_visit,
    require_role,
)

# --- The infusion -------------------------------------------------------------------------------


def visit_can_start(visit: Visit, *, now: dt.datetime, actor: Any = None) -> list[str]:
    """Why the infusion cannot start now, in words for staff (the lifecycle's START gate, as a
    clinician would meet it); empty when it can."""
    appointment = visit.appointment
    if visit.started_at is not None:
        return [_("The infusion has already started.")]
    facts = load_facts(appointment, visit, now=now)
    parties = parties_of(actor) if actor is not None else frozenset({Party.CLINICIAN})
    found = refusals(Action.START, facts, parties, now=now, tz=clinic_tz())
    return [m.message for m in explain(found, Action.START, facts, appointment, now)]


def visit_start(
    *,
    appointment_id: int,
    actor: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Start the infusion (clinician): the appointment moves to IN_PROGRESS through the
    lifecycle's START gate (clearance, identity, escort, day-of answers, no open day-of item or
    urgent alert, vital signs passed or signed off, on the visit's day); once only."""
    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    with transaction.atomic():
        visit = locked_visit(appointment_id, started=False)
        visit.appointment = appointment_transition(
            appointment_id=appointment_id,
            to_status=AppointmentStatus.IN_PROGRESS,
            actor=actor,
            request=request,
            now=now,
        )
        claim_visit_step(
            visit,
            where={"started_at__isnull": True},
            values={"started_at": now, "started_by": actor, "updated_at": now},
            refused="visit_already_started",
        )
        audit_patient_event(visit, "visit.started", actor=actor, request=request)
    visit.refresh_from_db()
    return visit


def visit_end_infusion(
    *,
    appointment_id: int,
    actor: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Record the end of the infusion (clinician); once only."""
    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    with transaction.atomic():
        visit = locked_visit(appointment_id, started=True)
        lifecycle_require(visit.appointment, visit, Action.END_INFUSION, actor=actor, now=now)
        claim_visit_step(
            visit,
            where={"started_at__isnull": False, "ended_at__isnull": True},
            values={"ended_at": now, "updated_at": now},
            refused="visit_already_ended",
        )
        audit_patient_event(visit, "visit.infusion_ended", actor=actor, request=request)
    visit.refresh_from_db()
    return visit


def visit_discharge(
    *,
    appointment_id: int,
    actor: Any,
    alert: bool,
    vitals_near_baseline: bool,
    escort_present: bool,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Discharge the patient to a responsible adult (clinician; reference §8): alert, vital signs
    near baseline and the escort present must all be confirmed; a treatment visit's infusion must
    have ended. Completes the appointment (the lifecycle's COMPLETE, which checks the discharge
    record written just before it) and then, for a course session, lets the course complete
    when it was the last (scheduling.course_state)."""
    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    _check_discharge_list(
        alert=alert, vitals_near_baseline=vitals_near_baseline, escort_present=escort_present
    )
    with transaction.atomic():
        visit = locked_visit(appointment_id)
        appointment = visit.appointment
        _check_dischargeable(visit)
        claim_visit_step(
            visit,
            where={"discharged_at__isnull": True},
            values={
                "discharge_alert": True,
                "discharge_vitals_near_baseline": True,
                "discharge_escort_present": True,
                "discharged_at": now,
                "discharged_by": actor,
                "updated_at": now,
            },
            refused="visit_already_discharged",
        )
        appointment_transition(
            appointment_id=appointment.pk,
            to_status=AppointmentStatus.COMPLETED,
            actor=actor,
            request=request,
            now=now,
        )
        audit_patient_event(visit, "visit.discharged", actor=actor, request=request)
        if appointment.course_id:
            course_complete_if_done(
                course_id=appointment.course_id, actor=actor, request=request, now=now
            )
    visit.refresh_from_db()
    return visit


def _check_discharge_list(*, alert: bool, vitals_near_baseline: bool, escort_present: bool) -> None:
    """Every discharge check confirmed, else SchedulingError naming the missing ones."""
    missing = [
        label
        for ok, label in (
            (alert, _("the patient is alert")),
            (vitals_near_baseline, _("the vital signs are near baseline")),
            (escort_present, _("a responsible adult is here to take the patient home")),
        )
        if not ok
    ]
    if missing:
        raise SchedulingError("visit_discharge_checks", missing="; ".join(missing))


def _check_dischargeable(visit: Visit) -> None:
    """The (locked) visit is not discharged yet, its appointment is checked in or in progress,
    and a treatment visit's infusion has ended."""
    appointment = visit.appointment
    if visit.discharged_at is not None:
        raise SchedulingError("visit_already_discharged")
    if appointment.status not in (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS):
        raise SchedulingError("visit_not_checked_in")
    if appointment.appointment_type.needs_clearance and visit.ended_at is None:
        raise SchedulingError("visit_not_ended")
