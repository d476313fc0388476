"""Issue 21's browser test: on a phone-sized screen a patient with a consultation booked sees what
the clinic still needs, signs the consent to electronic records (with a drawn signature) and the
consent to treatment on their link, and sends a referral letter. Each signed form is kept with
the exact text's hash and a PDF that holds the text; the card on their page then asks for nothing
the patient has done, and axe finds no violation on the pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from intake.consent_defaults import consent_defaults_add
from intake.links import patient_link_token
from intake.paperwork_models import (
    ConsentForm,
    ConsentFormVersion,
    ConsentSignature,
    PatientDocument,
    Requirement,
)
from intake.requirement_defaults import requirement_defaults_add
from scheduling.slots import clinic_tz
from tests.e2e.test_accessibility import violations
from tests.factories import AppointmentFactory, PatientFactory
from tests.intake.document_files import pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 390


def next_weekday_at_ten() -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=7)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10), tzinfo=clinic_tz())


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def sign(page, patient, title: str, *, draw: bool) -> None:
    page.get_by_role("link", name=f"Read and sign {title}").click()
    page.get_by_role("heading", name=title).wait_for()
    assert fits(page)
    page.get_by_label("Your date of birth").fill(patient.date_of_birth.strftime("%m/%d/%Y"))
    page.get_by_label("I have read this form and I agree to it.").check()
    page.get_by_label("Type your full name").fill(f"{patient.first_name} {patient.last_name}")
    if draw:
        canvas = page.locator("canvas.signature-canvas")
        # Mouse events land only inside the viewport: bring the box into view first.
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
        page.mouse.down()
        for step in range(1, 12):
            page.mouse.move(box["x"] + 20 + step * 20, box["y"] + 20 + (step % 3) * 20)
        page.mouse.up()
    page.get_by_role("button", name="Sign", exact=True).click()
    page.get_by_role("heading", name="Your forms").wait_for()


def test_a_patient_signs_two_consents_and_sends_a_referral_from_a_phone(phone_page):
    page = phone_page
    consent_defaults_add(ConsentForm, ConsentFormVersion)
    requirement_defaults_add(ConsentForm, Requirement)
    patient = PatientFactory()
    AppointmentFactory(patient=patient, start=next_weekday_at_ten())
    page.goto(reverse("scheduling:patient_home", args=[patient_link_token(patient)]))

    card = page.locator("#before-your-visit")
    card.get_by_text("Sign: Consent to electronic records and signatures").wait_for()
    assert fits(page)
    card.get_by_role("link", name="Read and sign your forms").click()
    page.get_by_role("heading", name="Your forms").wait_for()
    assert fits(page)
    assert violations(page) == []

    sign(page, patient, "Consent to electronic records and signatures", draw=True)
    sign(page, patient, "Informed consent for treatment", draw=False)
    assert violations(page) == []

    signatures = {
        s.version.form.kind: s
        for s in ConsentSignature.objects.filter(patient=patient).select_related("version__form")
    }
    assert set(signatures) == {"electronic", "treatment"}
    assert signatures["electronic"].drawn_signature
    assert not signatures["treatment"].drawn_signature
    for signature in signatures.values():
        text = signature.version.text
        assert signature.text_sha256 == hashlib.sha256(text.encode()).hexdigest()
        with signature.pdf.open("rb") as handle:
            pdf = handle.read()
        assert signature.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
        printed = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert signature.text_sha256 in printed.replace("\n", "")

    page.goto(reverse("intake:documents", args=["me"]))
    page.get_by_role("heading", name="Your documents").wait_for()
    assert fits(page)
    page.get_by_label("What is it?").select_option("referral")
    page.get_by_label("File").set_input_files(
        {"name": "letter.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Thank you: we have your referral letter.").wait_for()
    assert violations(page) == []
    document = PatientDocument.objects.get(patient=patient)
    assert (document.kind, document.source) == ("referral", "patient")

    page.goto(reverse("scheduling:patient_home", args=["me"]))
    card = page.locator("#before-your-visit")
    card.get_by_text("Sign: Financial policy").wait_for()
    assert card.get_by_text("Sign: Consent to electronic records and signatures").count() == 0
    assert card.get_by_text("Sign: Informed consent for treatment").count() == 0
