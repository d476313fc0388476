"""The pages around documents (intake.document_pages): the patient's own uploads on their link,
the staff patient page's "Documents" section, opening a file (audited, no-store, front desk
only the non-clinical kinds, another patient's id 404), staff upload and set aside, the admin."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.link_sessions import ME
from intake.paperwork_models import PatientDocument, documents_storage
from propel.models import AuditEvent
from tests.intake.document_files import (
    EXECUTABLE,
    heic_bytes,
    jpeg_with_gps,
    pdf_bytes,
    stored_document,
    upload,
)
from tests.patient_links import open_session

pytestmark = pytest.mark.django_db


def stored_files() -> set[Path]:
    root = Path(documents_storage().path(""))
    return {p for p in root.rglob("*") if p.is_file()}


def documents_url() -> str:
    return reverse("intake:documents", args=[ME])


def open_url(document) -> str:
    return reverse("intake:staff_document", args=[document.patient_id, document.pk])


def staff_page(patient) -> str:
    return reverse("scheduling:patient", args=[patient.pk])


# --- The patient's page -------------------------------------------------------------------------


def test_the_patient_sees_only_their_own_uploads_and_a_calm_form(client, patient, other_patient):
    stored_document(patient, "referral", source="patient")
    theirs = stored_document(other_patient, "insurance", source="patient")
    theirs.original_name = "someone-elses-card.jpg"
    theirs.save()
    open_session(client, patient)
    page = client.get(documents_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert "<strong>Referral letter</strong>" in body
    assert "someone-elses-card" not in body and "Insurance card</strong>" not in body
    assert "A photo from your phone is fine" in body
    assert 'enctype="multipart/form-data"' in body
    assert 'accept="application/pdf,image/jpeg,image/png,image/heic' in body
    assert "no-store" in page["Cache-Control"]
    # A patient uploads what they have; a signed paper form is staff's to scan.
    assert 'value="photo_id"' in body and 'value="paper_consent"' not in body


def test_a_patient_uploads_a_photo_of_a_letter_and_it_is_stored_without_its_location(
    client, patient
):
    open_session(client, patient)
    response = client.post(
        documents_url(),
        {"kind": "referral", "file": upload("IMG_0001.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert response.status_code == 302
    document = PatientDocument.objects.get(patient=patient)
    assert (document.kind, document.source, document.content_type) == (
        "referral",
        "patient",
        "image/jpeg",
    )
    assert document.uploaded_by is None
    with document.file.open("rb") as stored:
        data = stored.read()
    assert b"Exif" not in data and b"GPS" not in data
    page = client.get(response["Location"])
    assert "Thank you: we have your referral letter." in page.content.decode()
    event = AuditEvent.objects.get(action="document.uploaded")
    assert (event.patient_id, event.actor, event.detail["by"]) == (patient.pk, None, "patient")


def test_a_heic_photo_from_an_iphone_is_stored_as_jpeg(client, patient):
    open_session(client, patient)
    client.post(
        documents_url(),
        {"kind": "photo_id", "file": upload("IMG_0002.HEIC", heic_bytes(), "image/heic")},
    )
    document = PatientDocument.objects.get(patient=patient)
    assert document.content_type == "image/jpeg" and document.file.name.endswith(".jpg")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (EXECUTABLE, "We can only take a PDF or a photo"),
        (pdf_bytes(javascript=True), "This PDF contains active content"),
        (pdf_bytes(password="secret"), "protected by a password"),
    ],
)
def test_a_refused_file_re_shows_the_form_says_why_and_stores_nothing(
    client, patient, data, message
):
    open_session(client, patient)
    before = stored_files()
    response = client.post(documents_url(), {"kind": "records", "file": upload("letter.pdf", data)})
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "please choose it again" in body
    assert 'value="records" selected' in body  # the kind is kept
    assert 'aria-describedby="id_file_error' in body or 'id="id_file_error' in body
    assert not PatientDocument.objects.exists()
    assert stored_files() == before
    assert not AuditEvent.objects.filter(action="document.uploaded").exists()


def test_an_oversized_upload_gets_a_clear_message_not_an_error_page(client, patient, settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    open_session(client, patient)
    before = stored_files()
    data = pdf_bytes() + b"%" * (3 * 1024 * 1024)
    response = client.post(documents_url(), {"kind": "records", "file": upload("big.pdf", data)})
    assert response.status_code == 400
    assert "This file is larger than 1 MB" in response.content.decode()
    assert not PatientDocument.objects.exists()
    assert stored_files() == before


def test_no_file_chosen_says_so(client, patient):
    open_session(client, patient)
    response = client.post(documents_url(), {"kind": "records"})
    assert response.status_code == 400
    assert "Please choose a file." in response.content.decode()


def test_a_double_submit_stores_the_document_once(client, patient):
    open_session(client, patient)
    data = pdf_bytes()
    for _ in range(2):
        response = client.post(
            documents_url(), {"kind": "referral", "file": upload("letter.pdf", data)}
        )
        assert response.status_code == 302
    assert PatientDocument.objects.filter(patient=patient).count() == 1


def test_set_aside_documents_are_not_listed_to_the_patient(client, patient, clinician_user, rf):
    from intake.documents import document_set_aside

    document = stored_document(patient, "referral", source="patient")
    request = rf.post("/")
    request.user = clinician_user
    document_set_aside(document_id=document.pk, reason="wrong patient", request=request)
    open_session(client, patient)
    body = client.get(documents_url()).content.decode()
    assert "<strong>Referral letter</strong>" not in body and "Nothing yet." in body


# --- Staff: the patient page's section, opening a file ------------------------------------------


def test_the_staff_patient_page_lists_every_document_with_open_links_where_allowed(
    client_for, front_desk, clinician_user, patient
):
    referral = stored_document(patient, "referral")
    photo_id = stored_document(patient, "photo_id")
    desk = client_for(front_desk).get(staff_page(patient)).content.decode()
    assert "Referral letter" in desk and "Photo ID" in desk
    assert open_url(photo_id) in desk
    assert open_url(referral) not in desk
    assert "Clinicians only" in desk
    clinician = client_for(clinician_user).get(staff_page(patient)).content.decode()
    assert open_url(referral) in clinician and open_url(photo_id) in clinician


def test_a_clinician_opens_a_document_inline_no_store_sandboxed_and_audited(
    client_for, clinician_user, patient
):
    document = stored_document(patient, "referral")
    response = client_for(clinician_user).get(open_url(document))
    assert response.status_code == 200
    with document.file.open("rb") as stored:
        assert response.content == stored.read()
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Disposition"] == f'inline; filename="referral-{document.pk}.pdf"'
    event = AuditEvent.objects.get(action="document.viewed")
    assert (event.patient_id, event.actor, event.object_id) == (
        patient.pk,
        clinician_user,
        str(document.pk),
    )


def test_front_desk_opens_an_id_but_not_a_clinical_document(client_for, front_desk, patient):
    desk = client_for(front_desk)
    assert desk.get(open_url(stored_document(patient, "photo_id"))).status_code == 200
    for kind in ("referral", "records", "other"):
        refused = desk.get(open_url(stored_document(patient, kind)))
        assert refused.status_code == 403
        assert "only clinicians and the clinic" in refused.content.decode()
    assert AuditEvent.objects.filter(action="document.viewed").count() == 1


def test_another_patients_document_id_answers_404(
    client_for, clinician_user, patient, other_patient
):
    document = stored_document(other_patient, "photo_id")
    url = reverse("intake:staff_document", args=[patient.pk, document.pk])
    assert client_for(clinician_user).get(url).status_code == 404
    assert not AuditEvent.objects.filter(action="document.viewed").exists()


def test_a_patients_link_never_opens_the_staff_view(client, patient):
    document = stored_document(patient, "photo_id")
    open_session(client, patient)
    response = client.get(open_url(document))
    assert response.status_code == 302 and reverse("propel:login") in response["Location"]


def _queries(staff, patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert staff.get(staff_page(patient)).status_code == 200
    return len(queries)


def test_the_staff_patient_page_costs_the_same_with_one_or_ten_documents(
    client_for, clinician_user, patient, django_assert_max_num_queries
):
    staff = client_for(clinician_user)
    stored_document(patient, "referral")
    staff.get(staff_page(patient))  # warm: the session and roles
    one = _queries(staff, patient)
    for kind in ["photo_id", "records", "insurance"] * 3:
        stored_document(patient, kind)
    assert PatientDocument.objects.filter(patient=patient).count() == 10
    with django_assert_max_num_queries(one):
        assert staff.get(staff_page(patient)).status_code == 200


# --- Staff: upload and set aside ----------------------------------------------------------------


def test_front_desk_scans_a_signed_paper_form_onto_the_patient_page(
    client_for, front_desk, patient
):
    response = client_for(front_desk).post(
        reverse("intake:staff_document_upload", args=[patient.pk]),
        {"kind": "paper_consent", "file": upload("scan.pdf", pdf_bytes())},
    )
    assert response.status_code == 302
    assert response["Location"] == staff_page(patient) + "#documents"
    document = PatientDocument.objects.get(patient=patient)
    assert (document.kind, document.source, document.uploaded_by) == (
        "paper_consent",
        "staff",
        front_desk,
    )
    event = AuditEvent.objects.get(action="document.uploaded")
    assert (event.actor, event.detail["by"]) == (front_desk, "staff")


def test_a_staff_upload_refused_shows_why_and_stores_nothing(client_for, front_desk, patient):
    before = stored_files()
    response = client_for(front_desk).post(
        reverse("intake:staff_document_upload", args=[patient.pk]),
        {"kind": "records", "file": upload("notes.pdf", EXECUTABLE)},
    )
    assert response.status_code == 400
    assert "We can only take a PDF or a photo" in response.content.decode()
    assert not PatientDocument.objects.exists()
    assert stored_files() == before


def test_staff_set_a_document_aside_with_a_reason(client_for, front_desk, clinician_user, patient):
    photo_id = stored_document(patient, "photo_id")
    referral = stored_document(patient, "referral")
    desk = client_for(front_desk)
    url = reverse("intake:staff_document_set_aside", args=[patient.pk, referral.pk])
    assert desk.post(url, {"reason": "wrong patient"}).status_code == 403
    response = desk.post(
        reverse("intake:staff_document_set_aside", args=[patient.pk, photo_id.pk]),
        {"reason": "expired ID"},
    )
    assert response.status_code == 302
    photo_id.refresh_from_db()
    assert photo_id.removed_reason == "expired ID" and photo_id.removed_by == front_desk
    page = desk.get(staff_page(patient)).content.decode()
    assert "Set aside" in page and "expired ID" in page
    referral.refresh_from_db()
    assert referral.removed_at is None


def test_the_admin_lists_documents_read_only_without_their_files(admin_user, patient, client_for):
    document = stored_document(patient, "referral")
    model_admin = admin.site._registry[PatientDocument]
    request = SimpleNamespace(user=admin_user)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, document)
    assert not model_admin.has_delete_permission(request, document)
    assert "file" not in model_admin.fields
    page = client_for(admin_user).get(
        reverse("admin:intake_patientdocument_change", args=[document.pk])
    )
    assert page.status_code == 200
    assert document.file.name not in page.content.decode()


def test_the_error_and_refusal_pages_parse_without_errors(client, client_for, front_desk, patient):
    from tests.propel.html_validity import parse_errors, unknown_attributes

    referral = stored_document(patient, "referral")
    stored_document(patient, "photo_id")
    desk = client_for(front_desk)
    pages = [
        desk.get(open_url(referral)),
        desk.get(staff_page(patient)),
        desk.post(
            reverse("intake:staff_document_upload", args=[patient.pk]),
            {"kind": "records", "file": upload("notes.pdf", EXECUTABLE)},
        ),
    ]
    open_session(client, patient)
    pages.append(
        client.post(documents_url(), {"kind": "records", "file": upload("a.pdf", EXECUTABLE)})
    )
    for page in pages:
        document = page.content.decode()
        assert not parse_errors(document), parse_errors(document)
        assert not unknown_attributes(document)


def test_the_patients_page_links_to_their_documents(client, patient):
    open_session(client, patient)
    page = client.get(reverse("scheduling:patient_home", args=[ME]))
    assert documents_url() in page.content.decode()


def test_the_patients_documents_page_costs_the_same_with_one_or_ten_uploads(
    client, patient, django_assert_max_num_queries
):
    stored_document(patient, "referral", source="patient")
    open_session(client, patient)
    client.get(documents_url())  # warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(documents_url()).status_code == 200
    for kind in ["photo_id", "records", "insurance"] * 3:
        stored_document(patient, kind, source="patient")
    with django_assert_max_num_queries(len(queries)):
        page = client.get(documents_url())
    assert page.content.decode().count("list-group-item") == 10
