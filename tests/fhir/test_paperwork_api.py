"""Consent, DocumentReference and Binary on the FHIR API (scheduling.fhir.kinds_paperwork)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake.consent_defaults import consent_defaults_add
from intake.consent_forms import consent_paper_record, consent_version_publish
from intake.documents import document_set_aside
from intake.models import Patient
from intake.paperwork_models import (
    ConsentForm,
    ConsentFormVersion,
    ConsentSignature,
    PatientDocument,
)
from propel.models import AuditEvent
from scheduling.fhir import codes
from scheduling.fhir.access import scope_for
from scheduling.fhir.ids import fhir_id
from scheduling.fhir.kinds_paperwork import BINARY, CONSENT, DOCUMENT_REFERENCE
from scheduling.fhir.paperwork_resources import BINARY_KEYS, DOCUMENT_REFERENCE_KEYS
from scheduling.fhir.resources import clinic_organization_id
from scheduling.slots import clinic_tz
from tests.factories import PatientFactory, UserFactory
from tests.fhir.support import api_client, fhir_get, outcome, validated
from tests.intake.consent_helpers import NOW, sign
from tests.intake.document_files import stored_document
from tests.intake.requirement_factories import ConsentSignatureFactory

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4/"
FHIR_JSON = {"HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture
def forms(db) -> None:
    """The clinic's four forms with version 1. Files go to the test session's documents store
    (tests/conftest.py), read back through the same store."""
    consent_defaults_add(ConsentForm, ConsentFormVersion)


@pytest.fixture
def at_now(forms):
    with time_machine.travel(NOW, tick=False):
        yield


def _consent_id(signature: ConsentSignature) -> str:
    return fhir_id("Consent", signature.pk)


def _pdf_reference_id(signature: ConsentSignature) -> str:
    return fhir_id(DOCUMENT_REFERENCE_KEYS["signed_form"], signature.pk)


def _document_reference_id(document: PatientDocument) -> str:
    return fhir_id(DOCUMENT_REFERENCE_KEYS["document"], document.pk)


def _read(client, resource_type: str, value: str, new) -> dict:
    response = fhir_get(client, f"{BASE}{resource_type}/{value}", new, **FHIR_JSON)
    assert response.status_code == 200, response.content[:500]
    return validated(response.json())


def _codings(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def _found(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def _paper_signature(patient: Patient, kind: str = "financial") -> ConsentSignature:
    scan = stored_document(patient, "paper_consent")
    return consent_paper_record(
        patient_id=patient.pk,
        form_kind=kind,
        signed_on=NOW.date(),
        signed_name="",
        paper_document_id=scan.pk,
        recorded_by=UserFactory(front_desk=True),
    )


# --- Consent -----------------------------------------------------------------------------------


def test_a_signature_is_an_active_consent_sourced_from_its_signed_pdf(client, at_now):
    new = api_client()
    patient = PatientFactory()
    signature = sign(patient, "electronic")
    consent = _read(client, "Consent", _consent_id(signature), new)
    assert consent["status"] == "active"
    assert _codings(consent["scope"]) == {(codes.CONSENT_SCOPE, "patient-privacy")}
    categories = {c for concept in consent["category"] for c in _codings(concept)}
    assert (codes.LOINC, "59284-0") in categories
    assert (codes.CONSENT_FORM_SYSTEM, "electronic") in categories
    patient_ref = {"reference": f"Patient/{fhir_id('Patient', patient.pk)}"}
    assert consent["patient"] == patient_ref
    assert consent["performer"] == [patient_ref]
    assert consent["provision"]["type"] == "permit"
    assert consent["policy"][0]["uri"].endswith("/electronic/v1")
    assert consent["dateTime"].startswith("2027-01-05T18:00:00")
    assert consent["sourceReference"]["reference"] == (
        f"DocumentReference/{_pdf_reference_id(signature)}"
    )
    pdf = _read(client, "DocumentReference", _pdf_reference_id(signature), new)
    assert pdf["status"] == "current"
    assert pdf["context"]["related"] == [{"reference": f"Consent/{_consent_id(signature)}"}]
    attachment = pdf["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    binary_id = fhir_id(BINARY_KEYS["signed_form"], signature.pk)
    assert attachment["url"].endswith(f"/fhir/R4/Binary/{binary_id}")
    assert attachment["extension"][0]["valueString"] == signature.pdf_sha256


@pytest.mark.parametrize(
    ("kind", "scope"),
    [("treatment", "treatment"), ("financial", "treatment"), ("privacy", "patient-privacy")],
)
def test_each_form_has_its_scope_and_the_privacy_notice_its_npp_category(
    client, at_now, kind, scope
):
    patient = PatientFactory()
    sign(patient, "electronic")
    consent = _read(client, "Consent", _consent_id(sign(patient, kind)), api_client())
    assert _codings(consent["scope"]) == {(codes.CONSENT_SCOPE, scope)}
    categories = {c for concept in consent["category"] for c in _codings(concept)}
    assert ((codes.CONSENT_CATEGORY, "npp") in categories) == (kind == "privacy")


def test_a_paper_signature_points_at_the_scan(client, at_now):
    new = api_client()
    signature = _paper_signature(PatientFactory())
    consent = _read(client, "Consent", _consent_id(signature), new)
    scan = PatientDocument.objects.get(pk=signature.paper_document_id)
    assert consent["sourceReference"]["reference"] == (
        f"DocumentReference/{_document_reference_id(scan)}"
    )
    methods = [e["valueCode"] for e in consent["extension"] if e["url"].endswith("method")]
    assert methods == ["paper"]
    reference = _read(client, "DocumentReference", _document_reference_id(scan), new)
    assert (codes.LOINC, "59284-0") in _codings(reference["type"])


def test_a_paper_form_recorded_weeks_after_its_signing_is_seen_by_an_incremental_read(
    client, at_now
):
    """Consent.dateTime is the date on the form; _lastUpdated (and so the bulk export's _since)
    reads when staff recorded it, so an EHR polling since last week does not miss it."""
    new = api_client()
    patient = PatientFactory()
    scan = stored_document(patient, "paper_consent")
    signature = consent_paper_record(
        patient_id=patient.pk,
        form_kind="financial",
        signed_on=NOW.date() - dt.timedelta(days=30),
        signed_name="",
        paper_document_id=scan.pk,
        recorded_by=UserFactory(front_desk=True),
    )
    assert signature.recorded_at == NOW > signature.signed_at
    consent = _read(client, "Consent", _consent_id(signature), new)
    assert consent["dateTime"].startswith(str(NOW.date() - dt.timedelta(days=30)))
    assert consent["meta"]["lastUpdated"].startswith(str(NOW.date()))
    week_ago = (NOW - dt.timedelta(days=7)).date()
    bundle = fhir_get(client, f"{BASE}Consent?_lastUpdated=gt{week_ago}", new).json()
    assert _found(bundle) == [_consent_id(signature)]
    batches = CONSENT.export(since=NOW - dt.timedelta(days=7))
    assert [r["id"] for found in batches for r in found.resources] == [_consent_id(signature)]


def test_a_signature_superseded_by_a_version_asking_to_sign_again_is_inactive(client, forms):
    new = api_client()
    patient = PatientFactory()
    with time_machine.travel(NOW, tick=False):
        signature = sign(patient, "electronic")
        form = ConsentForm.objects.get(kind="electronic")
        # A typo fix keeps the signature; a material change from Jan 7 does not.
        consent_version_publish(
            form_id=form.pk, text="typo fixed", effective_date=NOW.date(), resign_required=False
        )
        consent_version_publish(
            form_id=form.pk,
            text="material change",
            effective_date=dt.date(2027, 1, 7),
            resign_required=True,
        )
        assert _read(client, "Consent", _consent_id(signature), new)["status"] == "active"
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        consent = _read(client, "Consent", _consent_id(signature), new)
        assert consent["status"] == "inactive"
        took_effect = dt.datetime(2027, 1, 7, tzinfo=clinic_tz())
        assert dt.datetime.fromisoformat(consent["meta"]["lastUpdated"]) == took_effect
        # The status change is a change: an incremental reader finds it.
        bundle = fhir_get(client, f"{BASE}Consent?_lastUpdated=ge2027-01-07", new).json()
        assert _found(bundle) == [_consent_id(signature)]
        exported = [r for found in CONSENT.export(since=took_effect) for r in found.resources]
        assert [r["status"] for r in exported] == ["inactive"]
        bundle = fhir_get(client, f"{BASE}Consent?status=inactive", new).json()
        assert _found(bundle) == [_consent_id(signature)]
        assert _found(fhir_get(client, f"{BASE}Consent?status=active", new).json()) == []
        # The PDF of what was signed stays a current document.
        pdf = _read(client, "DocumentReference", _pdf_reference_id(signature), new)
        assert pdf["status"] == "current"


def test_consent_search_by_patient_and_date(client, at_now):
    new = api_client()
    one, other = PatientFactory(), PatientFactory()
    mine = sign(one, "electronic")
    sign(other, "electronic")
    pid = fhir_id("Patient", one.pk)
    bundle = validated(fhir_get(client, f"{BASE}Consent?patient={pid}", new).json())
    assert _found(bundle) == [_consent_id(mine)]
    assert _found(fhir_get(client, f"{BASE}Consent?patient={pid}&date=2027-01-05", new).json())
    assert not _found(fhir_get(client, f"{BASE}Consent?date=lt2027-01-05", new).json())
    outcome(fhir_get(client, f"{BASE}Consent?status=signed", new), 400, "invalid")


# --- DocumentReference -------------------------------------------------------------------------


def test_an_upload_is_a_current_document_reference_with_its_type_and_file(client, at_now):
    new = api_client()
    patient = PatientFactory()
    document = stored_document(patient, "referral")
    reference = _read(client, "DocumentReference", _document_reference_id(document), new)
    assert reference["status"] == "current"
    assert _codings(reference["type"]) == {
        (codes.LOINC, "57133-1"),
        (codes.DOCUMENT_KIND_SYSTEM, "referral"),
    }
    assert reference["subject"] == {"reference": f"Patient/{fhir_id('Patient', patient.pk)}"}
    attachment = reference["content"][0]["attachment"]
    assert attachment["size"] == document.size
    assert attachment["contentType"] == "application/pdf"
    assert attachment["extension"][0]["valueString"] == document.sha256
    assert attachment["url"].endswith(f"/Binary/{fhir_id(BINARY_KEYS['document'], document.pk)}")
    photo = stored_document(patient, "photo_id")
    reference = _read(client, "DocumentReference", _document_reference_id(photo), new)
    assert _codings(reference["type"]) == {(codes.DOCUMENT_KIND_SYSTEM, "photo_id")}


def test_a_document_set_aside_is_entered_in_error_with_its_reason(client, at_now, rf):
    new = api_client()
    patient = PatientFactory()
    kept = stored_document(patient, "records")
    wrong = stored_document(patient, "records")
    request = rf.post("/")
    request.user = UserFactory(clinician=True)
    document_set_aside(document_id=wrong.pk, reason="another patient's letter", request=request)
    reference = _read(client, "DocumentReference", _document_reference_id(wrong), new)
    assert reference["status"] == "entered-in-error"
    assert reference["extension"][0]["valueString"] == "another patient's letter"
    pid = fhir_id("Patient", patient.pk)
    url = f"{BASE}DocumentReference?patient={pid}&status="
    assert _found(fhir_get(client, url + "entered-in-error", new).json()) == [
        _document_reference_id(wrong)
    ]
    assert _found(fhir_get(client, url + "current", new).json()) == [_document_reference_id(kept)]


def test_document_reference_search_by_type_spans_uploads_and_signed_forms(client, at_now):
    new = api_client()
    patient = PatientFactory()
    signature = sign(patient, "electronic")
    referral = stored_document(patient, "referral")
    stored_document(patient, "insurance")
    pid = fhir_id("Patient", patient.pk)
    url = f"{BASE}DocumentReference?patient={pid}"
    assert len(_found(validated(fhir_get(client, url, new).json()))) == 3
    by_type = fhir_get(client, f"{url}&type=http://loinc.org|57133-1", new).json()
    assert _found(by_type) == [_document_reference_id(referral)]
    consents = fhir_get(client, f"{url}&type=59284-0", new).json()
    assert _found(consents) == [_pdf_reference_id(signature)]
    kinds = fhir_get(client, f"{url}&type={codes.DOCUMENT_KIND_SYSTEM}|insurance", new).json()
    assert len(_found(kinds)) == 1
    assert _found(fhir_get(client, f"{url}&date=lt2027-01-01", new).json()) == []
    outcome(fhir_get(client, f"{url}&status=final", new), 400, "invalid")


# --- Binary ------------------------------------------------------------------------------------


def test_binary_serves_the_stored_bytes_audited_and_never_cached(client, at_now):
    new = api_client()
    patient = PatientFactory()
    document = stored_document(patient, "referral")
    binary_id = fhir_id(BINARY_KEYS["document"], document.pk)
    response = fhir_get(client, f"{BASE}Binary/{binary_id}", new)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store, private"
    assert hashlib.sha256(response.content).hexdigest() == document.sha256
    with document.file.open("rb") as stored:
        assert response.content == stored.read()
    event = AuditEvent.objects.filter(action="fhir.read").latest("id")
    assert event.patient_id == patient.pk
    assert event.detail["client"] == new.client.client_id
    assert event.detail["status"] == 200


def test_the_signed_pdf_binary_matches_its_sha256(client, at_now):
    signature = sign(PatientFactory(), "electronic")
    binary_id = fhir_id(BINARY_KEYS["signed_form"], signature.pk)
    response = fhir_get(client, f"{BASE}Binary/{binary_id}", api_client(), HTTP_ACCEPT="*/*")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert hashlib.sha256(response.content).hexdigest() == signature.pdf_sha256


def test_binary_as_a_fhir_resource_when_asked(client, at_now):
    new = api_client()
    patient = PatientFactory()
    document = stored_document(patient, "photo_id")
    binary_id = fhir_id(BINARY_KEYS["document"], document.pk)
    response = fhir_get(client, f"{BASE}Binary/{binary_id}", new, **FHIR_JSON)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response["Cache-Control"] == "no-store, private"
    body = validated(response.json())
    assert body["resourceType"] == "Binary"
    assert body["contentType"] == "application/pdf"
    assert hashlib.sha256(base64.b64decode(body["data"])).hexdigest() == document.sha256
    assert body["securityContext"] == {
        "reference": f"DocumentReference/{_document_reference_id(document)}"
    }
    same = fhir_get(client, f"{BASE}Binary/{binary_id}?_format=json", new).json()
    assert same["data"] == body["data"]
    event = AuditEvent.objects.filter(action="fhir.read").latest("id")
    assert event.patient_id == patient.pk


def test_binary_is_read_only_and_refuses_what_it_cannot_serve(client, at_now):
    new = api_client()
    document = stored_document(PatientFactory(), "photo_id")
    url = f"{BASE}Binary/{fhir_id(BINARY_KEYS['document'], document.pk)}"
    outcome(fhir_get(client, f"{BASE}Binary", new), 405, "not-supported")
    outcome(fhir_get(client, url, new, HTTP_ACCEPT="image/png"), 406, "not-supported")
    assert fhir_get(client, url, new, HTTP_ACCEPT="application/*").status_code == 200
    outcome(client.post(url, HTTP_AUTHORIZATION=""), 405, "not-supported")
    assert list(BINARY.export()) == []
    assert not BINARY.in_patient_compartment


def test_a_client_without_the_scope_is_refused(client, at_now):
    patient = PatientFactory()
    signature = sign(patient, "electronic")
    document = stored_document(patient, "referral")
    binary = f"{BASE}Binary/{fhir_id(BINARY_KEYS['document'], document.pk)}"
    documents_only = api_client([scope_for("DocumentReference")], name="Documents only")
    assert fhir_get(client, f"{BASE}DocumentReference", documents_only).status_code == 200
    outcome(fhir_get(client, binary, documents_only), 403, "forbidden")
    outcome(fhir_get(client, binary, documents_only, **FHIR_JSON), 403, "forbidden")
    outcome(
        fhir_get(client, f"{BASE}Consent/{_consent_id(signature)}", documents_only),
        403,
        "forbidden",
    )
    patients_only = api_client([scope_for("Patient")], name="Patients only")
    outcome(fhir_get(client, f"{BASE}DocumentReference", patients_only), 403, "forbidden")
    refused = AuditEvent.objects.filter(action="fhir.read", detail__status=403)
    assert refused.count() == 3
    assert all(event.detail["patient_ids"] == [] for event in refused)
    outcome(fhir_get(client, binary, None), 401, "login")


def test_unknown_ids_are_not_found(client, at_now):
    new = api_client()
    signature = sign(PatientFactory(), "electronic")
    for resource_type in ("Consent", "DocumentReference"):
        outcome(fhir_get(client, f"{BASE}{resource_type}/nope", new), 404, "not-found")
    outcome(fhir_get(client, f"{BASE}Binary/nope", new), 404, "not-found")
    outcome(fhir_get(client, f"{BASE}Binary/nope", new, **FHIR_JSON), 404, "not-found")
    # A Consent id is not a Binary id, nor the database id.
    outcome(fhir_get(client, f"{BASE}Binary/{_consent_id(signature)}", new), 404, "not-found")
    outcome(fhir_get(client, f"{BASE}Consent/{signature.pk}", new), 404, "not-found")


def test_a_store_that_cannot_be_read_is_an_operation_outcome(client, at_now):
    document = stored_document(PatientFactory(), "photo_id")
    document.file.storage.delete(document.file.name)
    url = f"{BASE}Binary/{fhir_id(BINARY_KEYS['document'], document.pk)}"
    outcome(fhir_get(client, url, api_client()), 503, "transient")
    outcome(fhir_get(client, url, api_client(), **FHIR_JSON), 503, "transient")


# --- Export, metadata, query counts ------------------------------------------------------------


def test_patient_level_export_has_the_patients_paperwork_only(at_now):
    one, other = PatientFactory(), PatientFactory()
    sign(one, "electronic")
    stored_document(one, "referral")
    sign(other, "electronic")
    consents = [r for found in CONSENT.export(patient_pks=[one.pk]) for r in found.resources]
    assert len(consents) == 1
    documents = [
        r for found in DOCUMENT_REFERENCE.export(patient_pks=[one.pk]) for r in found.resources
    ]
    assert len(documents) == 2
    assert all(
        validated(r)["subject"]["reference"].endswith(fhir_id("Patient", one.pk)) for r in documents
    )


def test_metadata_lists_the_paperwork_types(client):
    statement = client.get(BASE + "metadata").json()
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert [i["code"] for i in served["Binary"]["interaction"]] == ["read"]
    assert served["Binary"].get("searchParam", []) == []
    for resource_type in ("Consent", "DocumentReference"):
        names = {p["name"] for p in served[resource_type]["searchParam"]}
        assert names == {"patient", "date", "status", "_lastUpdated"} | (
            {"type"} if resource_type == "DocumentReference" else set()
        )


def _search_counts(client, rows: int) -> list[int]:
    clinic_organization_id()  # the clinic's one id, made once for the whole database
    new = api_client()
    patient = PatientFactory()
    version = ConsentFormVersion.objects.get(form__kind="electronic")
    # Rows only (no PDF is written: the builders never open the files).
    ConsentSignatureFactory(patient=patient, version=version)
    for _ in range(rows):
        stored_document(patient, "records")
        ConsentSignatureFactory(version=version)
    counts = []
    for url in (f"{BASE}Consent?_count=50", f"{BASE}DocumentReference?_count=50"):
        with CaptureQueriesContext(connection) as queries:
            response = fhir_get(client, url, new)
        assert response.status_code == 200
        assert len(response.json()["entry"]) > rows
        counts.append(len(queries))
    return counts


def test_search_query_counts_do_not_grow_with_the_results(client, at_now):
    assert _search_counts(client, 1) == _search_counts(client, 20)
