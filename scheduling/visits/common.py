"""Shared parts of the visit services: roles, locking the visit, thresholds, clinician alerts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from propel.audit import audit_record
from propel.emails import send_email
from propel.roles import Role, roles_of
from scheduling import policy
from scheduling.errors import SchedulingError
from scheduling.lifecycle import RULES, Action
from scheduling.models import (
    Appointment,
    Visit,
)
from scheduling.vitals import (
    VitalThresholds,
)

logger = logging.getLogger(__name__)

VisitError = SchedulingError


def _staff_roles(action: Action) -> frozenset[Role]:
    staff = {role.value: role for role in Role}
    return frozenset(staff[p.value] for p in RULES[action].parties if p.value in staff)


# The lifecycle table's role sets (scheduling.lifecycle), named for the steps that use them.
ARRIVAL_ROLES = _staff_roles(Action.CHECK_IN)
CLINICAL_ROLES = _staff_roles(Action.START)
DEFER_ROLES = _staff_roles(Action.DEFER)


def thresholds_from_settings() -> VitalThresholds:
    """The gate lines in force (scheduling.policy; the VITALS_* settings are only their first
    values). Kept under this name for the visit code that calls it."""
    return policy.vitals_thresholds()


def require_role(actor: Any, roles: Iterable[Role]) -> None:
    if not roles_of(actor) & frozenset(roles):
        raise SchedulingError("visit_forbidden")


def required_text(value: str | None, refused: str) -> str:
    """`value` stripped; SchedulingError(`refused`) when nothing is left (a note or reason the
    step must have)."""
    text = (value or "").strip()
    if not text:
        raise SchedulingError(refused)
    return text


def visit_for(appointment_id: int) -> Visit:
    """The appointment's Visit, created the first time (safe against two callers at once: the
    one-to-one constraint decides, get_or_create re-reads)."""
    if not Appointment.objects.filter(pk=appointment_id).exists():
        raise SchedulingError("not_found")
    visit, _created = Visit.objects.get_or_create(appointment_id=appointment_id)
    return visit


def locked_visit(appointment_id: int, *, started: bool | None = None) -> Visit:
    """The visit row locked for this transaction, with its appointment and type loaded. A step
    that comes before the infusion (`started=False`) is refused once it has started
    ("visit_already_started"); one that comes after it (`started=True`), before it has
    ("visit_not_started")."""
    visit_for(appointment_id)
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("appointment__appointment_type")
        .get(appointment_id=appointment_id)
    )
    if started is False and visit.started_at is not None:
        raise SchedulingError("visit_already_started")
    if started and visit.started_at is None:
        raise SchedulingError("visit_not_started")
    return visit


def claim_visit_step(
    visit: Visit, *, where: dict[str, Any], values: dict[str, Any], refused: str
) -> None:
    """Record one step of the visit with a conditional UPDATE: a second caller (a double submit,
    two screens) matches no row and gets SchedulingError(`refused`)."""
    if Visit.objects.filter(pk=visit.pk, **where).update(**values) != 1:
        raise SchedulingError(refused)


def _visit_url(appointment_id: int) -> str:
    try:
        path = reverse("scheduling:visit", args=[appointment_id])
    except NoReverseMatch:  # the visit screen is not wired yet: the appointment page links to it
        path = reverse("scheduling:appointment", args=[appointment_id])
    return f"{settings.SITE_URL}{path}"


def alert_after_commit(visit: Visit, *, reason: str) -> None:
    appointment_id, patient_id, visit_id = (
        visit.appointment_id,
        visit.appointment.patient_id,
        visit.pk,
    )

    def send() -> None:
        recipients = list(settings.CLINICIAN_ALERT_EMAILS)
        if not recipients:
            logger.error("visit %s: CLINICIAN_ALERT_EMAILS is empty; nobody was told", visit_id)
            audit_record(
                action="visit.alert_failed",
                patient_id=patient_id,
                obj=visit,
                detail={"error": "no recipients", "reason": reason},
            )
            return
        try:
            send_email(
                name="vitals_alert",
                to=recipients,
                context={"visit_url": _visit_url(appointment_id)},
            )
        except Exception as error:
            # The reading is saved; the clinician on the floor still sees the alert on screen.
            # Record the failure where staff can see it rather than failing the request.
            logger.exception("visit %s: clinician alert could not be emailed", visit_id)
            audit_record(
                action="visit.alert_failed",
                patient_id=patient_id,
                obj=visit,
                detail={"error": type(error).__name__, "reason": reason},
            )
            return
        audit_record(
            action="visit.alert_sent",
            patient_id=patient_id,
            obj=visit,
            detail={"recipients": len(recipients), "reason": reason},
        )

    transaction.on_commit(send)
