"""Issue 23 groundwork: the FHIR R4 resources built from Propel's rows. Every built resource is
parsed back from its JSON with fhir.resources' R4B models (the FHIR R4 line)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.flag import Flag as FhirFlag
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir.resources.R4B.organization import Organization as FhirOrganization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from intake.models import ClearanceDecision, Flag, IntakeSubmission
from scheduling.fhir import codes, resources
from scheduling.fhir.ids import fhir_id
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    VitalReading,
)
from tests.factories import (
    AppointmentFactory,
    ClearanceDecisionFactory,
    ClinicianFactory,
    FlagFactory,
    PatientFactory,
    RoomFactory,
    SubmittedScreeningFactory,
)
from tests.fhir.clinical_support import TAKEN, vital_reading

pytestmark = [pytest.mark.django_db]


def parsed(model, resource):
    """The resource's JSON text parsed back by the library (raises when it is not valid FHIR)."""
    return model.model_validate(json.loads(json.dumps(resources.as_json(resource))))


def test_patient_name_birth_date_telecom_and_language():
    row = PatientFactory(first_name="Ana", last_name="García", preferred_language="es")
    built = parsed(FhirPatient, resources.patient(row))
    assert built.id == fhir_id("Patient", row.pk)
    assert built.name[0].family == "García" and built.name[0].given == ["Ana"]
    assert built.birthDate == dt.date(1970, 1, 1)
    assert {(t.system, t.value) for t in built.telecom} == {
        ("email", row.email),
        ("phone", "+19165550100"),
    }
    language = built.communication[0]
    assert language.preferred is True
    assert (language.language.coding[0].system, language.language.coding[0].code) == (
        "urn:ietf:bcp:47",
        "es",
    )


def test_patient_without_mobile_has_only_email():
    built = parsed(FhirPatient, resources.patient(PatientFactory(mobile="")))
    assert [t.system for t in built.telecom] == ["email"]


def test_practitioner_location_and_organization():
    clinician = ClinicianFactory(display_name="Dr Rivera", weekday_hours=False)
    room = RoomFactory(name="Infusion 2", infusion=True, active=False)
    practitioner = parsed(FhirPractitioner, resources.practitioner(clinician))
    assert practitioner.name[0].text == "Dr Rivera" and practitioner.active is True
    location = parsed(FhirLocation, resources.location(room))
    assert location.name == "Infusion 2" and location.status == "inactive"
    organization = parsed(FhirOrganization, resources.organization())
    assert organization.name == settings.CLINIC_NAME
    assert organization.address[0].text == settings.CLINIC_ADDRESS
    assert organization.telecom[0].value == settings.CLINIC_PHONE
    assert location.managingOrganization.reference == f"Organization/{organization.id}"


def test_appointment_participants_and_times():
    row = AppointmentFactory()
    built = parsed(FhirAppointment, resources.appointment(row))
    assert built.status == "booked"
    assert built.start == row.start and built.end == row.end and built.minutesDuration == 60
    references = [p.actor.reference for p in built.participant]
    assert references == [
        f"Patient/{fhir_id('Patient', row.patient_id)}",
        f"Practitioner/{fhir_id('Practitioner', row.clinician_id)}",
        f"Location/{fhir_id('Location', row.room_id)}",
    ]


def test_appointment_without_clinician_names_patient_and_room():
    row = AppointmentFactory(clinician=None)
    built = parsed(FhirAppointment, resources.appointment(row))
    assert [p.actor.reference.split("/")[0] for p in built.participant] == ["Patient", "Location"]


def test_status_mapping_covers_every_lifecycle_status_with_a_fhir_status():
    assert set(resources.APPOINTMENT_STATUS) == set(AppointmentStatus.values)
    assert set(resources.APPOINTMENT_STATUS.values()) <= codes.APPOINTMENT_STATUSES
    # The library's own list of Appointment.status codes agrees with codes.APPOINTMENT_STATUSES.
    extra = FhirAppointment.model_fields["status"].json_schema_extra
    assert set(extra["enum_values"]) == codes.APPOINTMENT_STATUSES


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("booked", "booked"),
        ("checked_in", "checked-in"),
        ("in_progress", "arrived"),
        ("completed", "fulfilled"),
        ("cancelled", "cancelled"),
        ("no_show", "noshow"),
        ("deferred", "cancelled"),
    ],
)
def test_each_status_builds_a_valid_appointment(status, expected):
    row = AppointmentFactory(status=status)
    built = parsed(FhirAppointment, resources.appointment(row))
    assert built.status == expected
    if status == "deferred":
        assert built.cancelationReason.text == resources.DEFERRED_REASON
    else:
        assert built.cancelationReason is None


def scored_submission(**scores):
    return SubmittedScreeningFactory(scores=scores)


def test_score_observations_phq9_and_gad7_totals():
    submission = scored_submission(
        phq9={"total": 14, "band": "moderate", "missing": []},
        gad7={"total": 9, "band": "mild", "missing": []},
        pcl5={"total": 40},
    )
    built = [parsed(FhirObservation, o) for o in resources.score_observations([submission])]
    by_code = {o.code.coding[0].code: o for o in built}
    assert set(by_code) == {"44261-6", "70274-6"}  # the PCL-5 has no confirmed code: not built
    phq9 = by_code["44261-6"]
    assert phq9.valueQuantity.value == 14 and phq9.valueQuantity.code == "{score}"
    assert phq9.category[0].coding[0].code == "survey"
    assert phq9.subject.reference == f"Patient/{fhir_id('Patient', submission.patient_id)}"
    assert phq9.effectiveDateTime == submission.submitted_at
    assert phq9.id != by_code["70274-6"].id


def test_incomplete_or_unsent_scores_make_no_observation():
    incomplete = scored_submission(phq9={"total": None, "missing": ["phq9_3"]})
    draft = SubmittedScreeningFactory(status="draft", scores={"phq9": {"total": 5}})
    assert resources.score_observations([incomplete, draft]) == []


def test_vital_signs_bp_panel_heart_rate_spo2_weight():
    reading = vital_reading(weight_lb=172)
    built = [parsed(FhirObservation, o) for o in resources.vital_sign_observations([reading])]
    by_code = {o.code.coding[0].code: o for o in built}
    assert set(by_code) == {"85354-9", "8867-4", "2708-6", "29463-7"}
    bp = by_code["85354-9"]
    assert bp.valueQuantity is None
    assert [
        (c.code.coding[0].code, c.valueQuantity.value, c.valueQuantity.code) for c in bp.component
    ] == [
        ("8480-6", 128, "mm[Hg]"),
        ("8462-4", 82, "mm[Hg]"),
    ]
    assert (by_code["8867-4"].valueQuantity.value, by_code["8867-4"].valueQuantity.code) == (
        71,
        "/min",
    )
    spo2 = by_code["2708-6"]
    assert [c.code for c in spo2.code.coding] == ["2708-6", "59408-5"]
    assert (spo2.valueQuantity.value, spo2.valueQuantity.code) == (97, "%")
    assert (by_code["29463-7"].valueQuantity.value, by_code["29463-7"].valueQuantity.code) == (
        172,
        "[lb_av]",
    )
    patient_ref = f"Patient/{fhir_id('Patient', reading.visit.appointment.patient_id)}"
    for observation in built:
        assert observation.category[0].coding[0].code == "vital-signs"
        assert observation.subject.reference == patient_ref
        assert observation.effectiveDateTime == TAKEN
        assert all(c.system == codes.UCUM for c in [observation.valueQuantity] if c)
    assert len({o.id for o in built}) == 4


def test_a_reading_without_weight_has_no_weight_observation():
    built = resources.vital_sign_observations([vital_reading()])
    assert [o.code.coding[0].code for o in built] == ["85354-9", "8867-4", "2708-6"]


def test_flag_severity_source_status_category():
    row = FlagFactory(rule_id="uncontrolled_bp", severity="hard_stop", source="APA 2017 §3")
    built = parsed(FhirFlag, resources.flag(row))
    assert built.status == "active"
    assert built.code.coding[0].code == "uncontrolled_bp" and built.code.text == row.title
    assert [c.coding[0].code for c in built.category] == ["clinical", "hard_stop"]
    assert built.category[1].coding[0].system == codes.FLAG_SEVERITY_SYSTEM
    assert built.extension[0].url == resources.FLAG_SOURCE_EXTENSION
    assert built.extension[0].valueString == "APA 2017 §3"
    assert built.subject.reference == f"Patient/{fhir_id('Patient', row.submission.patient_id)}"
    assert built.author.reference == f"Organization/{resources.clinic_organization_id()}"


def test_batch_builders_cost_constant_queries():
    """A page of any length costs the same number of queries (ids looked up per type)."""

    def cost(n):
        for _ in range(n):
            AppointmentFactory(
                start=dt.datetime(2027, 2, 1, 17, tzinfo=dt.UTC) + dt.timedelta(days=_)
            )
            FlagFactory()
            vital_reading(weight_lb=150)
            scored_submission(phq9={"total": 3}, gad7={"total": 4})
        resources.appointments(list(resources.appointment_rows(Appointment.objects.all())))
        resources.flags(list(resources.flag_rows(Flag.objects.all())))
        resources.vital_sign_observations(list(VitalReading.objects.all()))
        resources.score_observations(list(IntakeSubmission.objects.all()))
        with CaptureQueriesContext(connection) as queries:
            rows = list(resources.appointment_rows(Appointment.objects.all()))
            resources.appointments(rows)
            resources.patients([row.patient for row in rows])
            resources.flags(list(resources.flag_rows(Flag.objects.all())))
            readings = resources.vital_reading_rows(VitalReading.objects.all())
            resources.vital_sign_observations(list(readings))
            resources.score_observations(list(IntakeSubmission.objects.all()))
        return len(queries)

    assert cost(1) == cost(4)


def test_build_functions_return_validated_json():
    row = AppointmentFactory()
    appointment_json = resources.build_appointment(row)
    assert appointment_json["resourceType"] == "Appointment"
    assert FhirAppointment.model_validate(appointment_json).id == appointment_json["id"]
    patient_json = resources.build_patient(row.patient)
    assert FhirPatient.model_validate(patient_json).birthDate == dt.date(1970, 1, 1)
    assert resources.build_practitioner(row.clinician)["resourceType"] == "Practitioner"
    assert resources.build_location(row.room)["resourceType"] == "Location"
    assert resources.build_organization()["resourceType"] == "Organization"
    assert resources.build_flag(FlagFactory())["resourceType"] == "Flag"
    assert str(row.pk) not in {appointment_json["id"], patient_json["id"]}


def test_displays_are_english_whatever_the_active_language():
    row = PatientFactory(preferred_language="es")
    with translation.override("es"):
        built = resources.patient(row)
    assert built.communication[0].language.coding[0].display == "Spanish"


@pytest.mark.parametrize("instrument_id", ["phq9", "gad7"])
def test_score_rows_are_exactly_the_submissions_that_make_a_score_observation(instrument_id):
    """The read API pages over score_rows: each row must make exactly one Observation."""
    patient = PatientFactory()
    variants = [
        {instrument_id: {"total": 0}},
        {instrument_id: {"total": 21, "band": "severe"}},
        {instrument_id: {"total": None, "missing": ["x"]}},
        {instrument_id: {"band": "none"}},
        {"pcl5": {"total": 40}},
        {},
    ]
    rows = [
        SubmittedScreeningFactory(patient=patient, round=i + 1, scores=scores)
        for i, scores in enumerate(variants)
    ]
    SubmittedScreeningFactory(
        round=1, status="draft", submitted_at=None, scores={instrument_id: {"total": 3}}
    )
    selected = list(resources.score_rows(IntakeSubmission.objects.all(), instrument_id))
    assert sorted(row.pk for row in selected) == [rows[0].pk, rows[1].pk]
    built = resources.score_observations_of(instrument_id, selected)
    assert [o.id for o in built] == [
        fhir_id(f"Observation.{instrument_id}", r.pk) for r in selected
    ]
    everything = resources.score_observations_of(
        instrument_id, list(IntakeSubmission.objects.all())
    )
    assert len(everything) == len(selected)


def test_vital_sign_rows_of_weight_are_the_weighed_readings():
    weighed, unweighed = vital_reading(weight_lb=160), vital_reading(day=1)
    for key in resources.VITAL_SIGNS:
        rows = list(resources.vital_sign_rows(VitalReading.objects.all(), key))
        assert len(resources.vital_sign_observations_of(key, rows)) == len(rows)
        expected = [weighed] if key == "weight" else [weighed, unweighed]
        assert sorted(r.pk for r in rows) == sorted(r.pk for r in expected)


@pytest.mark.parametrize(
    ("traits", "value"),
    [
        ({}, "cleared"),
        ({"declined": True}, "declined"),
        ({"needs_information": True}, "needs_information"),
    ],
)
def test_clearance_decisions_validate_as_observations(traits, value):
    row = ClearanceDecisionFactory(**traits)
    rows = list(resources.clearance_rows(ClearanceDecision.objects.filter(pk=row.pk)))
    built = [parsed(FhirObservation, o) for o in resources.clearance_observations(rows)]
    assert [o.valueCodeableConcept.coding[0].code for o in built] == [value]
    assert built[0].code.coding[0].code == codes.CLEARANCE.code
    assert built[0].subject.reference == f"Patient/{fhir_id('Patient', row.patient_id)}"
