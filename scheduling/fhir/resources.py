# STUB(issue23): helper F1's scheduling/fhir/resources.py replaces this stand-in. The read API
# uses only this part of its interface: patients(rows) and appointments(rows) (batch builders of
# validated R4B models, a constant number of queries per batch), appointment_rows(queryset),
# all_of(builder, rows) -> JSON dicts, build_patient / build_appointment (one row as JSON) and
# APPOINTMENT_STATUS (lifecycle status -> FHIR Appointment.status).
"""FHIR resources built from Propel's data (stand-in with the fields the read API needs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import QuerySet
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.resource import Resource

from intake.models import Patient
from scheduling.fhir.ids import fhir_ids
from scheduling.models import Appointment, AppointmentStatus

APPOINTMENT_STATUS: dict[str, str] = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    AppointmentStatus.IN_PROGRESS: "arrived",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
    AppointmentStatus.DEFERRED: "cancelled",
}


def as_json(resource: Resource) -> dict[str, Any]:
    return resource.model_dump(mode="json", exclude_none=True)


def all_of(builder: Any, rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [as_json(resource) for resource in builder(list(rows))]


def patients(rows: Sequence[Patient]) -> list[FhirPatient]:
    ids = fhir_ids("Patient", [row.pk for row in rows])
    return [
        FhirPatient.model_validate(
            {
                "id": ids[row.pk],
                "meta": {"lastUpdated": row.updated_at},
                "name": [{"family": row.last_name, "given": [row.first_name]}],
                "birthDate": row.date_of_birth,
            }
        )
        for row in rows
    ]


def appointment_rows(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return queryset.select_related("patient", "clinician", "room", "appointment_type")


def appointments(rows: Sequence[Appointment]) -> list[FhirAppointment]:
    ids = fhir_ids("Appointment", [row.pk for row in rows])
    patient_ids = fhir_ids("Patient", {row.patient_id for row in rows})
    return [
        FhirAppointment.model_validate(
            {
                "id": ids[row.pk],
                "meta": {"lastUpdated": row.updated_at},
                "status": APPOINTMENT_STATUS[row.status],
                "start": row.start,
                "end": row.end,
                "participant": [
                    {
                        "actor": {"reference": f"Patient/{patient_ids[row.patient_id]}"},
                        "status": "accepted",
                    }
                ],
            }
        )
        for row in rows
    ]


def build_patient(row: Patient) -> dict[str, Any]:
    return as_json(patients([row])[0])


def build_appointment(row: Appointment) -> dict[str, Any]:
    return as_json(appointments([row])[0])
