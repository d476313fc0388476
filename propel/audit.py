"""The one way to write to the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from propel.http import client_ip
from propel.models import AuditEvent


def audit_record(
    *,
    action: str,
    actor: Any = None,
    request: HttpRequest | None = None,
    patient_id: int | None = None,
    obj: Any = None,
    detail: dict[str, Any] | None = None,
    save: bool = True,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records.

    `actor` defaults to the request's user; `obj` is any model instance (its type and pk are kept).
    `detail` must name what was read or changed, never copy the health information itself.
    `actor_label` names an actor that is not a user (an API client: "fhir:<client id>").
    `save=False` returns the event unsaved, for a caller that appends several at once
    (audit_records_append).
    """
    if (
        actor is None
        and actor_label is None
        and request is not None
        and request.user.is_authenticated
    ):
        actor = request.user
    event = AuditEvent(
        action=action,
        actor=actor,
        actor_label=actor_label or (actor.get_username() if actor is not None else "system"),
        patient_id=patient_id,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=client_ip(request) if request is not None else None,
        detail=detail or {},
    )
    if save:
        event.save(force_insert=True)
    return event


def audit_records_append(events: list[AuditEvent]) -> list[AuditEvent]:
    """Append events made with `audit_record(..., save=False)` in one INSERT (a batch of
    bookings), inside the transaction of the change they record."""
    return AuditEvent.objects.bulk_create(events)


def audit_patients_viewed(
    request: HttpRequest, *, page: str, patient_ids: Iterable[int]
) -> AuditEvent | None:
    """Record that a staff member was shown these patients' details (names, dates of birth,
    contact details, status) on `page`: one row per page shown, whatever the number of patients.

    A page naming one patient files the row under that patient (`patient_id`), so the patient's
    own audit trail lists it; a list page keeps the ids it showed in `detail`. Nothing is written
    when the page showed no patient.
    """
    ids = sorted({int(pk) for pk in patient_ids})
    if not ids:
        return None
    return audit_record(
        action="patient.viewed",
        request=request,
        patient_id=ids[0] if len(ids) == 1 else None,
        detail={"page": page, "patient_ids": ids},
    )
