"""A patient sends a referral letter from a phone-sized screen (issue 21): from their page to
their documents, a refused file first (the kind is kept, the file must be chosen again, said
so), then the letter, listed as received."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.links import patient_link_token
from intake.paperwork_models import PatientDocument
from tests.factories import PatientFactory
from tests.intake.document_files import EXECUTABLE, pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_patient_uploads_a_referral_letter_from_a_phone(phone_page):
    page = phone_page
    patient = PatientFactory()
    page.goto(reverse("scheduling:patient_home", args=[patient_link_token(patient)]))
    page.get_by_role("link", name="Send us a document").click()
    page.get_by_role("heading", name="Your documents").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_label("What is it?").select_option("referral")
    page.get_by_label("File").set_input_files(
        {"name": "letter.pdf", "mimeType": "application/pdf", "buffer": EXECUTABLE}
    )
    page.get_by_role("button", name="Send").click()
    page.get_by_text("We can only take a PDF or a photo").wait_for()
    page.get_by_text("please choose it again").wait_for()
    assert page.get_by_label("What is it?").input_value() == "referral"
    assert not PatientDocument.objects.exists()

    page.get_by_label("File").set_input_files(
        {"name": "letter.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Thank you: we have your referral letter.").wait_for()
    assert page.locator("#uploads").get_by_text("Referral letter").is_visible()
    document = PatientDocument.objects.get(patient=patient)
    assert (document.kind, document.source) == ("referral", "patient")
