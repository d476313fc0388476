"""intake.documents: what an upload must be (decided from its content), how it is cleaned, how
it is stored (one transaction, audited, once per double submit) and set aside."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
import time_machine
from django.core.files.storage import storages
from PIL import Image

import intake.documents as documents
from intake.documents import (
    DocumentRefused,
    document_check,
    document_may_open,
    document_set_aside,
    document_store,
    safe_original_name,
)
from intake.paperwork_models import DocumentKind, PatientDocument, documents_storage
from propel.models import AuditEvent
from tests.intake.document_files import (
    EXECUTABLE,
    GPS_IFD,
    heic_bytes,
    jpeg_with_gps,
    pdf_bytes,
    pdf_with_attachment,
    pdf_with_launch_action,
    png_bytes,
    stored_document,
    upload,
)

NOW = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)


def stored_files() -> list[Path]:
    root = Path(documents_storage().path(""))
    return [p for p in root.rglob("*") if p.is_file()]


def refusal(name: str, data: bytes) -> str:
    with pytest.raises(DocumentRefused) as refused:
        document_check(upload(name, data))
    return refused.value.message


# --- What is accepted, from the content --------------------------------------------------------


def test_a_renamed_executable_is_refused_whatever_its_name_and_claimed_type():
    assert "only take a PDF or a photo" in refusal("letter.pdf", EXECUTABLE)
    assert "only take a PDF or a photo" in refusal("photo.jpg", EXECUTABLE)
    assert "only take a PDF or a photo" in refusal("notes.png", b"just some text\n" * 10)


def test_a_real_png_named_pdf_is_accepted_as_a_png():
    clean = document_check(upload("scan.pdf", png_bytes()))
    assert (clean.content_type, clean.extension) == ("image/png", ".png")
    assert Image.open(io.BytesIO(clean.data)).format == "PNG"
    assert clean.original_name == "scan.pdf"


def test_a_plain_pdf_is_kept_as_sent():
    data = pdf_bytes()
    clean = document_check(upload("letter.pdf", data))
    assert (clean.content_type, clean.extension, clean.data) == ("application/pdf", ".pdf", data)


def test_a_file_over_the_limit_is_refused(settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    data = pdf_bytes() + b"%" * (1024 * 1024)
    assert "larger than 1 MB" in refusal("letter.pdf", data)


def test_an_empty_file_is_refused():
    assert "empty" in refusal("letter.pdf", b"")


def test_a_pdf_with_javascript_is_refused():
    message = refusal("letter.pdf", pdf_bytes(javascript=True))
    assert message == (
        "This PDF contains active content; please print it to PDF again or send a scan."
    )


def test_a_pdf_that_launches_a_program_or_carries_a_file_is_refused():
    assert "active content" in refusal("letter.pdf", pdf_with_launch_action())
    assert "active content" in refusal("letter.pdf", pdf_with_attachment())


def test_an_encrypted_pdf_is_refused():
    assert "password" in refusal("letter.pdf", pdf_bytes(password="secret"))
    assert "password" in refusal("letter.pdf", pdf_bytes(password=""))


def test_a_broken_pdf_is_refused_calmly():
    assert "could not open this PDF" in refusal("letter.pdf", b"%PDF-1.7\n" + b"\x00" * 400)


def test_a_photo_loses_its_exif_location_and_is_turned_upright():
    original = Image.open(io.BytesIO(jpeg_with_gps()))
    assert original.getexif().get_ifd(GPS_IFD), "the test photo carries a location"
    clean = document_check(upload("IMG_0001.jpg", jpeg_with_gps(), "image/jpeg"))
    assert (clean.content_type, clean.extension) == ("image/jpeg", ".jpg")
    cleaned = Image.open(io.BytesIO(clean.data))
    assert dict(cleaned.getexif()) == {}
    assert not cleaned.getexif().get_ifd(GPS_IFD)
    assert b"Exif" not in clean.data and b"GPS" not in clean.data
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile"} & set(cleaned.info)
    # Orientation 6 (rotate 90°) applied to the pixels before the tag went.
    assert cleaned.size == (30, 40)


def test_a_pngs_text_chunks_are_dropped():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "taken at 1010 Hurley Way")
    out = io.BytesIO()
    Image.new("RGB", (5, 5)).save(out, "PNG", pnginfo=info)
    clean = document_check(upload("scan.png", out.getvalue(), "image/png"))
    assert b"Hurley" not in clean.data
    assert Image.open(io.BytesIO(clean.data)).info == {}


def test_heic_is_accepted_and_stored_as_jpeg():
    clean = document_check(upload("IMG_0002.HEIC", heic_bytes(), "image/heic"))
    assert (clean.content_type, clean.extension) == ("image/jpeg", ".jpg")
    assert Image.open(io.BytesIO(clean.data)).format == "JPEG"


def test_a_picture_with_too_many_pixels_is_refused(monkeypatch):
    monkeypatch.setattr(documents, "MAX_PIXELS", 100)
    assert "too large for us to open" in refusal("big.png", png_bytes((20, 20)))


def test_a_truncated_picture_is_refused():
    assert "could not open this picture" in refusal("half.png", png_bytes((200, 200))[:120])


def test_the_original_name_is_kept_as_plain_text_only():
    assert safe_original_name("../../etc/passwd") == "passwd"
    assert safe_original_name("C:\\Users\\me\\letter.pdf") == "letter.pdf"
    assert safe_original_name("a\x00b\nc.pdf") == "abc.pdf"
    assert safe_original_name("") == "document"
    assert len(safe_original_name("x" * 400 + ".pdf")) == 150
    assert safe_original_name("x" * 400 + ".pdf").endswith(".pdf")


# --- Storing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stored_document_has_a_random_name_its_sha256_and_an_audit_event(patient, rf):
    clean = document_check(upload("My oncology letter.pdf", pdf_bytes()))
    document = document_store(
        clean=clean, kind=DocumentKind.REFERRAL, source="patient", patient_id=patient.pk, now=NOW
    )
    assert "oncology" not in document.file.name
    assert document.file.name.startswith("uploads/") and document.file.name.endswith(".pdf")
    with document.file.open("rb") as stored:
        data = stored.read()
    assert data == clean.data
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert Path(document.file.path).stat().st_mode & 0o777 == 0o600
    assert (document.size, document.original_name) == (len(data), "My oncology letter.pdf")
    event = AuditEvent.objects.get(action="document.uploaded")
    assert event.patient_id == patient.pk
    assert event.object_id == str(document.pk)
    assert event.detail["kind"] == "referral" and event.detail["by"] == "patient"
    assert "oncology" not in str(event.detail)


@pytest.mark.django_db
def test_the_documents_store_is_the_test_sessions_folder_not_var():
    root = Path(storages["documents"].path(""))
    assert "var" not in root.parts
    assert Path(documents_storage().path("")) == root


@pytest.mark.django_db
def test_a_double_submit_within_a_minute_stores_once(patient):
    clean = document_check(upload("letter.pdf", pdf_bytes()))
    first = document_store(
        clean=clean, kind="referral", source="patient", patient_id=patient.pk, now=NOW
    )
    files = stored_files()
    again = document_store(
        clean=clean,
        kind="referral",
        source="patient",
        patient_id=patient.pk,
        now=NOW + dt.timedelta(seconds=30),
    )
    assert again.pk == first.pk
    assert stored_files() == files
    assert AuditEvent.objects.filter(action="document.uploaded").count() == 1
    later = document_store(
        clean=clean,
        kind="referral",
        source="patient",
        patient_id=patient.pk,
        now=NOW + dt.timedelta(minutes=2),
    )
    assert later.pk != first.pk


@pytest.mark.django_db
def test_if_the_row_fails_the_file_is_deleted(patient, monkeypatch):
    before = stored_files()

    def broken(**kwargs):
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr(documents, "audit_record", broken)
    clean = document_check(upload("letter.pdf", pdf_bytes()))
    with pytest.raises(RuntimeError):
        document_store(clean=clean, kind="referral", source="patient", patient_id=patient.pk)
    assert not PatientDocument.objects.exists()
    assert stored_files() == before


@pytest.mark.django_db
def test_kinds_are_checked(patient):
    clean = document_check(upload("letter.pdf", pdf_bytes()))
    with pytest.raises(ValueError, match="unknown document kind"):
        document_store(clean=clean, kind="tax_return", source="staff", patient_id=patient.pk)
    with pytest.raises(ValueError, match="does not upload"):
        document_store(clean=clean, kind="paper_consent", source="patient", patient_id=patient.pk)
    with pytest.raises(ValueError):
        document_store(clean=clean, kind="referral", source="staff")
    assert not PatientDocument.objects.exists()


@pytest.mark.django_db
def test_set_aside_keeps_the_file_records_why_and_is_audited(patient, clinician_user, rf):
    document = stored_document(patient, "referral")
    request = rf.post("/")
    request.user = clinician_user
    with time_machine.travel(NOW, tick=False):
        document_set_aside(document_id=document.pk, reason=" wrong patient ", request=request)
        again = document_set_aside(document_id=document.pk, reason="again", request=request)
    document.refresh_from_db()
    assert (document.removed_at, document.removed_by, document.removed_reason) == (
        NOW,
        clinician_user,
        "wrong patient",
    )
    assert again.removed_reason == "wrong patient"
    assert document.file.storage.exists(document.file.name)
    events = AuditEvent.objects.filter(action="document.set_aside")
    assert [e.detail["reason"] for e in events] == ["wrong patient"]
    with pytest.raises(ValueError):
        document_set_aside(document_id=document.pk, reason="  ", request=request)


@pytest.mark.django_db
def test_set_aside_refuses_another_patients_document(patient, other_patient, clinician_user, rf):
    document = stored_document(patient, "referral")
    request = rf.post("/")
    request.user = clinician_user
    with pytest.raises(PatientDocument.DoesNotExist):
        document_set_aside(
            document_id=document.pk, patient_id=other_patient.pk, reason="x", request=request
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "desk_opens", "clinician_opens", "admin_opens"),
    [
        ("referral", False, True, True),
        ("records", False, True, True),
        ("other", False, True, True),
        ("photo_id", True, True, True),
        ("insurance", True, True, True),
        ("paper_consent", True, True, True),
    ],
)
def test_who_may_open_which_kind(personas, kind, desk_opens, clinician_opens, admin_opens):
    assert document_may_open(personas["front desk"], kind) is desk_opens
    assert document_may_open(personas["clinician"], kind) is clinician_opens
    assert document_may_open(personas["admin"], kind) is admin_opens
    assert document_may_open(personas["no role"], kind) is False


@pytest.mark.django_db
def test_a_referring_offices_letter_is_stored_under_the_referral(rf):
    from intake.paperwork_models import Referral

    referral = Referral.objects.create(
        referrer_name="Dr. Fake Example",
        referrer_practice="Example Oncology (fake)",
        referrer_phone="+19165550142",
        referrer_email="office@example.test",
        patient_first_name="Testy",
        patient_last_name="McFakeface",
        patient_phone="+19165550100",
        reason="[fake] referral for evaluation",
        received_at=NOW,
    )
    clean = document_check(upload("letter.pdf", pdf_bytes()))
    document = document_store(
        clean=clean, kind="referral", source="referral", referral_id=referral.pk, now=NOW
    )
    assert (document.referral_id, document.patient_id, document.source) == (
        referral.pk,
        None,
        "referral",
    )
    event = AuditEvent.objects.get(action="document.uploaded")
    assert event.patient_id is None and event.detail["referral_id"] == referral.pk
    again = document_store(
        clean=clean, kind="referral", source="referral", referral_id=referral.pk, now=NOW
    )
    assert again.pk == document.pk
