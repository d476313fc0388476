# STUB(issue23): helper F1's scheduling/fhir/resources.py replaces this stand-in (same interface:
# build_patient(patient) -> dict, build_appointment(appointment) -> dict, validated JSON).
"""FHIR resources built from Propel's data (stand-in with the fields the read API needs)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.patient import Patient as FhirPatient

from intake.models import Patient
from scheduling.fhir.ids import fhir_id
from scheduling.models import Appointment

APPOINTMENT_STATUS = {
    "booked": "booked",
    "checked_in": "checked-in",
    "in_progress": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
    "deferred": "cancelled",
}


def _validated(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    return model.model_validate(data).model_dump(mode="json", exclude_none=True)


def build_patient(patient: Patient) -> dict[str, Any]:
    return _validated(
        FhirPatient,
        {
            "resourceType": "Patient",
            "id": fhir_id("Patient", patient.pk),
            "meta": {"lastUpdated": patient.updated_at.isoformat()},
            "name": [{"family": patient.last_name, "given": [patient.first_name]}],
            "birthDate": patient.date_of_birth.isoformat(),
        },
    )


def build_appointment(appointment: Appointment) -> dict[str, Any]:
    return _validated(
        FhirAppointment,
        {
            "resourceType": "Appointment",
            "id": fhir_id("Appointment", appointment.pk),
            "meta": {"lastUpdated": appointment.updated_at.isoformat()},
            "status": APPOINTMENT_STATUS[appointment.status],
            "start": appointment.start.isoformat(),
            "end": appointment.end.isoformat(),
            "participant": [
                {
                    "actor": {"reference": f"Patient/{fhir_id('Patient', appointment.patient_id)}"},
                    "status": "accepted",
                }
            ],
        },
    )
