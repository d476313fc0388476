"""The infusion itself: whether it may start, start, end, and discharge to an escort."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.clearance import clearance_refusal, has_valid_clearance
from intake.models import CrisisAlert, Flag, Severity
from scheduling.booking import appointment_transition
from scheduling.courses import course_complete_if_done
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    GateOutcome,
    PreInfusionCheckIn,
    ReadingPhase,
    Visit,
)
from scheduling.visits.common import (
    CLINICAL_ROLES,
    audit_visit,
    claim_visit_step,
    locked_visit,
    require_role,
)

# --- The infusion -------------------------------------------------------------------------------


def _urgent_item_open(appointment: Appointment) -> bool:
    """An unacknowledged crisis alert for the patient, or an urgent flag on this visit's check-in
    round whose alert (or the flag itself) nobody has acknowledged."""
    if CrisisAlert.objects.filter(
        patient_id=appointment.patient_id, acknowledged_at__isnull=True
    ).exists():
        return True
    link = PreInfusionCheckIn.objects.filter(appointment=appointment).first()
    if link is None:
        return False
    urgent = Flag.objects.filter(submission_id=link.submission_id, severity=Severity.URGENT)
    if not urgent.exists():
        return False
    alert_acknowledged = CrisisAlert.objects.filter(
        submission_id=link.submission_id, acknowledged_at__isnull=False
    ).exists()
    return not alert_acknowledged and urgent.filter(acknowledgements__isnull=True).exists()


def visit_can_start(visit: Visit, *, now: dt.datetime) -> list[str]:
    """Why the infusion cannot start now, in words for staff; empty when it can."""
    appointment = visit.appointment
    reasons: list[str] = []
    if visit.started_at is not None:
        reasons.append(_("The infusion has already started."))
    if appointment.status != AppointmentStatus.CHECKED_IN:
        reasons.append(_("The patient is not checked in."))
    outcome = visit.gate_outcome
    if not outcome:
        repeat_pending = visit.readings.filter(phase=ReadingPhase.BEFORE).exists()
        reasons.append(
            _("A repeat reading of the vital signs is due.")
            if repeat_pending
            else _("The vital signs have not been taken.")
        )
    elif outcome == GateOutcome.DEFER:
        reasons.append(_("The vital signs say defer today's infusion."))
    elif outcome == GateOutcome.EMERGENCY:
        reasons.append(_("The patient is on the emergency pathway."))
    elif outcome == GateOutcome.SIGN_OFF and visit.signed_off_at is None:
        reasons.append(_("The vital signs need a clinician's sign-off."))
    if appointment.appointment_type.needs_clearance and not has_valid_clearance(
        appointment.patient_id, now
    ):
        reasons.append(
            _("The patient's clearance is not valid today. %(why)s")
            % {"why": clearance_refusal(appointment.patient_id, now, now=now)}
        )
    if _urgent_item_open(appointment):
        reasons.append(
            _(
                "An urgent item from the patient's answers is open: a clinician must resolve it "
                "first."
            )
        )
    return reasons


def visit_start(
    *,
    appointment_id: int,
    actor: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Start the infusion (clinician) when visit_can_start has no objection; once only."""
    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    with transaction.atomic():
        visit = locked_visit(appointment_id)
        if visit.started_at is not None:
            raise SchedulingError("visit_already_started")
        if reasons := visit_can_start(visit, now=now):
            raise SchedulingError("visit_cannot_start", reasons=" ".join(reasons))
        claim_visit_step(
            visit,
            where={"started_at__isnull": True},
            values={"started_at": now, "started_by": actor, "updated_at": now},
            refused="visit_already_started",
        )
        audit_visit(visit, action="visit.started", actor=actor, request=request)
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
        visit = locked_visit(appointment_id)
        if visit.started_at is None:
            raise SchedulingError("visit_not_started")
        claim_visit_step(
            visit,
            where={"started_at__isnull": False, "ended_at__isnull": True},
            values={"ended_at": now, "updated_at": now},
            refused="visit_already_ended",
        )
        audit_visit(visit, action="visit.infusion_ended", actor=actor, request=request)
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
    have ended. Completes the appointment and then, for a course session, lets the course complete
    when it was the last (courses.course_complete_if_done)."""
    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
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
    with transaction.atomic():
        visit = locked_visit(appointment_id)
        appointment = visit.appointment
        if visit.discharged_at is not None:
            raise SchedulingError("visit_already_discharged")
        if appointment.status != AppointmentStatus.CHECKED_IN:
            raise SchedulingError("visit_not_checked_in")
        if appointment.appointment_type.needs_clearance and visit.ended_at is None:
            raise SchedulingError("visit_not_ended")
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
        audit_visit(visit, action="visit.discharged", actor=actor, request=request)
        if appointment.course_id:
            course_complete_if_done(
                course_id=appointment.course_id, actor=actor, request=request, now=now
            )
    visit.refresh_from_db()
    return visit
