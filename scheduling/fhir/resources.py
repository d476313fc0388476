"""FHIR R4 resources built from Propel's rows (docs/fhir.md has the mapping table).

Every builder returns a model of fhir.resources' R4B package, built with `model_validate`, so
what leaves here has been validated against the FHIR R4 definitions; `as_json` is its JSON
form. The batch builders (`patients`, `appointments`, ...) take rows the caller already read
with the related rows they need (`*_rows` below give those querysets) and look up every FHIR id
they need with one query per resource type, so a page of any length costs a constant number of
queries. The one-row builders are the batch ones on a list of one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.flag import Flag as FhirFlag
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir.resources.R4B.organization import Organization as FhirOrganization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner
from fhir.resources.R4B.resource import Resource

from intake.models import ClearanceDecision, Flag, IntakeSubmission, Patient, SubmissionStatus
from scheduling.fhir import codes
from scheduling.fhir.ids import fhir_id, fhir_ids
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Clinician,
    Room,
    VitalReading,
)

# Keys of scheduling.FhirId: one per kind of row. Observations come from several kinds of rows, so
# each has its own key (a submission's PHQ-9 and its GAD-7 are two Observations).
PATIENT = "Patient"
PRACTITIONER = "Practitioner"
ORGANIZATION = "Organization"
LOCATION = "Location"
APPOINTMENT = "Appointment"
FLAG = "Flag"
OBSERVATION_KEYS = {
    "phq9": "Observation.phq9",
    "gad7": "Observation.gad7",
    "bp": "Observation.bp",
    "heart_rate": "Observation.heart_rate",
    "spo2": "Observation.spo2",
    "weight": "Observation.weight",
    "clearance": "Observation.clearance",
}
# The clinic is one Organization, not a row: its id is kept under this pk.
CLINIC_PK = 1

# Propel's appointment lifecycle (scheduling.models.AppointmentStatus) -> Appointment.status
# (http://hl7.org/fhir/ValueSet/appointmentstatus, a required binding). Every status is mapped; a
# test keeps this exhaustive. See docs/fhir.md for the two choices (in_progress, deferred).
APPOINTMENT_STATUS: dict[str, str] = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    # FHIR R4 has no "in progress" for an Appointment: the patient is here and being seen, which is
    # "arrived" (the visit itself would be an Encounter with status in-progress).
    AppointmentStatus.IN_PROGRESS: "arrived",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
    # Turned away on the day: the appointment did not take place and the patient did come, so it
    # is "cancelled" (not "noshow"), with cancelationReason saying it was deferred on the day.
    AppointmentStatus.DEFERRED: "cancelled",
}
DEFERRED_REASON = "Deferred on the day of the visit"

PROPEL_EXTENSION_BASE = "https://propel.clinic/fhir/StructureDefinition"
FLAG_SOURCE_EXTENSION = f"{PROPEL_EXTENSION_BASE}/flag-source"

P = ParamSpec("P")
R = TypeVar("R")


def _in_english(builder: Callable[P, R]) -> Callable[P, R]:
    """Displays (language, room kind, severity, reading phase) are written in English whatever
    the active language of the request or task: the EHR reads one language."""

    @functools.wraps(builder)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override("en"):
            return builder(*args, **kwargs)

    return wrapper


def as_json(resource: Resource) -> dict[str, Any]:
    """The resource as FHIR JSON (a dict ready for json.dumps)."""
    return resource.model_dump(mode="json", exclude_none=True)


def _ref(resource_type: str, value: str, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{resource_type}/{value}"}
    if display:
        ref["display"] = display
    return ref


def _meta(updated: dt.datetime | None) -> dict[str, Any] | None:
    return {"lastUpdated": updated} if updated else None


def _coding(code: codes.Code) -> dict[str, str]:
    return {"system": code.system, "code": code.code, "display": code.display}


def _concept(code: codes.Code) -> dict[str, Any]:
    return {"coding": [_coding(code)], "text": code.display}


def _quantity(value: int | float, unit: codes.Unit) -> dict[str, Any]:
    return {"value": value, "unit": unit.display, "system": codes.UCUM, "code": unit.code}


# --- Organization (the clinic) and its places and people --------------------------------------


def clinic_organization_id() -> str:
    return fhir_id(ORGANIZATION, CLINIC_PK)


def organization() -> FhirOrganization:
    """The clinic, from its settings (CLINIC_NAME, CLINIC_ADDRESS, CLINIC_PHONE): the one place
    the clinic's facts live."""
    return FhirOrganization.model_validate(
        {
            "id": clinic_organization_id(),
            "active": True,
            "name": settings.CLINIC_NAME,
            "telecom": [{"system": "phone", "value": settings.CLINIC_PHONE, "use": "work"}],
            "address": [{"use": "work", "text": settings.CLINIC_ADDRESS}],
        }
    )


@_in_english
def locations(rooms: Sequence[Room]) -> list[FhirLocation]:
    ids = fhir_ids(LOCATION, [room.pk for room in rooms])
    clinic = clinic_organization_id()
    return [
        FhirLocation.model_validate(
            {
                "id": ids[room.pk],
                "status": "active" if room.active else "inactive",
                "name": room.name,
                "description": str(room.get_kind_display()),
                "mode": "instance",
                "physicalType": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
                            "code": "ro",
                            "display": "Room",
                        }
                    ]
                },
                "managingOrganization": _ref("Organization", clinic, settings.CLINIC_NAME),
            }
        )
        for room in rooms
    ]


def location(room: Room) -> FhirLocation:
    return locations([room])[0]


@_in_english
def practitioners(clinicians: Sequence[Clinician]) -> list[FhirPractitioner]:
    ids = fhir_ids(PRACTITIONER, [clinician.pk for clinician in clinicians])
    return [
        FhirPractitioner.model_validate(
            {
                "id": ids[clinician.pk],
                "active": clinician.active,
                "name": [{"text": clinician.display_name}],
            }
        )
        for clinician in clinicians
    ]


def practitioner(clinician: Clinician) -> FhirPractitioner:
    return practitioners([clinician])[0]


# --- Patient ----------------------------------------------------------------------------------


def _patient_json(patient: Patient, value: str) -> dict[str, Any]:
    telecom: list[dict[str, Any]] = [{"system": "email", "value": patient.email, "use": "home"}]
    if patient.mobile:
        telecom.append({"system": "phone", "value": str(patient.mobile), "use": "mobile"})
    return {
        "id": value,
        "meta": _meta(patient.updated_at),
        "active": True,
        "name": [
            {
                "use": "official",
                "family": patient.last_name,
                "given": [patient.first_name],
                "text": f"{patient.first_name} {patient.last_name}",
            }
        ],
        "birthDate": patient.date_of_birth,
        "telecom": telecom,
        "communication": [
            {
                "language": {
                    "coding": [
                        {
                            "system": codes.LANGUAGE_SYSTEM,
                            "code": patient.preferred_language,
                            "display": str(patient.get_preferred_language_display()),
                        }
                    ]
                },
                "preferred": True,
            }
        ],
    }


@_in_english
def patients(rows: Sequence[Patient]) -> list[FhirPatient]:
    ids = fhir_ids(PATIENT, [row.pk for row in rows])
    return [FhirPatient.model_validate(_patient_json(row, ids[row.pk])) for row in rows]


def patient(row: Patient) -> FhirPatient:
    return patients([row])[0]


# --- Appointment ------------------------------------------------------------------------------


def appointment_rows(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """Appointments with what their resource names (patient, clinician, room, type) in one query."""
    return queryset.select_related("patient", "clinician", "room", "appointment_type")


@_in_english
def appointments(rows: Sequence[Appointment]) -> list[FhirAppointment]:
    ids = fhir_ids(APPOINTMENT, [row.pk for row in rows])
    patient_ids = fhir_ids(PATIENT, {row.patient_id for row in rows})
    clinician_ids = fhir_ids(PRACTITIONER, {row.clinician_id for row in rows if row.clinician_id})
    room_ids = fhir_ids(LOCATION, {row.room_id for row in rows})
    built = []
    for row in rows:
        participants = [
            {
                "actor": _ref(
                    "Patient",
                    patient_ids[row.patient_id],
                    f"{row.patient.first_name} {row.patient.last_name}",
                ),
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": _ref("Location", room_ids[row.room_id], row.room.name),
                "required": "required",
                "status": "accepted",
            },
        ]
        if row.clinician_id and row.clinician:
            participants.insert(
                1,
                {
                    "actor": _ref(
                        "Practitioner",
                        clinician_ids[row.clinician_id],
                        row.clinician.display_name,
                    ),
                    "required": "required",
                    "status": "accepted",
                },
            )
        data: dict[str, Any] = {
            "id": ids[row.pk],
            "meta": _meta(row.updated_at),
            "status": APPOINTMENT_STATUS[row.status],
            "serviceType": [{"text": row.appointment_type.name}],
            "description": row.appointment_type.name,
            "start": row.start,
            "end": row.end,
            "minutesDuration": int((row.end - row.start).total_seconds() // 60),
            "created": row.created_at,
            "participant": participants,
        }
        if row.status == AppointmentStatus.DEFERRED:
            data["cancelationReason"] = {"text": DEFERRED_REASON}
        built.append(FhirAppointment.model_validate(data))
    return built


def appointment(row: Appointment) -> FhirAppointment:
    return appointments([row])[0]


# --- Observation: scores ----------------------------------------------------------------------


def score_total(submission: IntakeSubmission, instrument_id: str) -> int | None:
    """The instrument's total in a sent submission's scores; None when absent or incomplete."""
    if submission.status != SubmissionStatus.SUBMITTED or not isinstance(submission.scores, dict):
        return None
    result = submission.scores.get(instrument_id)
    total = result.get("total") if isinstance(result, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def score_rows(
    queryset: QuerySet[IntakeSubmission], instrument_id: str
) -> QuerySet[IntakeSubmission]:
    """Sent submissions whose `instrument_id` total is present (the rows `score_total` accepts:
    scoring writes an int or null), so each row makes exactly one Observation of that score."""
    total = f"scores__{instrument_id}__total"
    return queryset.filter(
        status=SubmissionStatus.SUBMITTED, **{f"{total}__isnull": False}
    ).exclude(**{total: None})


@_in_english
def score_observations_of(
    instrument_id: str, submissions: Sequence[IntakeSubmission]
) -> list[FhirObservation]:
    """One Observation of the coded score `instrument_id` (codes.SCORE_CODES) per sent submission
    with a complete total; a missing or incomplete score makes none (nothing is invented)."""
    code = codes.SCORE_CODES[instrument_id]
    scored = [(row, score_total(row, instrument_id)) for row in submissions]
    wanted = [(row, total) for row, total in scored if total is not None]
    ids = fhir_ids(OBSERVATION_KEYS[instrument_id], [row.pk for row, _ in wanted])
    patient_ids = fhir_ids(PATIENT, {row.patient_id for row, _ in wanted})
    answers = _response_ids(instrument_id, [row.pk for row, _ in wanted])
    return [
        FhirObservation.model_validate(
            {
                "id": ids[row.pk],
                "meta": _meta(row.updated_at),
                "status": "final",
                "category": [_concept(codes.SURVEY)],
                "code": _concept(code),
                "subject": _ref("Patient", patient_ids[row.patient_id]),
                "effectiveDateTime": row.submitted_at,
                "issued": row.submitted_at,
                "valueQuantity": _quantity(total, codes.SCORE),
                # The answers the score was computed from, when they are served.
                "derivedFrom": [_ref("QuestionnaireResponse", answers[row.pk])]
                if row.pk in answers
                else None,
            }
        )
        for row, total in wanted
    ]


def _response_ids(instrument_id: str, pks: list[int]) -> dict[int, str]:
    """The QuestionnaireResponse ids of these submissions' answers to the instrument, for the
    ones that have a response served (scheduling.fhir.questionnaires decides which): one query,
    plus the ids' batch."""
    # Imported here: the questionnaires module builds on this one.
    from scheduling.fhir.questionnaires import RESPONSE_KEYS, submissions_with

    if not pks:
        return {}
    answered = IntakeSubmission.objects.filter(submissions_with(instrument_id), pk__in=pks)
    return fhir_ids(RESPONSE_KEYS[instrument_id], answered.values_list("pk", flat=True))


def score_observations(submissions: Sequence[IntakeSubmission]) -> list[FhirObservation]:
    """Every coded score's Observations of these submissions, one score after the other."""
    return [
        observation
        for instrument_id in codes.SCORE_CODES
        for observation in score_observations_of(instrument_id, submissions)
    ]


# --- Observation: vital signs -----------------------------------------------------------------


def vital_reading_rows(queryset: QuerySet[VitalReading]) -> QuerySet[VitalReading]:
    """Readings with their visit's appointment (for the patient) in one query."""
    return queryset.select_related("visit__appointment")


def _blood_pressure(reading: VitalReading) -> dict[str, Any]:
    return {
        "code": _concept(codes.BP_PANEL),
        "component": [
            {
                "code": _concept(codes.SYSTOLIC),
                "valueQuantity": _quantity(reading.systolic, codes.MM_HG),
            },
            {
                "code": _concept(codes.DIASTOLIC),
                "valueQuantity": _quantity(reading.diastolic, codes.MM_HG),
            },
        ],
    }


def _heart_rate(reading: VitalReading) -> dict[str, Any]:
    return {
        "code": _concept(codes.HEART_RATE),
        "valueQuantity": _quantity(reading.heart_rate, codes.PER_MINUTE),
    }


def _spo2(reading: VitalReading) -> dict[str, Any]:
    return {
        "code": {
            "coding": [_coding(codes.SPO2), _coding(codes.SPO2_PULSE_OXIMETRY)],
            "text": codes.SPO2_PULSE_OXIMETRY.display,
        },
        "valueQuantity": _quantity(reading.spo2, codes.PERCENT),
    }


def _weight(reading: VitalReading) -> dict[str, Any]:
    if reading.weight_lb is None:
        raise ValueError("a reading without a weight makes no weight Observation")
    return {
        "code": _concept(codes.BODY_WEIGHT),
        "valueQuantity": _quantity(reading.weight_lb, codes.POUND),
    }


# Each vital sign's OBSERVATION_KEYS key -> what its Observation says of a reading, in the order
# a reading's Observations are listed. Weight only where the patient was weighed.
VITAL_SIGNS: dict[str, Callable[[VitalReading], dict[str, Any]]] = {
    "bp": _blood_pressure,
    "heart_rate": _heart_rate,
    "spo2": _spo2,
    "weight": _weight,
}


def vital_sign_rows(queryset: QuerySet[VitalReading], key: str) -> QuerySet[VitalReading]:
    """The readings that make an Observation of the vital sign `key` (VITAL_SIGNS), one each."""
    rows = vital_reading_rows(queryset)
    return rows.filter(weight_lb__isnull=False) if key == "weight" else rows


@_in_english
def vital_sign_observations_of(key: str, readings: Sequence[VitalReading]) -> list[FhirObservation]:
    """The vital sign `key` (VITAL_SIGNS) of each reading: category vital-signs, units UCUM; a
    reading without a weight makes no weight Observation."""
    part = VITAL_SIGNS[key]
    wanted = [r for r in readings if key != "weight" or r.weight_lb is not None]
    ids = fhir_ids(OBSERVATION_KEYS[key], [reading.pk for reading in wanted])
    patient_ids = fhir_ids(PATIENT, {reading.visit.appointment.patient_id for reading in wanted})
    return [
        FhirObservation.model_validate(
            {
                "id": ids[reading.pk],
                # Readings are written once, when taken (scheduling.visits.gate), never changed.
                "meta": _meta(reading.taken_at),
                "status": "final",
                "category": [_concept(codes.VITAL_SIGNS)],
                "subject": _ref("Patient", patient_ids[reading.visit.appointment.patient_id]),
                "effectiveDateTime": reading.taken_at,
                "note": [{"text": str(reading.get_phase_display())}],
                **part(reading),
            }
        )
        for reading in wanted
    ]


def vital_sign_observations(readings: Sequence[VitalReading]) -> list[FhirObservation]:
    """Every vital sign's Observations of these readings (blood pressure panel with systolic and
    diastolic as components, heart rate, SpO2 and, when weighed, body weight)."""
    return [
        observation
        for key in VITAL_SIGNS
        for observation in vital_sign_observations_of(key, readings)
    ]


# --- Flag -------------------------------------------------------------------------------------


def flag_rows(queryset: QuerySet[Flag]) -> QuerySet[Flag]:
    """Flags with their submission (for the patient) in one query."""
    return queryset.select_related("submission")


@_in_english
def flags(rows: Sequence[Flag]) -> list[FhirFlag]:
    """Eligibility flags: the rule as code, its severity as a second category, the rule's source
    (the guideline it comes from) as an extension, raised by the clinic's rules (author)."""
    ids = fhir_ids(FLAG, [row.pk for row in rows])
    patient_ids = fhir_ids(PATIENT, {row.submission.patient_id for row in rows})
    clinic = clinic_organization_id()
    return [
        FhirFlag.model_validate(
            {
                "id": ids[row.pk],
                # Flags are written once, at submission (intake.eligibility), never changed.
                "meta": _meta(row.created_at),
                "status": "active",
                "category": [
                    _concept(codes.FLAG_CLINICAL),
                    {
                        "coding": [
                            {
                                "system": codes.FLAG_SEVERITY_SYSTEM,
                                "code": row.severity,
                                "display": str(row.get_severity_display()),
                            }
                        ]
                    },
                ],
                "code": {
                    "coding": [
                        {
                            "system": codes.FLAG_RULE_SYSTEM,
                            "code": row.rule_id,
                            "display": row.title,
                        }
                    ],
                    "text": row.title,
                },
                "subject": _ref("Patient", patient_ids[row.submission.patient_id]),
                "period": {"start": row.created_at},
                "author": _ref("Organization", clinic, settings.CLINIC_NAME),
                "extension": [{"url": FLAG_SOURCE_EXTENSION, "valueString": row.source}]
                if row.source
                else None,
            }
        )
        for row in rows
    ]


def flag(row: Flag) -> FhirFlag:
    return flags([row])[0]


# --- Observation: the clinician's clearance ----------------------------------------------------


def clearance_rows(queryset: QuerySet[ClearanceDecision]) -> QuerySet[ClearanceDecision]:
    """Decisions with the deciding user's Clinician row (the performer), in one query."""
    return queryset.select_related("decided_by__clinician")


@_in_english
def clearance_observations(decisions: Sequence[ClearanceDecision]) -> list[FhirObservation]:
    """Each clearance decision as an Observation in Propel's code systems (no public terminology
    has "cleared for infusion"): the decision as valueCodeableConcept; a clearance's days as
    effectivePeriod (from the decision to valid_until, a clinic date, inclusive), the other
    decisions at their instant; the reason and a hard-stop override as notes; performer the
    deciding clinician when they have a Clinician row. Decisions are append-only, so each is
    final; the latest one is the patient's standing (docs/fhir.md)."""
    ids = fhir_ids(OBSERVATION_KEYS["clearance"], [row.pk for row in decisions])
    patient_ids = fhir_ids(PATIENT, {row.patient_id for row in decisions})
    clinicians = {row.pk: getattr(row.decided_by, "clinician", None) for row in decisions}
    clinician_ids = fhir_ids(PRACTITIONER, {c.pk for c in clinicians.values() if c is not None})
    built = []
    for row in decisions:
        data: dict[str, Any] = {
            "id": ids[row.pk],
            "meta": _meta(row.decided_at),
            "status": "final",
            "code": _concept(codes.CLEARANCE),
            "subject": _ref("Patient", patient_ids[row.patient_id]),
            "issued": row.decided_at,
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": codes.CLEARANCE_DECISION_SYSTEM,
                        "code": row.kind,
                        "display": str(row.get_kind_display()),
                    }
                ],
                "text": str(row.get_kind_display()),
            },
        }
        if row.valid_until is not None:
            data["effectivePeriod"] = {
                "start": row.decided_at,
                "end": row.valid_until.isoformat(),
            }
        else:
            data["effectiveDateTime"] = row.decided_at
        notes = [row.reason] if row.reason else []
        if row.override_reason:
            notes.append(f"Hard stop overridden: {row.override_reason}")
        if notes:
            data["note"] = [{"text": text} for text in notes]
        clinician = clinicians[row.pk]
        if clinician is not None:
            data["performer"] = [
                _ref("Practitioner", clinician_ids[clinician.pk], clinician.display_name)
            ]
        built.append(FhirObservation.model_validate(data))
    return built


def all_of(builder: Any, rows: Iterable[Any]) -> list[dict[str, Any]]:
    """A batch builder's output as JSON dicts (for bundles and NDJSON)."""
    return [as_json(resource) for resource in builder(list(rows))]


# --- One row as validated JSON (the read API's interface) --------------------------------------


def build_patient(row: Patient) -> dict[str, Any]:
    return as_json(patient(row))


def build_appointment(row: Appointment) -> dict[str, Any]:
    return as_json(appointment(row))


def build_practitioner(row: Clinician) -> dict[str, Any]:
    return as_json(practitioner(row))


def build_location(row: Room) -> dict[str, Any]:
    return as_json(location(row))


def build_organization() -> dict[str, Any]:
    return as_json(organization())


def build_flag(row: Flag) -> dict[str, Any]:
    return as_json(flag(row))
