"""Observation, Flag, Practitioner, Location and Organization in the read API (issue 23)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.models import IntakeSubmission, Patient
from propel.models import AuditEvent
from propel.roles import Role
from scheduling.fhir import kinds_clinical as clinical
from scheduling.fhir import resources
from scheduling.fhir.access import scope_for
from scheduling.fhir.ids import fhir_id
from scheduling.models import Clinician
from tests.factories import (
    ClearanceDecisionFactory,
    ClinicianFactory,
    FlagFactory,
    PatientFactory,
    RoomFactory,
    SubmittedScreeningFactory,
    UserFactory,
)
from tests.fhir.clinical_support import TAKEN, vital_reading
from tests.fhir.support import api_client, fhir_get, outcome, validated

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4/"
KEYS = resources.OBSERVATION_KEYS
SUBMITTED = dt.datetime(2027, 1, 4, 18, 0, tzinfo=dt.UTC)
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"


def _scored(patient: Patient, round_: int = 1, **scores: object) -> IntakeSubmission:
    return SubmittedScreeningFactory(
        patient=patient,
        round=round_,
        submitted_at=SUBMITTED + dt.timedelta(days=round_ - 1),
        scores=scores or {"phq9": {"total": 12}, "gad7": {"total": 8}},
    )


def _ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in validated(bundle).get("entry", [])]


def _search(client, query: str, new=None) -> list[str]:
    response = fhir_get(client, f"{BASE}{query}", new or api_client())
    assert response.status_code == 200, response.content[:500]
    return _ids(response.json())


def _codes(client, query: str) -> list[str]:
    response = fhir_get(client, f"{BASE}{query}", api_client())
    bundle = validated(response.json())
    return [e["resource"]["code"]["coding"][0]["code"] for e in bundle.get("entry", [])]


@pytest.fixture
def chart():
    """One patient with two scored rounds, a weighed and an unweighed reading, a clearance;
    another patient with one round."""
    patient = PatientFactory()
    rounds = [_scored(patient, 1), _scored(patient, 2)]
    readings = [vital_reading(patient, day=0, weight_lb=170), vital_reading(patient, day=1)]
    decision = ClearanceDecisionFactory(submission=rounds[1], patient=patient)
    other = _scored(PatientFactory())
    return patient, rounds, readings, decision, other


def _expected_ids(rounds, readings, decision) -> set[str]:
    found = {fhir_id(KEYS[key], row.pk) for row in rounds for key in ("phq9", "gad7")}
    found |= {fhir_id(KEYS[k], r.pk) for r in readings for k in ("bp", "heart_rate", "spo2")}
    found |= {fhir_id(KEYS["weight"], r.pk) for r in readings if r.weight_lb}
    return found | {fhir_id(KEYS["clearance"], decision.pk)}


# --- Observation: read ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("phq9", "44261-6"),
        ("gad7", "70274-6"),
        ("bp", "85354-9"),
        ("heart_rate", "8867-4"),
        ("spo2", "2708-6"),
        ("weight", "29463-7"),
        ("clearance", "infusion-clearance"),
    ],
)
def test_read_an_observation_of_each_key(client, chart, key, code):
    patient, rounds, readings, decision, _ = chart
    pk = {"phq9": rounds[0].pk, "gad7": rounds[0].pk, "clearance": decision.pk}.get(
        key, readings[0].pk
    )
    response = fhir_get(client, f"{BASE}Observation/{fhir_id(KEYS[key], pk)}", api_client())
    assert response.status_code == 200, response.content
    body = validated(response.json())
    assert body["resourceType"] == "Observation"
    assert body["id"] == fhir_id(KEYS[key], pk)
    assert body["code"]["coding"][0]["code"] == code
    assert body["subject"]["reference"] == f"Patient/{fhir_id('Patient', patient.pk)}"


def test_an_id_of_another_type_or_kind_is_not_found(client, chart):
    _, rounds, _readings, _, _ = chart
    new = api_client()
    flag = FlagFactory()
    for url in (
        f"Observation/{fhir_id('Flag', flag.pk)}",
        f"Observation/{fhir_id('Patient', rounds[0].patient_id)}",
        f"Flag/{fhir_id(KEYS['phq9'], rounds[0].pk)}",
        f"Practitioner/{fhir_id('Location', RoomFactory().pk)}",
        f"Location/{fhir_id('Practitioner', ClinicianFactory().pk)}",
        f"Organization/{fhir_id('Patient', rounds[0].patient_id)}",
        "Organization/no-such-id",
    ):
        outcome(fhir_get(client, f"{BASE}{url}", new), 404, "not-found")


def test_an_incomplete_or_unsent_score_is_not_served(client):
    patient = PatientFactory()
    incomplete = _scored(patient, 1, phq9={"total": None, "missing": ["phq9_3"]})
    draft = SubmittedScreeningFactory(
        patient=patient, round=2, status="draft", submitted_at=None, scores={"phq9": {"total": 4}}
    )
    assert _search(client, f"Observation?patient={fhir_id('Patient', patient.pk)}") == []
    for row in (incomplete, draft):
        url = f"{BASE}Observation/{fhir_id(KEYS['phq9'], row.pk)}"
        outcome(fhir_get(client, url, api_client()), 404, "not-found")


# --- Observation: search ----------------------------------------------------------------------


def test_paging_across_sources_serves_each_observation_exactly_once(client, chart):
    patient, rounds, readings, decision, _ = chart
    new = api_client()
    url = f"{BASE}Observation?patient={fhir_id('Patient', patient.pk)}&_count=2"
    seen: list[str] = []
    pages = 0
    while url:
        bundle = validated(fhir_get(client, url, new).json())
        assert len(bundle.get("entry", [])) <= 2
        seen += _ids(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
        pages += 1
    expected = _expected_ids(rounds, readings, decision)
    assert len(expected) == 12
    assert sorted(seen) == sorted(expected)  # each exactly once
    assert pages == 6


def test_search_by_category(client, chart):
    patient, _rounds, _readings, _decision, _other = chart
    pid = fhir_id("Patient", patient.pk)
    survey = _codes(client, f"Observation?patient={pid}&category=survey")
    assert sorted(survey) == sorted(["44261-6", "70274-6"] * 2)
    vitals = _codes(client, f"Observation?patient={pid}&category={CATEGORY_SYSTEM}|vital-signs")
    assert sorted(vitals) == sorted(["85354-9", "8867-4", "2708-6"] * 2 + ["29463-7"])
    both = _codes(client, f"Observation?patient={pid}&category=survey,vital-signs")
    assert len(both) == 11  # all but the clearance, which has no category
    assert _search(client, "Observation?category=http://other.example|survey") == []
    assert _search(client, "Observation?category=laboratory") == []


def test_search_by_code(client, chart):
    _patient, rounds, readings, decision, other = chart
    assert _search(client, "Observation?code=8867-4") == [
        fhir_id(KEYS["heart_rate"], r.pk) for r in readings
    ]
    phq9 = _search(client, "Observation?code=http://loinc.org|44261-6")
    assert phq9 == [fhir_id(KEYS["phq9"], row.pk) for row in (rounds[0], other, rounds[1])]
    # SpO2 carries 2708-6 and 59408-5: either finds it.
    assert len(_search(client, "Observation?code=59408-5")) == 2
    assert len(_search(client, "Observation?code=2708-6,29463-7")) == 3
    assert _search(client, "Observation?code=http://snomed.info/sct|8867-4") == []
    assert _search(client, "Observation?code=|8867-4") == []
    # A component's code is not the Observation's code.
    assert _search(client, "Observation?code=8480-6") == []
    clearance = f"{resources.codes.CLEARANCE_SYSTEM}|infusion-clearance"
    assert _search(client, f"Observation?code={clearance}") == [
        fhir_id(KEYS["clearance"], decision.pk)
    ]
    # Both parameters must hold.
    assert _search(client, "Observation?code=8867-4&category=survey") == []


@pytest.mark.parametrize("query", ["code=", "code=http://loinc.org|", "category=survey,"])
def test_a_malformed_token_is_a_bad_request(client, query):
    outcome(fhir_get(client, f"{BASE}Observation?{query}", api_client()), 400, "invalid")


def test_search_by_patient_and_date(client, chart):
    patient, rounds, readings, _decision, other = chart
    pid = fhir_id("Patient", patient.pk)
    other_pid = fhir_id("Patient", other.patient_id)
    assert _search(client, f"Observation?patient={other_pid}") == [
        fhir_id(KEYS[key], other.pk) for key in ("phq9", "gad7")
    ]
    # 5 January (clinic time): the second round, the first reading, the decision (4 Jan 20:00
    # UTC is 12:00 in Sacramento on the 4th: not on the 5th).
    day = set(_search(client, f"Observation?patient={pid}&date=2027-01-05"))
    assert day == {fhir_id(KEYS[k], rounds[1].pk) for k in ("phq9", "gad7")} | {
        fhir_id(KEYS[k], readings[0].pk) for k in ("bp", "heart_rate", "spo2", "weight")
    }
    later = set(_search(client, f"Observation?patient={pid}&date=gt2027-01-05"))
    assert later == {fhir_id(KEYS[k], readings[1].pk) for k in ("bp", "heart_rate", "spo2")}
    outcome(fhir_get(client, f"{BASE}Observation?date=yesterday", api_client()), 400, "invalid")


def test_last_updated_reads_each_sources_own_time(client, chart):
    """Scores: the submission's updated_at. Readings and decisions never change once written:
    when taken, when decided (their meta.lastUpdated says the same)."""
    patient, rounds, _readings, decision, _ = chart
    IntakeSubmission.objects.filter(pk=rounds[0].pk).update(
        updated_at=dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    )
    IntakeSubmission.objects.filter(pk=rounds[1].pk).update(
        updated_at=dt.datetime(2027, 1, 4, 19, tzinfo=dt.UTC)
    )
    pid = fhir_id("Patient", patient.pk)
    march = _search(client, f"Observation?patient={pid}&_lastUpdated=ge2027-02-01")
    assert march == [fhir_id(KEYS[k], rounds[0].pk) for k in ("phq9", "gad7")]
    window = "_lastUpdated=ge2027-01-05T17:00:00Z&_lastUpdated=lt2027-01-05T18:00:00Z"
    found = fhir_get(client, f"{BASE}Observation?patient={pid}&{window}", api_client()).json()
    assert len(found["entry"]) == 4  # the weighed reading's four Observations
    stamps = {
        dt.datetime.fromisoformat(e["resource"]["meta"]["lastUpdated"]) for e in found["entry"]
    }
    assert stamps == {TAKEN}
    # 4 January in Sacramento: the decision (12:00 local) and the second round (11:00 local).
    on_the_4th = set(_search(client, f"Observation?patient={pid}&_lastUpdated=2027-01-04"))
    assert on_the_4th == {fhir_id(KEYS["clearance"], decision.pk)} | {
        fhir_id(KEYS[k], rounds[1].pk) for k in ("phq9", "gad7")
    }


def _observation_search_queries(client, rows: int) -> int:
    new = api_client()
    patient = PatientFactory()
    for i in range(rows):
        submission = _scored(patient, i + 1)
        vital_reading(patient, day=i, weight_lb=160)
        ClearanceDecisionFactory(submission=submission, patient=patient)
    url = f"{BASE}Observation?patient={fhir_id('Patient', patient.pk)}&_count=100"
    fhir_get(client, url, new)  # hand out every FhirId first
    with CaptureQueriesContext(connection) as queries:
        response = fhir_get(client, url, new)
    assert len(response.json()["entry"]) == 7 * rows
    return len(queries)


def test_observation_search_query_count_does_not_grow_with_the_results(client):
    # 14 rows of each of the 7 sources: 98 Observations, the most that fit one page of 100.
    assert _observation_search_queries(client, 1) == _observation_search_queries(client, 14)


def test_a_source_whose_code_does_not_match_is_not_queried(client, chart):
    with CaptureQueriesContext(connection) as queries:
        found = _search(client, "Observation?category=vital-signs&code=8867-4")
    assert len(found) == 2
    sql = " ".join(query["sql"] for query in queries)
    assert "intake_intakesubmission" not in sql
    assert "intake_clearancedecision" not in sql
    assert sql.count('FROM "scheduling_vitalreading"') == 1


def test_a_later_page_skips_sources_with_one_count_each(client, chart):
    patient, _rounds, _readings, decision, _ = chart
    pid = fhir_id("Patient", patient.pk)
    last = _search(client, f"Observation?patient={pid}&_count=5&_offset=10")
    assert len(last) == 2  # past 10 scores and readings: the one weight, then the clearance
    assert last[-1] == fhir_id(KEYS["clearance"], decision.pk)


# --- The clearance decision ---------------------------------------------------------------------


def test_a_clearance_is_a_final_observation_for_its_days_by_its_clinician(client):
    user = UserFactory(role=Role.CLINICIAN)
    clinician = ClinicianFactory(user=user, display_name="Dr Rivera")
    decision = ClearanceDecisionFactory(decided_by=user, override_reason="BP controlled now.")
    url = f"{BASE}Observation/{fhir_id(KEYS['clearance'], decision.pk)}"
    body = validated(fhir_get(client, url, api_client()).json())
    assert body["status"] == "final"
    assert body["code"]["coding"][0]["system"] == resources.codes.CLEARANCE_SYSTEM
    value = body["valueCodeableConcept"]["coding"][0]
    assert (value["system"], value["code"], value["display"]) == (
        resources.codes.CLEARANCE_DECISION_SYSTEM,
        "cleared",
        "Cleared for infusion",
    )
    assert body["effectivePeriod"]["end"] == "2027-07-05"
    assert body["note"] == [{"text": "Hard stop overridden: BP controlled now."}]
    assert body["performer"] == [
        {
            "reference": f"Practitioner/{fhir_id('Practitioner', clinician.pk)}",
            "display": "Dr Rivera",
        }
    ]


def test_a_declined_decision_carries_its_reason_and_instant(client):
    decision = ClearanceDecisionFactory(declined=True)
    url = f"{BASE}Observation/{fhir_id(KEYS['clearance'], decision.pk)}"
    body = validated(fhir_get(client, url, api_client()).json())
    assert body["valueCodeableConcept"]["coding"][0]["code"] == "declined"
    assert "effectivePeriod" not in body and body["effectiveDateTime"].startswith("2027-01-04")
    assert body["note"] == [{"text": "Not suitable now."}]
    assert "performer" not in body  # the deciding user has no Clinician row


# --- Flag ---------------------------------------------------------------------------------------


def test_flag_read_and_search_by_patient_status_and_last_updated(client):
    new = api_client()
    flag = FlagFactory(severity="hard_stop")
    other = FlagFactory()
    pid = fhir_id("Patient", flag.submission.patient_id)
    body = validated(fhir_get(client, f"{BASE}Flag/{fhir_id('Flag', flag.pk)}", new).json())
    assert body["status"] == "active"
    assert body["meta"]["lastUpdated"]
    assert _search(client, f"Flag?patient={pid}", new) == [fhir_id("Flag", flag.pk)]
    assert _search(client, f"Flag?patient={pid}&status=active", new) == [fhir_id("Flag", flag.pk)]
    assert _search(client, "Flag?status=inactive,entered-in-error", new) == []
    assert len(_search(client, "Flag?status=inactive,active", new)) == 2
    outcome(fhir_get(client, f"{BASE}Flag?status=cleared", new), 400, "invalid")
    type(flag).objects.filter(pk=other.pk).update(created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert _search(client, "Flag?_lastUpdated=lt2026-06-01", new) == [fhir_id("Flag", other.pk)]


# --- Practitioner, Location, Organization ------------------------------------------------------


def test_practitioner_search_by_name_and_active(client):
    rivera = ClinicianFactory(display_name="Dr Rivera")
    retired = ClinicianFactory(display_name="Dr Ross", active=False)
    ClinicianFactory(display_name="Nurse Rivera")
    assert _search(client, "Practitioner?name=dr%20r") == [
        fhir_id("Practitioner", c.pk) for c in (rivera, retired)
    ]
    assert _search(client, "Practitioner?name=DR&active=false") == [
        fhir_id("Practitioner", retired.pk)
    ]
    assert len(_search(client, "Practitioner")) == Clinician.objects.count() == 3
    outcome(fhir_get(client, f"{BASE}Practitioner?active=maybe", api_client()), 400, "invalid")
    outcome(fhir_get(client, f"{BASE}Practitioner?name=a%00b", api_client()), 400, "invalid")
    outcome(fhir_get(client, f"{BASE}Location?name=%00", api_client()), 400, "invalid")


def test_location_read_and_search_by_name_and_status(client):
    infusion = RoomFactory(name="Infusion 1", infusion=True)
    closed = RoomFactory(name="Infusion 2", infusion=True, active=False)
    RoomFactory(name="Consult A")
    url = f"{BASE}Location/{fhir_id('Location', closed.pk)}"
    assert validated(fhir_get(client, url, api_client()).json())["status"] == "inactive"
    assert _search(client, "Location?name=infusion") == [
        fhir_id("Location", r.pk) for r in (infusion, closed)
    ]
    assert _search(client, "Location?status=inactive") == [fhir_id("Location", closed.pk)]
    assert _search(client, "Location?status=suspended") == []


def test_the_clinic_is_the_one_organization(client):
    new = api_client()
    found = _search(client, "Organization", new)
    assert found == [resources.clinic_organization_id()]
    read = fhir_get(client, f"{BASE}Organization/{found[0]}", new)
    assert validated(read.json())["name"]
    assert _search(client, "Organization?_offset=1", new) == []
    outcome(fhir_get(client, f"{BASE}Organization?name=x", new), 400, "invalid")


def test_practitioners_locations_and_the_clinic_touch_no_patient(client):
    new = api_client()
    ClinicianFactory()
    RoomFactory()
    for kind in ("Practitioner", "Location", "Organization"):
        assert fhir_get(client, f"{BASE}{kind}", new).status_code == 200
    assert all(e.detail["patient_ids"] == [] for e in AuditEvent.objects.all())


# --- Scope and export -----------------------------------------------------------------------


def test_a_client_without_the_observation_scope_is_refused(client, chart):
    _, rounds, _, _, _ = chart
    new = api_client(scopes=[scope_for("Patient"), scope_for("Flag")])
    url = f"{BASE}Observation/{fhir_id(KEYS['phq9'], rounds[0].pk)}"
    outcome(fhir_get(client, url, new), 403, "forbidden")
    outcome(fhir_get(client, f"{BASE}Observation", new), 403, "forbidden")
    assert fhir_get(client, f"{BASE}Flag", new).status_code == 200


def test_export_writes_every_observation_once_and_the_clinic_only_system_wide(chart):
    patient, rounds, readings, decision, _other = chart
    exported = [
        resource["id"]
        for found in clinical.OBSERVATION.export(patient_pks=[patient.pk], batch=2)
        for resource in found.resources
    ]
    assert sorted(exported) == sorted(_expected_ids(rounds, readings, decision))
    assert list(clinical.ORGANIZATION.export(patient_pks=[patient.pk])) == []
    assert list(clinical.PRACTITIONER.export(patient_pks=[patient.pk])) == []
    system = list(clinical.ORGANIZATION.export(since=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))
    assert [r["resourceType"] for found in system for r in found.resources] == ["Organization"]


# --- Hostile query strings ----------------------------------------------------------------------

CLINICAL_NAMES = st.sampled_from(
    ["category", "code", "name", "active", "status", "patient", "date", "_lastUpdated", "_count"]
)
CLINICAL_VALUES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[a-z:/.]{0,20}\|?[0-9a-z-]{0,10}(,[|0-9a-z-]{0,8}){0,2}"),
    st.sampled_from(["\x00", "a\x00b", "%", "_", "|", ",", "||", "true,false"]),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    resource_type=st.sampled_from(
        ["Observation", "Flag", "Practitioner", "Location", "Organization"]
    ),
    pairs=st.lists(st.tuples(CLINICAL_NAMES, CLINICAL_VALUES), max_size=4),
)
def test_no_clinical_query_string_makes_a_500(client, resource_type, pairs):
    new = api_client()
    query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
    response = fhir_get(client, f"{BASE}{resource_type}?{query}", new)
    assert response.status_code in (200, 400), (query, response.content[:300])
    validated(response.json())
