"""What the FHIR API serves: one kind per resource type (scheduling.fhir.kinds), read by the views,
the CapabilityStatement, the admin's scopes and the bulk export alike, so /fhir/R4/metadata lists
exactly what is served. Each area's kinds live in their own module; this one puts them in order."""

from __future__ import annotations

from django.db.models import Q

from intake.models import Patient
from scheduling.fhir import codes, kinds_paperwork, kinds_schedule, resources
from scheduling.fhir import kinds_clinical as clinical
from scheduling.fhir.errors import bad_request
from scheduling.fhir.kinds import (
    Kind,
    RowKind,
    SearchParam,
    date_param,
    last_updated,
    patient_reference,
)
from scheduling.fhir.kinds_questionnaire import KINDS as QUESTIONNAIRE_KINDS
from scheduling.models import Appointment


# The lifecycle statuses behind each FHIR Appointment.status (the resources' own mapping, reversed).
def _statuses_by_code(mapping: dict[str, str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for status, code in mapping.items():
        found[code] = (*found.get(code, ()), str(status))
    return found


APPOINTMENT_STATUS_SEARCH = _statuses_by_code(resources.APPOINTMENT_STATUS)


def _appointment_status(values: list[str]) -> Q:
    statuses: set[str] = set()
    for value in values:
        for code in value.split(","):
            if code not in codes.APPOINTMENT_STATUSES:
                raise bad_request(f"status: '{code[:40]}' is not an Appointment status code")
            statuses.update(APPOINTMENT_STATUS_SEARCH.get(code, ()))
    return Q(status__in=sorted(statuses))


PATIENT = RowKind(
    type="Patient",
    queryset=lambda: Patient.objects.all(),
    build=lambda rows: resources.all_of(resources.patients, rows),
    patient_id=lambda patient: patient.pk,
    params=(last_updated(),),
    patient_field="pk",
)

APPOINTMENT = RowKind(
    type="Appointment",
    queryset=lambda: resources.appointment_rows(Appointment.objects.all()),
    build=lambda rows: resources.all_of(resources.appointments, rows),
    patient_id=lambda appointment: appointment.patient_id,
    params=(
        patient_reference(),
        date_param("start", "When the appointment starts (prefixes eq, gt, lt, ge, le)"),
        SearchParam(
            "status",
            "token",
            "FHIR Appointment status codes, comma separated",
            _appointment_status,
        ),
        last_updated(),
    ),
    order=("start", "pk"),
)

KINDS: tuple[Kind, ...] = (
    PATIENT,
    clinical.PRACTITIONER,
    clinical.ORGANIZATION,
    clinical.LOCATION,
    APPOINTMENT,
    clinical.OBSERVATION,
    clinical.FLAG,
    *QUESTIONNAIRE_KINDS,
    *kinds_paperwork.KINDS,
    *kinds_schedule.KINDS,
)

REGISTRY: dict[str, Kind] = {kind.type: kind for kind in KINDS}
