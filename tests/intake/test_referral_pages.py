"""The referral pages: the public form end to end (the row, the letter, the confirmation after the
sweep), bad input kept, the honeypot, the rate limit, double submits; the front desk's queue and a
referral's page per role (the reason and the letter for clinicians only), audited reads, status
changes, linking and creating the patient (the letter moves to the patient), constant queries."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from fpdf import FPDF
from hypothesis import given
from PIL import Image

from intake.documents import CleanDocument, document_store
from intake.models import Patient
from intake.paperwork_models import DocumentKind, PatientDocument, Referral
from intake.referrals import referral_confirmations_send
from propel.models import AuditEvent
from tests.factories import PatientFactory, ReferralFactory
from tests.hostile import HOSTILE, assert_escaped, assert_no_500, hostile_data
from tests.personas import verified_client
from tests.propel.html_validity import parse_errors

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 18, 30, tzinfo=dt.UTC)
FORM = {
    "referrer_name": "Dr. Ada Example",
    "referrer_practice": "Example Oncology Group",
    "referrer_phone": "(916) 555-0100",
    "referrer_email": "frontdesk@oncology.example",
    "patient_first_name": "Quinn",
    "patient_last_name": "Zebulon",
    "patient_date_of_birth": "08/23/1971",
    "patient_phone": "(916) 555-0177",
    "patient_email": "",
    "reason": "Chronic cancer pain, opioids insufficient (fake example).",
    "permission": "on",
    "form_key": "a" * 32,
}


def pdf_bytes() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Referral letter (fake)")
    return bytes(pdf.output())


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def pdf_upload(name: str = "letter.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents"), "base_url": None},
        },
    }


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def send(client: Client, **changes) -> object:
    data = {**FORM, **changes}
    return client.post(reverse("intake:referral"), {k: v for k, v in data.items() if v is not None})


def referral_with_letter(**fields) -> Referral:
    referral = ReferralFactory(**fields)
    document_store(
        clean=CleanDocument(pdf_bytes(), "application/pdf", "pdf", "scan-from-dr-example.pdf"),
        kind=DocumentKind.REFERRAL,
        source="referral",
        referral_id=referral.pk,
    )
    return referral


# --- The public form -----------------------------------------------------------------------------


def test_the_form_is_public_private_and_ready_for_a_phone(client):
    response = client.get(reverse("intake:referral"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html and "csrfmiddlewaretoken" in html
    assert "propel-honeypot" in html and 'name="viewport"' in html
    assert "no-store" in response["Cache-Control"]
    assert 'name="form_key"' in html and 'name="permission"' in html
    assert not parse_errors(html)


def test_a_referral_lands_with_its_letter_and_the_office_gets_a_confirmation(client, clock):
    response = send(client, letter=pdf_upload())
    assert response.status_code == 302 and response["Location"] == reverse("intake:referral_sent")
    referral = Referral.objects.get()
    assert (referral.patient_last_name, referral.status) == ("Zebulon", "new")
    assert str(referral.patient_phone) == "+19165550177"
    document = PatientDocument.objects.get(referral=referral)
    assert (document.kind, document.source, document.original_name) == (
        "referral",
        "referral",
        "letter.pdf",
    )
    assert referral.confirmation_due_at is not None  # the outbox entry, sent by the sweep
    sent = client.get(response["Location"])
    page = sent.content.decode()
    assert referral.reference in page and "Zebulon" not in page and "Quinn" not in page
    assert not parse_errors(page)
    assert referral_confirmations_send() == 1
    [message] = mail.outbox
    assert referral.reference in message.body
    for detail in ("Quinn", "Zebulon", "1971", "cancer", "555-0177"):
        assert detail not in message.subject + message.body + str(message.alternatives)


def test_bad_answers_come_back_kept_with_their_messages_and_ask_for_the_file_again(client):
    response = send(client, patient_phone="not a phone", permission=None, letter=pdf_upload())
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Dr. Ada Example"' in html and "Chronic cancer pain" in html
    assert "Please enter a phone number" in html
    assert "Please confirm the patient has agreed" in html
    assert "please choose the file again" in html
    assert Referral.objects.count() == 0 and PatientDocument.objects.count() == 0
    assert not parse_errors(html)


def test_a_file_that_is_not_a_document_is_refused_and_nothing_stored(client):
    program = SimpleUploadedFile("letter.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    response = send(client, letter=program)
    assert response.status_code == 400
    assert Referral.objects.count() == 0 and PatientDocument.objects.count() == 0
    assert re.search(r'id="error_\d+_id_letter"', response.content.decode())


def test_a_photo_of_the_letter_is_accepted(client, clock):
    response = send(client, letter=SimpleUploadedFile("photo.png", png_bytes()))
    assert response.status_code == 302
    assert PatientDocument.objects.get().content_type.startswith("image/")


def test_a_referral_without_a_letter_is_accepted(client, clock):
    assert send(client).status_code == 302
    assert Referral.objects.count() == 1 and PatientDocument.objects.count() == 0


def test_the_honeypot_stores_nothing(client):
    response = send(client, website="http://spam.example")
    assert response.status_code == 400
    assert Referral.objects.count() == 0
    assert "Please call us" in response.content.decode()


def test_too_many_referrals_from_one_address_are_turned_away(client, settings, clock):
    settings.REFERRAL_RATE_PER_IP_PER_HOUR = 2
    assert send(client, form_key="b" * 32).status_code == 302
    assert send(client, form_key="c" * 32).status_code == 302
    response = send(client, form_key="d" * 32)
    assert response.status_code == 429
    assert Referral.objects.count() == 2


def test_a_double_submit_makes_one_referral(client, clock):
    first = send(client, letter=pdf_upload())
    second = send(client, letter=pdf_upload())
    assert first.status_code == second.status_code == 302
    assert Referral.objects.count() == 1 and PatientDocument.objects.count() == 1


def test_the_sent_page_without_a_referral_goes_to_the_form(client):
    response = client.get(reverse("intake:referral_sent"))
    assert response.status_code == 302 and response["Location"] == reverse("intake:referral")


# --- The queue -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [(None, 302), ("no_role_user", 403), ("front_desk", 200), ("clinician_user", 200)],
)
def test_the_queue_is_for_staff(request, persona, status):
    ReferralFactory()
    client = verified_client(request.getfixturevalue(persona)) if persona else Client()
    response = client.get(reverse("intake:referral_queue"))
    assert response.status_code == status
    if persona is None:
        assert response["Location"].startswith(reverse("propel:login"))


def test_a_patients_link_does_not_open_the_queue(patient):
    from intake.links import patient_link_token

    client = Client()
    client.get(f"/p/{patient_link_token(patient)}/")
    response = client.get(reverse("intake:referral_queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("propel:login"))


def test_the_queue_lists_open_referrals_oldest_first_with_letter_and_age(front_desk, clock):
    older = referral_with_letter(received_at=NOW - dt.timedelta(days=3))
    newer = ReferralFactory(received_at=NOW - dt.timedelta(hours=1), status="contacted")
    closed = ReferralFactory(received_at=NOW - dt.timedelta(days=9), status="closed")
    response = verified_client(front_desk).get(reverse("intake:referral_queue"))
    html = response.content.decode()
    assert html.index(older.patient_last_name) < html.index(newer.patient_last_name)
    assert closed.patient_last_name not in html
    assert "3 days" in html and "attached" in html
    assert older.reason not in html
    assert not parse_errors(html)
    event = AuditEvent.objects.get(action="referral.viewed")
    assert event.detail["referral_ids"] == sorted([older.pk, newer.pk])
    closed_only = verified_client(front_desk).get(
        reverse("intake:referral_queue") + "?status=closed"
    )
    assert closed.patient_last_name in closed_only.content.decode()
    assert older.patient_last_name not in closed_only.content.decode()


def test_the_queue_costs_the_same_for_1_or_10_referrals(
    front_desk, django_assert_max_num_queries, clock
):
    client = verified_client(front_desk)
    referral_with_letter()
    client.get(reverse("intake:referral_queue"))  # the session and the roles, warmed
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("intake:referral_queue"))
    for _ in range(9):
        referral_with_letter()
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("intake:referral_queue"))
    assert response.content.decode().count('class="referral-row"') == 10


# --- A referral's page ---------------------------------------------------------------------------


def test_front_desk_sees_contact_details_but_not_the_reason_or_the_letter(front_desk):
    referral = referral_with_letter()
    response = verified_client(front_desk).get(
        reverse("intake:referral_detail", args=[referral.pk])
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert referral.patient_last_name in html and "(916) 555-0142" in html
    assert referral.reason not in html and "recorded (clinical)" in html
    assert "scan-from-dr-example.pdf" in html  # the letter's name and kind only
    assert "/documents/" not in html
    assert not parse_errors(html)
    event = AuditEvent.objects.get(action="referral.viewed")
    assert event.detail["clinical"] is False and event.detail["referral_ids"] == [referral.pk]
    document = referral.documents.get()
    opened = verified_client(front_desk).get(
        reverse("intake:referral_document", args=[referral.pk, document.pk])
    )
    assert opened.status_code == 403


def test_a_clinician_reads_the_reason_and_opens_the_letter_audited(clinician_user):
    referral = referral_with_letter()
    client = verified_client(clinician_user)
    html = client.get(reverse("intake:referral_detail", args=[referral.pk])).content.decode()
    assert referral.reason in html
    assert AuditEvent.objects.get(action="referral.viewed").detail["clinical"] is True
    document = referral.documents.get()
    response = client.get(reverse("intake:referral_document", args=[referral.pk, document.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="referral.document_viewed").count() == 1
    other = ReferralFactory()
    wrong = client.get(reverse("intake:referral_document", args=[other.pk, document.pk]))
    assert wrong.status_code == 404


def test_a_missing_referral_answers_404(front_desk):
    response = verified_client(front_desk).get(reverse("intake:referral_detail", args=[99999]))
    assert response.status_code == 404


def test_front_desk_moves_a_referral_on_and_closing_needs_a_note(front_desk):
    referral = ReferralFactory()
    client = verified_client(front_desk)
    url = reverse("intake:referral_detail", args=[referral.pk])
    response = client.post(url, {"action": "status", "status": "contacted", "note": ""})
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).status == "contacted"
    refused = client.post(url, {"action": "status", "status": "closed", "note": " "})
    assert refused.status_code == 400
    assert "Please say why in the note." in refused.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == "contacted"
    bad = client.post(url, {"action": "status", "status": "new"})
    assert bad.status_code == 400
    assert AuditEvent.objects.filter(action="referral.status_changed").count() == 1


def test_finding_and_linking_the_patient_moves_the_letter(front_desk):
    patient = PatientFactory(last_name="Zebulon", date_of_birth=dt.date(1971, 8, 23))
    referral = referral_with_letter(patient_last_name="Zebulon", patient_first_name="Quinn")
    client = verified_client(front_desk)
    url = reverse("intake:referral_detail", args=[referral.pk])
    found = client.post(url, {"action": "find", "last_name": "zeb", "date_of_birth": "08/23/1971"})
    assert found.status_code == 200
    assert 'class="patient-match"' in found.content.decode()
    viewed = AuditEvent.objects.filter(action="patient.viewed").last()
    assert viewed is not None and patient.pk in viewed.detail["patient_ids"]
    response = client.post(url, {"action": "link", "patient": patient.pk})
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).patient_id == patient.pk
    assert PatientDocument.objects.get(referral=referral).patient_id == patient.pk
    assert AuditEvent.objects.get(action="referral.linked").patient_id == patient.pk


def test_linking_to_a_patient_who_does_not_exist_answers_404(front_desk):
    referral = ReferralFactory()
    url = reverse("intake:referral_detail", args=[referral.pk])
    response = verified_client(front_desk).post(url, {"action": "link", "patient": 987654})
    assert response.status_code == 404
    assert Referral.objects.get(pk=referral.pk).patient_id is None


def test_creating_the_patient_from_the_referral_links_it(front_desk):
    referral = referral_with_letter(patient_first_name="Quinn", patient_last_name="Zebulon")
    client = verified_client(front_desk)
    url = reverse("scheduling:patient_new") + f"?referral={referral.pk}"
    page = client.get(url)
    html = page.content.decode()
    assert 'value="Quinn"' in html and 'value="Zebulon"' in html
    assert not parse_errors(html)
    response = client.post(
        reverse("scheduling:patient_new"),
        {
            "first_name": "Quinn",
            "last_name": "Zebulon",
            "date_of_birth": "05/17/1979",
            "mobile": "(916) 555-0142",
            "email": "quinn@mail.example",
            "preferred_language": "en",
            "referral": str(referral.pk),
        },
    )
    assert response.status_code == 302
    patient = Patient.objects.get(last_name="Zebulon")
    assert Referral.objects.get(pk=referral.pk).patient_id == patient.pk
    assert PatientDocument.objects.get(referral=referral).patient_id == patient.pk


def test_the_new_patient_page_ignores_a_linked_or_bogus_referral(front_desk, patient):
    linked = ReferralFactory(patient=patient, patient_first_name="Linkedperson")
    client = verified_client(front_desk)
    for value in (str(linked.pk), "abc", "9" * 30):
        response = client.get(reverse("scheduling:patient_new") + f"?referral={value}")
        assert response.status_code == 200
        assert "Linkedperson" not in response.content.decode()


def test_a_duplicate_shown_on_the_new_patient_page_links_the_referral(front_desk):
    patient = PatientFactory(first_name="Quinn", last_name="Zebulon")
    referral = referral_with_letter(
        patient_first_name="Quinn",
        patient_last_name="Zebulon",
        patient_date_of_birth=patient.date_of_birth,
    )
    client = verified_client(front_desk)
    response = client.post(
        reverse("scheduling:patient_new"),
        {
            "first_name": "Quinn",
            "last_name": "Zebulon",
            "date_of_birth": patient.date_of_birth.strftime("%m/%d/%Y"),
            "email": "someone.else@mail.example",
            "preferred_language": "en",
            "referral": str(referral.pk),
        },
    )
    html = response.content.decode()
    detail = reverse("intake:referral_detail", args=[referral.pk])
    assert f'action="{detail}"' in html and f'name="patient" value="{patient.pk}"' in html
    assert not parse_errors(html)
    client.post(detail, {"action": "link", "patient": patient.pk})
    assert Referral.objects.get(pk=referral.pk).patient_id == patient.pk
    assert Patient.objects.filter(last_name="Zebulon").count() == 1


# --- Admin ---------------------------------------------------------------------------------------


def test_the_admin_lists_referrals_read_only_and_audited(admin_user):
    referral = ReferralFactory()
    client = verified_client(admin_user)
    listing = client.get(reverse("admin:intake_referral_changelist"))
    assert listing.status_code == 200 and referral.reference in listing.content.decode()
    page = client.get(reverse("admin:intake_referral_change", args=[referral.pk]))
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()  # nothing to edit
    assert client.get(reverse("admin:intake_referral_add")).status_code == 403
    pages = set(
        AuditEvent.objects.filter(action="referral.viewed").values_list("detail__page", flat=True)
    )
    assert pages == {"admin:intake_referral_changelist", "admin:intake_referral_change"}


# --- Hostile input -------------------------------------------------------------------------------

FIELDS = (*FORM, "website", "letter")


@pytest.mark.slow  # Hypothesis, 40 posts: ~3 s
@HOSTILE
@given(data=hostile_data(FIELDS))
def test_the_form_takes_anything_without_a_500(settings, data):
    settings.REFERRAL_RATE_PER_IP_PER_HOUR = 10_000
    response = Client().post(reverse("intake:referral"), data)
    assert_no_500(response)
    assert_escaped(response, data)
    for referral in Referral.objects.all():
        assert referral.status == "new" and referral.patient_id is None


def test_a_referral_takes_nothing_but_its_own_fields_from_the_request(client, patient, clock):
    extra = {
        "status": "closed",
        "patient": patient.pk,
        "patient_id": patient.pk,
        "reference": "EVIL-0000",
        "confirmation_sent_at": "2027-01-01T00:00:00Z",
        "note": "injected",
    }
    assert send(client, **extra).status_code == 302
    referral = Referral.objects.get()
    assert (referral.status, referral.patient_id, referral.note) == ("new", None, "")
    assert referral.reference != "EVIL-0000" and referral.confirmation_sent_at is None


def test_a_confirmation_that_could_not_be_sent_is_shown_to_the_front_desk(front_desk):
    failed = ReferralFactory(confirmation_attempts=8, confirmation_error="SMTPServerDisconnected")
    waiting = ReferralFactory(confirmation_due_at=NOW)
    client = verified_client(front_desk)
    queue = client.get(reverse("intake:referral_queue")).content.decode()
    assert queue.count("The confirmation email could not be sent.") == 1
    page = client.get(reverse("intake:referral_detail", args=[failed.pk])).content.decode()
    assert "could not be sent: call the office" in page
    page = client.get(reverse("intake:referral_detail", args=[waiting.pk])).content.decode()
    assert "waiting to be sent" in page


def test_the_queue_audits_the_linked_patients_it_shows(front_desk, patient):
    linked = ReferralFactory(patient=patient)
    ReferralFactory()
    verified_client(front_desk).get(reverse("intake:referral_queue"))
    viewed = AuditEvent.objects.get(action="patient.viewed")
    assert viewed.detail == {"page": "intake:referral_queue", "patient_ids": [patient.pk]}
    assert linked.pk in AuditEvent.objects.get(action="referral.viewed").detail["referral_ids"]
