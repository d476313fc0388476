"""The FHIR R4 read API (issue 23, item 2): metadata, read, search, paging, query counts."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake.models import Patient
from propel.models import AuditEvent
from scheduling.fhir.ids import fhir_id
from scheduling.fhir.paperwork_resources import BINARY_KEYS, DOCUMENT_REFERENCE_KEYS
from scheduling.fhir.questionnaires import RESPONSE_KEYS
from scheduling.fhir.registry import APPOINTMENT_STATUS_SEARCH, REGISTRY
from scheduling.fhir.resources import (
    OBSERVATION_KEYS,
    build_appointment,
    clinic_organization_id,
)
from scheduling.fhir.search import MAX_COUNT
from scheduling.models import Appointment, AppointmentStatus
from tests.factories import (
    AppointmentFactory,
    FlagFactory,
    PatientFactory,
    SubmittedScreeningFactory,
    open_weekdays,
)
from tests.fhir.support import api_client, fhir_get, outcome, validated
from tests.intake.document_files import stored_document
from tests.intake.requirement_factories import ConsentSignatureFactory

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4/"
FHIR_JSON = {"HTTP_ACCEPT": "application/fhir+json"}
DEC_1 = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)


def _appointments(patient: Patient, n: int, start: dt.datetime = DEC_1) -> list[Appointment]:
    return [
        AppointmentFactory(patient=patient, start=start + dt.timedelta(days=i)) for i in range(n)
    ]


def test_metadata_lists_exactly_what_is_served(client):
    response = client.get(BASE + "metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    statement = validated(response.json())
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(served) == set(REGISTRY)
    for resource_type, kind in REGISTRY.items():
        names = {p["name"] for p in served[resource_type]["searchParam"]}
        assert names == {p.name for p in kind.params}
        interactions = [i["code"] for i in served[resource_type]["interaction"]]
        assert interactions == list(kind.interactions)


def test_every_served_type_answers_read_and_search(client):
    """What the CapabilityStatement claims, the API does (no type listed but not served)."""
    new = api_client()
    open_weekdays()  # so that there are free Slots
    appointment = AppointmentFactory()
    scored = SubmittedScreeningFactory(scores={"phq9": {"total": 7}})
    document = stored_document(appointment.patient)
    submission = SubmittedScreeningFactory(patient=appointment.patient)
    ids = {
        "Patient": fhir_id("Patient", appointment.patient_id),
        "Practitioner": fhir_id("Practitioner", appointment.clinician_id),
        "Organization": clinic_organization_id(),
        "Location": fhir_id("Location", appointment.room_id),
        "Appointment": fhir_id("Appointment", appointment.pk),
        "Observation": fhir_id(OBSERVATION_KEYS["phq9"], scored.pk),
        "Flag": fhir_id("Flag", FlagFactory().pk),
        "Consent": fhir_id("Consent", ConsentSignatureFactory(patient=appointment.patient).pk),
        "DocumentReference": fhir_id(DOCUMENT_REFERENCE_KEYS["document"], document.pk),
        "Binary": fhir_id(BINARY_KEYS["document"], document.pk),
        "Questionnaire": "phq9",
        "QuestionnaireResponse": fhir_id(RESPONSE_KEYS["phq9"], submission.pk),
    }
    statement = client.get(BASE + "metadata").json()
    for entry in statement["rest"][0]["resource"]:
        resource_type = entry["type"]
        interactions = [i["code"] for i in entry["interaction"]]
        value = ids.get(resource_type)
        if "search-type" in interactions:
            found = fhir_get(client, f"{BASE}{resource_type}", new)
            assert found.status_code == 200
            bundle = validated(found.json())
            assert bundle["type"] == "searchset"
            listed = [e["resource"]["id"] for e in bundle["entry"]]
            # A type served from rows is found by its row's id; a computed one (Slot) is read by
            # an id its search handed out.
            if value is None:
                value = listed[0]
            assert value in listed
        read = fhir_get(client, f"{BASE}{resource_type}/{value}", new, **FHIR_JSON)
        assert read.status_code == 200, read.content
        assert validated(read.json())["resourceType"] == resource_type


def test_read_a_patient_by_its_stable_id_not_the_database_id(client):
    new = api_client()
    patient = PatientFactory()
    response = fhir_get(client, f"{BASE}Patient/{fhir_id('Patient', patient.pk)}", new)
    body = validated(response.json())
    assert body["id"] == fhir_id("Patient", patient.pk) != str(patient.pk)
    assert response["Content-Type"].startswith("application/fhir+json")
    outcome(fhir_get(client, f"{BASE}Patient/{patient.pk}", new), 404, "not-found")


def test_an_id_of_another_type_is_not_found(client):
    new = api_client()
    appointment = AppointmentFactory()
    url = f"{BASE}Patient/{fhir_id('Appointment', appointment.patient_id)}"
    outcome(fhir_get(client, url, new), 404, "not-found")


def test_an_unserved_type_is_not_found(client):
    outcome(fhir_get(client, f"{BASE}Medication", api_client()), 404, "not-found")
    outcome(fhir_get(client, f"{BASE}Medication/abc", api_client()), 404, "not-found")


def test_appointment_search_by_patient_date_and_status(client):
    new = api_client()
    patient = PatientFactory()
    nov, dec_1, dec_2 = _appointments(patient, 1, DEC_1 - dt.timedelta(days=3)) + _appointments(
        patient, 2
    )
    dec_2.status = AppointmentStatus.CANCELLED
    dec_2.save()
    AppointmentFactory(start=DEC_1)  # another patient's
    pid = fhir_id("Patient", patient.pk)
    response = fhir_get(
        client, f"{BASE}Appointment?patient={pid}&date=ge2026-12-01&status=booked", new
    )
    bundle = validated(response.json())
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert ids == [fhir_id("Appointment", dec_1.pk)]
    every = fhir_get(client, f"{BASE}Appointment?patient=Patient/{pid}", new).json()
    assert [e["resource"]["id"] for e in every["entry"]] == [
        fhir_id("Appointment", a.pk) for a in (nov, dec_1, dec_2)
    ]
    ranged = fhir_get(
        client, f"{BASE}Appointment?patient={pid}&date=ge2026-12-01&date=lt2026-12-02", new
    ).json()
    assert [e["resource"]["id"] for e in ranged["entry"]] == [fhir_id("Appointment", dec_1.pk)]


def test_an_unknown_patient_finds_nothing(client):
    AppointmentFactory()
    bundle = fhir_get(client, f"{BASE}Appointment?patient=nobody", api_client()).json()
    assert bundle["type"] == "searchset"
    assert bundle.get("entry", []) == []


def test_patient_search_by_last_updated(client):
    new = api_client()
    old, recent = PatientFactory(), PatientFactory()
    Patient.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    bundle = fhir_get(client, f"{BASE}Patient?_lastUpdated=gt2026-06-01", new).json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [fhir_id("Patient", recent.pk)]
    bundle = fhir_get(client, f"{BASE}Patient?_lastUpdated=lt2026-06-01T00:00:00Z", new).json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [fhir_id("Patient", old.pk)]


@pytest.mark.parametrize("status", AppointmentStatus.values)
def test_status_search_agrees_with_the_resources_mapping(client, status):
    """Every lifecycle status is found under the FHIR status its built resource shows."""
    appointment = AppointmentFactory(status=status)
    fhir_status = build_appointment(appointment)["status"]
    assert status in APPOINTMENT_STATUS_SEARCH[fhir_status]
    bundle = fhir_get(client, f"{BASE}Appointment?status={fhir_status}", api_client()).json()
    assert fhir_id("Appointment", appointment.pk) in [e["resource"]["id"] for e in bundle["entry"]]


def test_paging_follows_next_links_to_the_end(client):
    new = api_client()
    patient = PatientFactory()
    made = _appointments(patient, 5)
    url = f"{BASE}Appointment?patient={fhir_id('Patient', patient.pk)}&_count=2"
    seen, pages = [], 0
    while url:
        bundle = validated(fhir_get(client, url, new).json())
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert links["self"].startswith("http://testserver/fhir/R4/Appointment?")
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
        url = links.get("next", "")
        pages += 1
    assert pages == 3
    assert seen == [fhir_id("Appointment", a.pk) for a in made]


def test_a_huge_count_is_capped(client):
    bundle = fhir_get(client, f"{BASE}Patient?_count=999999999", api_client()).json()
    count = parse_qs(urlsplit(bundle["link"][0]["url"]).query)["_count"]
    assert count == [str(MAX_COUNT)]


# Client lookup, last-used stamp, patient reference, the page, the ids of each type named (a
# batch each: read, and for new rows insert and read back), the audit row.
MAX_SEARCH_QUERIES = 25


def _search_urls(patient: Patient) -> list[str]:
    return [
        f"{BASE}Appointment?patient={fhir_id('Patient', patient.pk)}&_count=50",
        f"{BASE}Patient?_count=50",
    ]


def _queries_of_searches(client, rows: int) -> list[int]:
    new = api_client()
    patient = PatientFactory()
    _appointments(patient, rows)
    PatientFactory.create_batch(rows)
    counts = []
    for url in _search_urls(patient):
        with CaptureQueriesContext(connection) as queries:
            response = fhir_get(client, url, new)
        assert response.status_code == 200
        assert len(response.json()["entry"]) >= rows
        counts.append(len(queries))
    return counts


@pytest.mark.parametrize("rows", [1, 20])
def test_search_query_count_is_bounded(client, django_assert_max_num_queries, rows):
    new = api_client()
    patient = PatientFactory()
    _appointments(patient, rows)
    PatientFactory.create_batch(rows)
    for url in _search_urls(patient):
        with django_assert_max_num_queries(MAX_SEARCH_QUERIES):
            response = fhir_get(client, url, new)
        assert response.status_code == 200
        assert len(response.json()["entry"]) >= rows


def test_search_query_count_does_not_grow_with_the_results(client):
    assert _queries_of_searches(client, 1) == _queries_of_searches(client, 20)


def test_every_call_is_audited_with_the_client_and_the_patients_touched(client):
    new = api_client(name="Clinic EHR")
    one, two = PatientFactory(), PatientFactory()
    fhir_get(client, f"{BASE}Patient/{fhir_id('Patient', one.pk)}", new)
    event = AuditEvent.objects.get(action="fhir.read")
    assert event.actor is None
    assert event.actor_label == f"fhir:{new.client.client_id}"
    assert event.patient_id == one.pk
    assert event.detail["client"] == new.client.client_id
    assert event.detail["client_name"] == "Clinic EHR"
    assert event.detail["status"] == 200
    fhir_get(client, f"{BASE}Patient", new)
    search = AuditEvent.objects.get(action="fhir.search")
    assert search.patient_id is None
    assert search.detail["patient_ids"] == sorted([one.pk, two.pk])
    fhir_get(client, f"{BASE}Patient/nope", new)
    refused = AuditEvent.objects.filter(action="fhir.read").order_by("-id").first()
    assert refused.detail["status"] == 404
    assert refused.detail["patient_ids"] == []


def test_a_staff_session_does_not_make_the_audit_name_the_user(client_as):
    """The audit row names the API client, even when a signed-in browser calls."""
    client = client_as("admin_user")
    new = api_client()
    fhir_get(client, f"{BASE}Patient", new)
    event = AuditEvent.objects.get(action="fhir.search")
    assert event.actor is None
    assert event.actor_label == f"fhir:{new.client.client_id}"
