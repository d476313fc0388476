"""Issue 21, items 1-2 on the patient's link and the staff patient page: the forms page, signing
through the page (answers kept on a refusal), the patient's own PDF (another's answers 404), the
staff PDF (audited), paper forms and paper copies, and the signed-copy email (no health words)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from intake.links import patient_link_token
from intake.paperwork_models import ConsentSignature, DocumentKind, DocumentSource, PatientDocument
from propel.models import AuditEvent
from scheduling.models import Reminder
from scheduling.reminders.messages import render_reminder
from tests.factories import PatientFactory
from tests.intake.consent_helpers import NOW, consent_world, png_bytes, sign
from tests.patient_links import open_session
from tests.personas import verified_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("consent_world")]
_ = consent_world


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def forms_url(token: str) -> str:
    return reverse("intake:forms", kwargs={"token": token})


def sign_url(token: str, kind: str) -> str:
    return reverse("intake:form_sign", kwargs={"token": token, "kind": kind})


def answers(patient, **overrides):
    data = {
        "date_of_birth": patient.date_of_birth.strftime("%m/%d/%Y"),
        "agreed": "on",
        "typed_name": f"{patient.first_name} {patient.last_name}",
        "drawn_signature": "",
    }
    data.update(overrides)
    return data


def test_the_forms_page_lists_the_forms_in_order_with_the_esign_disclosure_first(client):
    patient = PatientFactory()
    me = open_session(client, patient)
    page = client.get(forms_url(me))
    assert page.status_code == 200
    text = page.text
    assert text.index("Signing on this page") < text.index("Consent to electronic records")
    titles = [
        "Consent to electronic records",
        "Informed consent for treatment",
        "Financial policy",
        "Acknowledgement of the notice of privacy practices",
    ]
    positions = [text.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "way to open PDF files" in text and "withdraw" in text and "paper copy" in text
    # Only the electronic form can be opened until it is signed.
    assert text.count("Read and sign") == 1
    assert "no-store" in page["Cache-Control"]


def test_signing_on_the_page_then_the_pdf_download(client):
    patient = PatientFactory()
    me = open_session(client, patient)
    drawn = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    response = client.post(
        sign_url(me, "electronic"),
        answers(patient, drawn_signature=drawn),
        HTTP_USER_AGENT="PhoneBrowser/1.0",
    )
    assert response.status_code == 302 and response["Location"] == forms_url(me)
    signature = ConsentSignature.objects.get(patient=patient)
    assert signature.user_agent == "PhoneBrowser/1.0" and signature.drawn_signature
    page = client.get(forms_url(me))
    assert "Signed on" in page.text and "Download PDF" in page.text
    assert page.text.count("Read and sign") == 3  # the others open now
    pdf = client.get(
        reverse("intake:form_signed_pdf", kwargs={"token": me, "signature_id": signature.pk})
    )
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert "no-store" in pdf["Cache-Control"] and "private" in pdf["Cache-Control"]
    assert pdf.content.startswith(b"%PDF")


def test_a_refusal_re_shows_the_form_with_the_answers_kept(client):
    patient = PatientFactory(first_name="Ana", last_name="Lopez")
    me = open_session(client, patient)
    page = client.post(sign_url(me, "electronic"), answers(patient, date_of_birth="02/03/1980"))
    assert page.status_code == 400
    assert "does not match the one we have on file" in page.text
    assert 'value="02/03/1980"' in page.text and 'value="Ana Lopez"' in page.text
    assert 'aria-invalid="true"' in page.text
    page = client.post(sign_url(me, "electronic"), answers(patient, typed_name="Anna Lopes"))
    assert page.status_code == 400 and "Please type your full name as we have it" in page.text
    page = client.post(sign_url(me, "electronic"), answers(patient, drawn_signature="data:junk"))
    assert page.status_code == 400 and "could not be read" in page.text
    page = client.post(sign_url(me, "electronic"), answers(patient, agreed=""))
    assert page.status_code == 400 and "tick the box" in page.text
    assert not ConsentSignature.objects.exists()


def test_another_form_before_the_electronic_consent_explains_and_signs_nothing(client):
    patient = PatientFactory()
    me = open_session(client, patient)
    page = client.get(sign_url(me, "treatment"))
    assert page.status_code == 200 and 'id="esign-first"' in page.text
    assert 'id="sign-form"' not in page.text
    page = client.post(sign_url(me, "treatment"), answers(patient))
    assert page.status_code == 400 and not ConsentSignature.objects.exists()


def test_an_unknown_form_is_the_calm_404(client):
    me = open_session(client, PatientFactory())
    assert client.get(sign_url(me, "nonsense")).status_code == 404


def test_another_patients_signature_pdf_answers_404(client):
    patient, other = PatientFactory(), PatientFactory()
    theirs = sign(other, "electronic")
    me = open_session(client, patient)
    url = reverse("intake:form_signed_pdf", kwargs={"token": me, "signature_id": theirs.pk})
    assert client.get(url).status_code == 404


def test_the_double_submit_on_the_page_signs_once(client):
    patient = PatientFactory()
    me = open_session(client, patient)
    for _try in range(2):
        assert client.post(sign_url(me, "electronic"), answers(patient)).status_code == 302
    assert ConsentSignature.objects.filter(patient=patient).count() == 1


def test_a_new_version_asks_to_sign_again_on_the_page(client, admin_user):
    from intake.consent_forms import consent_version_publish
    from intake.paperwork_models import ConsentForm

    patient = PatientFactory()
    sign(patient, "electronic")
    form = ConsentForm.objects.get(kind="electronic")
    consent_version_publish(
        form_id=form.pk,
        text="[PLACEHOLDER] v2",
        effective_date=NOW.date(),
        resign_required=True,
        by=admin_user,
    )
    me = open_session(client, patient)
    page = client.get(forms_url(me))
    assert "Needs signing again" in page.text


def test_paper_forms_and_a_paper_copy_are_recorded_for_the_front_desk(client, front_desk):
    patient = PatientFactory()
    signature = sign(patient, "electronic")
    me = open_session(client, patient)
    assert client.post(forms_url(me), {"request": "paper_forms"}).status_code == 302
    assert client.post(forms_url(me), {"request": "paper_forms"}).status_code == 302  # twice
    page = client.get(forms_url(me))
    assert 'id="paper-forms-requested"' in page.text and "sign at the clinic" in page.text
    assert (
        client.post(forms_url(me), {"request": "paper_copy", "signature": signature.pk}).status_code
        == 302
    )
    other = sign(PatientFactory(), "electronic")
    assert (
        client.post(forms_url(me), {"request": "paper_copy", "signature": other.pk}).status_code
        == 404
    )
    events = AuditEvent.objects.filter(patient_id=patient.pk, action__startswith="consent.paper_")
    assert sorted(events.values_list("action", flat=True)) == [
        "consent.paper_copy_requested",
        "consent.paper_forms_requested",
    ]
    staff_page = verified_client(front_desk).get(reverse("scheduling:patient", args=[patient.pk]))
    assert "Asked for paper forms" in staff_page.text
    assert "Asked for a paper copy" in staff_page.text


def test_the_staff_patient_page_lists_each_form_and_the_pdf_is_audited(
    front_desk, clinician_user, admin_user
):
    patient = PatientFactory()
    signature = sign(patient, "electronic")
    client = verified_client(front_desk)
    page = client.get(reverse("scheduling:patient", args=[patient.pk]))
    assert page.status_code == 200
    pdf_url = reverse("intake:staff_signature_pdf", args=[patient.pk, signature.pk])
    assert pdf_url in page.text
    assert page.text.count("Not signed") == 3
    for user in (front_desk, clinician_user, admin_user):
        response = verified_client(user).get(pdf_url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert (
            AuditEvent.objects.filter(
                action="consent.pdf_viewed",
                patient_id=patient.pk,
                actor=user,
                object_id=str(signature.pk),
            ).count()
            == 1
        )
    # The signature of another patient under this patient's address: 404.
    other = sign(PatientFactory(), "electronic")
    assert (
        client.get(reverse("intake:staff_signature_pdf", args=[patient.pk, other.pk])).status_code
        == 404
    )


def test_the_staff_patient_page_costs_the_same_with_more_signatures(
    front_desk, django_assert_max_num_queries
):
    patient = PatientFactory()
    client = verified_client(front_desk)
    url = reverse("scheduling:patient", args=[patient.pk])
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for kind in ("electronic", "treatment", "financial", "privacy"):
        sign(patient, kind)
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get(url)


def test_staff_record_a_paper_signature_with_its_scan(front_desk):
    patient = PatientFactory()
    scan = PatientDocument.objects.create(
        patient=patient,
        kind=DocumentKind.PAPER_CONSENT,
        file="uploads/x.pdf",
        original_name="scan.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        source=DocumentSource.STAFF,
        uploaded_at=NOW,
    )
    other_scan = PatientDocument.objects.create(
        patient=PatientFactory(),
        kind=DocumentKind.PAPER_CONSENT,
        file="uploads/y.pdf",
        original_name="y.pdf",
        content_type="application/pdf",
        size=10,
        sha256="1" * 64,
        source=DocumentSource.STAFF,
        uploaded_at=NOW,
    )
    client = verified_client(front_desk)
    url = reverse("intake:staff_consent_paper", args=[patient.pk])
    data = {"form_kind": "treatment", "signed_on": "01/04/2027", "paper_document": other_scan.pk}
    client.post(url, data)
    assert not ConsentSignature.objects.exists()
    response = client.post(url, {**data, "paper_document": scan.pk})
    assert response.status_code == 302
    signature = ConsentSignature.objects.get(patient=patient)
    assert (signature.method, signature.paper_document, signature.recorded_by) == (
        "paper",
        scan,
        front_desk,
    )
    assert signature.version.form.kind == "treatment"  # no ESIGN order on paper
    assert AuditEvent.objects.filter(action="consent.paper_recorded", actor=front_desk).exists()
    assert not Reminder.objects.filter(kind="signed_copy").exists()


HEALTH_WORDS = ("ketamine", "infusion", "treatment", "consent for", "depress", "psychiat")


def test_the_signed_copy_email_names_no_form_and_no_health_word():
    patient = PatientFactory(first_name="Robin")
    sign(patient, "electronic")
    reminder = Reminder.objects.get(patient=patient, kind="signed_copy")
    message = render_reminder(reminder, now=NOW + dt.timedelta(minutes=1))
    assert message.subject == "Your signed form from Propel Clinic is ready"
    assert not message.attachments
    for part in (message.subject, message.text, message.html):
        for word in HEALTH_WORDS:
            assert word not in part.lower(), (word, part)
    token = patient_link_token(patient)
    assert reverse("intake:forms", args=[token]) in message.text


def test_the_pages_parse_as_html_in_every_state(client, front_desk):
    from tests.propel.html_validity import parse_errors

    patient = PatientFactory()
    me = open_session(client, patient)
    pages = [client.get(forms_url(me)), client.get(sign_url(me, "treatment"))]
    pages.append(client.post(sign_url(me, "electronic"), answers(patient, agreed="")))
    client.post(sign_url(me, "electronic"), answers(patient))
    client.post(forms_url(me), {"request": "paper_forms"})
    pages += [client.get(forms_url(me)), client.get(sign_url(me, "electronic"))]
    pages.append(verified_client(front_desk).get(reverse("scheduling:patient", args=[patient.pk])))
    for page in pages:
        assert page.status_code in (200, 400)
        assert not parse_errors(page.content.decode()), parse_errors(page.content.decode())


def test_the_forms_page_costs_the_same_with_more_signatures(client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    patient = PatientFactory()
    me = open_session(client, patient)
    client.get(forms_url(me))
    with CaptureQueriesContext(connection) as before:
        client.get(forms_url(me))
    for kind in ("electronic", "treatment", "financial", "privacy"):
        sign(patient, kind)
    with django_assert_max_num_queries(len(before.captured_queries)):
        page = client.get(forms_url(me))
    assert page.text.count("Download PDF") == 4
