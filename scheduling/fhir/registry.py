"""What the FHIR API serves: one entry per resource type, read by the views and by the
CapabilityStatement alike, so /fhir/R4/metadata lists exactly what is served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from intake.models import Patient
from scheduling.fhir import ids, resources
from scheduling.fhir.errors import bad_request
from scheduling.fhir.search import date_filter, single
from scheduling.models import Appointment


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # the FHIR search parameter type: date, token, reference
    documentation: str
    condition: Callable[[list[str]], Q]


@dataclass(frozen=True)
class ResourceKind:
    type: str
    queryset: Callable[[], QuerySet[Any]]
    # A page of rows -> their resources as JSON, a constant number of queries whatever its size.
    build: Callable[[list[Any]], list[dict[str, Any]]]
    patient_id: Callable[[Any], int]  # the patient each row is about (the audit's "touched")
    params: tuple[SearchParam, ...]
    order: tuple[str, ...]

    def param(self, name: str) -> SearchParam | None:
        return next((p for p in self.params if p.name == name), None)


def _last_updated(values: list[str]) -> Q:
    return date_filter("updated_at", "_lastUpdated", values)


LAST_UPDATED = SearchParam(
    "_lastUpdated",
    "date",
    "When the resource last changed (prefixes eq, gt, lt, ge, le; clinic time for bare dates)",
    _last_updated,
)


def _patient_reference(values: list[str]) -> Q:
    value = single("patient", values)
    value = value.removeprefix("Patient/")
    pk = ids.resolve("Patient", value)
    # An unknown patient matches nothing (an empty Bundle), as FHIR search does.
    return Q(patient_id=pk) if pk is not None else Q(pk__in=[])


# The lifecycle statuses behind each FHIR Appointment.status (the resources' own mapping, reversed).
def _statuses_by_code(mapping: dict[str, str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for status, code in mapping.items():
        found[code] = (*found.get(code, ()), str(status))
    return found


APPOINTMENT_STATUS_SEARCH = _statuses_by_code(resources.APPOINTMENT_STATUS)
FHIR_APPOINTMENT_CODES = (
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
)


def _appointment_status(values: list[str]) -> Q:
    statuses: set[str] = set()
    for value in values:
        for code in value.split(","):
            if code not in FHIR_APPOINTMENT_CODES:
                raise bad_request(f"status: '{code[:40]}' is not an Appointment status code")
            statuses.update(APPOINTMENT_STATUS_SEARCH.get(code, ()))
    return Q(status__in=sorted(statuses))


def _appointment_date(values: list[str]) -> Q:
    return date_filter("start", "date", values)


REGISTRY: dict[str, ResourceKind] = {
    kind.type: kind
    for kind in (
        ResourceKind(
            type="Patient",
            queryset=lambda: Patient.objects.all(),
            build=lambda rows: resources.all_of(resources.patients, rows),
            patient_id=lambda patient: patient.pk,
            params=(LAST_UPDATED,),
            order=("pk",),
        ),
        ResourceKind(
            type="Appointment",
            queryset=lambda: resources.appointment_rows(Appointment.objects.all()),
            build=lambda rows: resources.all_of(resources.appointments, rows),
            patient_id=lambda appointment: appointment.patient_id,
            params=(
                SearchParam(
                    "patient",
                    "reference",
                    "The patient's Patient id (or Patient/<id>)",
                    _patient_reference,
                ),
                SearchParam(
                    "date",
                    "date",
                    "When the appointment starts (prefixes eq, gt, lt, ge, le)",
                    _appointment_date,
                ),
                SearchParam(
                    "status",
                    "token",
                    "FHIR Appointment status codes, comma separated",
                    _appointment_status,
                ),
                LAST_UPDATED,
            ),
            order=("start", "pk"),
        ),
    )
}
