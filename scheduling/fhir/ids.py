"""Stable, non-guessable FHIR resource ids (docs/fhir.md, "Resource ids").

Each exported row gets a random id (UUID4 hex, 32 characters: a valid FHIR id) the first time it
is exported, kept in scheduling.FhirId and never changed. Not the database id, and not derived
from it: a client holding one id learns nothing about any other. The reverse lookup (a read by id)
is one indexed query. Ids survive a SECRET_KEY rotation, which an HMAC of the pk would not.

Batch use costs a constant number of queries whatever the number of rows: one read of the ids
already handed out, and for a page with new rows one bulk insert and one read back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from scheduling.models import FhirId

# FHIR's id datatype: [A-Za-z0-9\-\.]{1,64}
FHIR_ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _new_id() -> str:
    return uuid.uuid4().hex


def fhir_ids(resource_type: str, pks: Iterable[int]) -> dict[int, str]:
    """The FHIR id of each row of one resource type, created for the rows that have none yet."""
    wanted = {int(pk) for pk in pks}
    if not wanted:
        return {}
    found = dict(
        FhirId.objects.filter(resource_type=resource_type, object_pk__in=wanted).values_list(
            "object_pk", "fhir_id"
        )
    )
    missing = wanted - found.keys()
    if missing:
        # ignore_conflicts: a concurrent export may have created some of them; what is stored wins.
        FhirId.objects.bulk_create(
            [
                FhirId(resource_type=resource_type, object_pk=pk, fhir_id=_new_id())
                for pk in sorted(missing)
            ],
            ignore_conflicts=True,
        )
        found.update(
            FhirId.objects.filter(resource_type=resource_type, object_pk__in=missing).values_list(
                "object_pk", "fhir_id"
            )
        )
    return found


def fhir_id(resource_type: str, pk: int) -> str:
    """The FHIR id of one row (created on first use)."""
    return fhir_ids(resource_type, [pk])[int(pk)]


def resolve(resource_type: str, fhir_id: str) -> int | None:
    """The row behind a FHIR id of this resource type; None for an id never handed out (or
    malformed, or of another type). One query."""
    if not FHIR_ID_PATTERN.match(fhir_id or ""):
        return None
    return (
        FhirId.objects.filter(resource_type=resource_type, fhir_id=fhir_id)
        .values_list("object_pk", flat=True)
        .first()
    )


def resolve_many(resource_type: str, values: Iterable[str]) -> dict[str, int]:
    """The rows behind several FHIR ids of one type (search by reference), in one query."""
    valid = {value for value in values if FHIR_ID_PATTERN.match(value or "")}
    if not valid:
        return {}
    return dict(
        FhirId.objects.filter(resource_type=resource_type, fhir_id__in=valid).values_list(
            "fhir_id", "object_pk"
        )
    )


def resolve_any(value: str, resource_types: Iterable[str]) -> tuple[str, int] | None:
    """The (key, row) behind a FHIR id among several keys (an Observation id may be a PHQ-9 total
    or a blood pressure reading: each kind of row has its own key); one query."""
    if not FHIR_ID_PATTERN.match(value or ""):
        return None
    found = (
        FhirId.objects.filter(resource_type__in=list(resource_types), fhir_id=value)
        .values_list("resource_type", "object_pk")
        .first()
    )
    return (found[0], found[1]) if found else None
