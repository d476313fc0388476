"""Audit events about a patient's appointment, course or visit: one home for "the event names the
object and its patient", so no caller picks the patient by hand.

propel.audit.audit_record writes the event (call it inside the transaction of the change it
records); `detail` names what changed, never the health information itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from propel.audit import audit_patients_viewed, audit_record, audit_records_append
from propel.models import AuditEvent
from scheduling.models import Appointment, InfusionCourse, Visit


def audit_patient_event(
    obj: Appointment | InfusionCourse | Visit,
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """One audit event on `obj`, naming its patient (a visit's is its appointment's)."""
    patient_id = obj.appointment.patient_id if isinstance(obj, Visit) else obj.patient_id
    return audit_record(
        action=action,
        actor=actor,
        request=request,
        patient_id=patient_id,
        obj=obj,
        detail=detail,
    )


def audit_patient_events(
    events: Iterable[tuple[Appointment | InfusionCourse, str, dict[str, Any]]],
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> list[AuditEvent]:
    """Several audit events of one action (a course's sessions and the course), each `(obj,
    action, detail)` naming its patient as audit_patient_event does, appended in one INSERT."""
    return audit_records_append(
        [
            audit_record(
                action=action,
                actor=actor,
                request=request,
                patient_id=obj.patient_id,
                obj=obj,
                detail=detail,
                save=False,
            )
            for obj, action, detail in events
        ]
    )


def audit_shown(request: HttpRequest, patient_ids: Iterable[int]) -> None:
    """The page being rendered for this request shows these patients' details: one
    "patient.viewed" row, named by the page's URL name (propel.audit.audit_patients_viewed)."""
    match = request.resolver_match
    page = match.view_name if match is not None else request.path
    audit_patients_viewed(request, page=page, patient_ids=patient_ids)
