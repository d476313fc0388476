"""Issue 21, item 2: signing that stands up (intake.consent_forms.consent_sign and the PDF)."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from pypdf import PdfReader

from intake.consent_forms import (
    DOB_TRIES_PER_DAY,
    ConsentRefused,
    drawn_signature_clean,
    drawn_signature_from_data_url,
    typed_name_matches,
)
from intake.paperwork_models import ConsentFormVersion, ConsentSignature
from propel.models import AuditEvent
from scheduling.models import Reminder
from tests.factories import PatientFactory
from tests.intake.consent_helpers import NOW, consent_world, png_bytes, sign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("consent_world")]
_ = consent_world


def pdf_text(signature: ConsentSignature) -> str:
    with signature.pdf.open("rb") as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == signature.pdf_sha256
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_signing_records_version_hash_time_ip_agent_and_a_pdf():
    patient = PatientFactory(first_name="Zoë", last_name="Ñúñez-O'Brien")
    signature = sign(patient, "electronic")
    version = ConsentFormVersion.objects.get(form__kind="electronic", number=1)
    assert signature.version == version
    assert signature.method == "electronic"
    assert signature.signed_at == NOW
    assert (signature.ip, signature.user_agent) == (
        "203.0.113.7",
        "Mozilla/5.0 (iPhone) TestBrowser",
    )
    assert signature.text_sha256 == hashlib.sha256(version.text.encode("utf-8")).hexdigest()
    assert signature.pdf.name.startswith("signed/")
    event = AuditEvent.objects.get(action="consent.signed", patient_id=patient.pk)
    assert event.detail == {"form": "electronic", "version": 1, "method": "electronic"}
    # The signed copy is in the outbox, in the same transaction.
    assert (
        Reminder.objects.filter(patient=patient, kind="signed_copy", channel="email").count() == 1
    )


def test_the_pdf_holds_every_line_of_the_exact_text_and_its_hash():
    patient = PatientFactory(first_name="Zoë", last_name="Ñúñez")
    sign(patient, "electronic")
    signature = sign(patient, "treatment")
    text = pdf_text(signature)
    squashed = squash(text)
    for line in signature.version.text.splitlines():
        assert squash(line) in squashed, line
    printed = re.search(r"\b[0-9a-f]{64}\b", text)
    assert printed is not None
    assert printed.group(0) == hashlib.sha256(signature.version.text.encode()).hexdigest()
    assert printed.group(0) == signature.text_sha256
    for fact in (
        "Propel Clinic",
        "Informed consent for treatment",
        "Version 1",
        "Zoë Ñúñez",
        "1970-01-01",
        "203.0.113.7",
        "TestBrowser",
        "UTC",
        "2027-01-05 10:00:00 PST",
        "2027-01-05 18:00:00 UTC",
    ):
        assert fact in squashed, fact


def test_a_wrong_date_of_birth_is_refused_calmly_and_five_lock_the_day():
    patient = PatientFactory()
    wrong = patient.date_of_birth.replace(year=1971)
    for _try in range(DOB_TRIES_PER_DAY - 1):
        with pytest.raises(ConsentRefused) as refused:
            sign(patient, "electronic", date_of_birth=wrong)
        assert refused.value.field == "date_of_birth"
        assert "does not match" in refused.value.message
    with pytest.raises(ConsentRefused) as locked:
        sign(patient, "electronic", date_of_birth=wrong)
    assert "paused for today" in locked.value.message
    # Locked even with the right date, for the rest of the clinic day; nothing was stored.
    with pytest.raises(ConsentRefused, match="paused for today"):
        sign(patient, "electronic")
    assert not ConsentSignature.objects.filter(patient=patient).exists()
    # The next day it opens again; another patient was never affected.
    assert sign(PatientFactory(), "electronic").pk
    assert sign(patient, "electronic", now=NOW.replace(day=6)).pk


def test_the_typed_name_must_be_the_patients_with_case_space_and_accents_tolerated():
    patient = PatientFactory(first_name="José", last_name="de la Peña")
    assert typed_name_matches("  jose   DE LA pena ", patient)
    assert typed_name_matches("José de la Peña", patient)
    assert not typed_name_matches("Jose Pena", patient)
    assert not typed_name_matches("", patient)
    with pytest.raises(ConsentRefused) as refused:
        sign(patient, "electronic", typed_name="Someone Else")
    assert refused.value.field == "typed_name"
    assert (
        sign(patient, "electronic", typed_name="JOSE de la pena").signed_name == "JOSE de la pena"
    )


def test_agreeing_is_required():
    patient = PatientFactory()
    with pytest.raises(ConsentRefused) as refused:
        sign(patient, "electronic", agreed=False)
    assert refused.value.field == "agreed"


def test_the_electronic_records_consent_comes_before_any_other_form():
    patient = PatientFactory()
    for kind in ("treatment", "financial", "privacy"):
        with pytest.raises(ConsentRefused, match="consent to electronic records first"):
            sign(patient, kind)
    assert not ConsentSignature.objects.filter(patient=patient).exists()
    sign(patient, "electronic")
    assert sign(patient, "treatment").version.form.kind == "treatment"


def test_a_double_submit_signs_once():
    patient = PatientFactory()
    first = sign(patient, "electronic")
    again = sign(patient, "electronic", now=NOW.replace(minute=1))
    assert again.pk == first.pk
    assert ConsentSignature.objects.filter(patient=patient).count() == 1
    assert AuditEvent.objects.filter(action="consent.signed").count() == 1
    assert Reminder.objects.filter(patient=patient, kind="signed_copy").count() == 1


def test_a_drawn_signature_is_checked_re_encoded_bounded_and_in_the_pdf():
    patient = PatientFactory()
    big = png_bytes((2000, 700))
    signature = sign(patient, "electronic", drawn_signature_png=big)
    kept = bytes(signature.drawn_signature)
    assert kept.startswith(b"\x89PNG")
    from PIL import Image

    with Image.open(io.BytesIO(kept)) as image:
        assert image.width <= 1200 and image.height <= 400
    with signature.pdf.open("rb") as handle:
        assert len(PdfReader(handle).pages[-1].images) == 1


@pytest.mark.parametrize(
    "junk",
    [
        b"not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # a PNG header and nothing else
        png_bytes(fmt="JPEG"),  # not a PNG
        png_bytes(fmt="GIF"),
        b"MZ\x90\x00" + b"\x00" * 100,  # an executable
    ],
)
def test_a_junk_drawn_signature_is_refused_and_nothing_is_stored(junk):
    patient = PatientFactory()
    with pytest.raises(ConsentRefused) as refused:
        sign(patient, "electronic", drawn_signature_png=junk)
    assert refused.value.field == "drawn_signature"
    assert not ConsentSignature.objects.exists()


def test_a_drawn_signature_data_url_is_decoded_or_refused():
    data = png_bytes()
    import base64

    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert drawn_signature_from_data_url(url) == data
    assert drawn_signature_from_data_url("  ") is None
    for bad in (
        "data:image/svg+xml;base64,PHN2Zz4=",
        "data:image/png;base64,@@@",
        "javascript:alert(1)",
        "data:image/png;base64," + "A" * 400_000,
    ):
        with pytest.raises(ConsentRefused):
            drawn_signature_from_data_url(bad)
    with pytest.raises(ConsentRefused):
        drawn_signature_clean(b"x" * (300 * 1024))


def test_without_a_unicode_font_the_core_font_keeps_the_text_and_the_hash(monkeypatch):
    from intake import consent_pdf

    assert consent_pdf.latin1_safe("Zoë Łukasz 東") == "Zoë Lukasz ?"
    assert consent_pdf.latin1_safe("\u201ca\u201d \u2013 b\u2019s") == '"a" - b\'s'
    monkeypatch.setattr(consent_pdf, "unicode_font", lambda: None)
    signature = sign(PatientFactory(first_name="Zoë"), "electronic")
    text = squash(pdf_text(signature))
    for line in signature.version.text.splitlines():
        assert squash(line) in text, line
    assert signature.text_sha256 in text and "Zoë" in text
