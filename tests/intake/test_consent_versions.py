"""Issue 21, item 1: consent forms are versioned documents. Publishing a version (the admin,
through intake.consent_forms.consent_version_publish) never touches what a patient signed: the
signature, its text hash and its PDF stay; the old signature stops counting only when the new
version asks patients to sign again (intake.consent_versions)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from intake.consent_defaults import FORMS
from intake.consent_forms import FormState, consent_version_publish, patient_form_rows
from intake.consent_versions import signed_forms
from intake.paperwork_models import ConsentForm, ConsentFormVersion, ConsentSignature
from propel.append_only import AppendOnlyError
from propel.models import AuditEvent
from tests.factories import PatientFactory
from tests.intake.consent_helpers import NOW, consent_world, sign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("consent_world")]
_ = consent_world
TODAY = NOW.date()


def test_the_four_forms_have_a_placeholder_version_1_in_the_clinics_order():
    versions = ConsentFormVersion.objects.filter(number=1).select_related("form")
    kinds = [v.form.kind for v in sorted(versions, key=lambda v: v.form.order)]
    assert kinds == ["electronic", "treatment", "financial", "privacy"]
    for version in versions:
        assert version.text.startswith("[PLACEHOLDER for the clinic's lawyer")
        assert version.effective_date == dt.date(2026, 1, 1)
    treatment = next(v for v in versions if v.form.kind == "treatment").text
    for risk in ("dizziness", "blood pressure", "vivid", "nausea", "Alternatives", "stop"):
        assert risk in treatment
    assert len(FORMS) == 4


def _snapshot(signature: ConsentSignature) -> tuple:
    with signature.pdf.open("rb") as handle:
        pdf = handle.read()
    fresh = ConsentSignature.objects.get(pk=signature.pk)
    return (fresh.version_id, fresh.text_sha256, fresh.pdf.name, fresh.pdf_sha256, pdf)


@pytest.mark.parametrize("resign", [True, False])
def test_a_new_version_leaves_signatures_alone_and_counts_by_resign_required(resign, admin_user):
    patient = PatientFactory()
    signature = sign(patient, "electronic")
    before = _snapshot(signature)
    form = ConsentForm.objects.get(kind="electronic")
    assert signed_forms([patient.pk], today=TODAY)[patient.pk] == {form.pk}
    version = consent_version_publish(
        form_id=form.pk,
        text="[PLACEHOLDER] a new text",
        effective_date=TODAY + dt.timedelta(days=7),
        resign_required=resign,
        by=admin_user,
    )
    assert version.number == 2 and version.created_by == admin_user
    assert _snapshot(signature) == before
    # Before its effective date nothing changes; from it, it counts as the version says.
    assert signed_forms([patient.pk], today=TODAY)[patient.pk] == {form.pk}
    later = TODAY + dt.timedelta(days=7)
    assert (form.pk in signed_forms([patient.pk], today=later)[patient.pk]) is (not resign)
    row = next(r for r in patient_form_rows(patient.pk, today=later) if r.kind == "electronic")
    assert row.version == version
    assert row.state == (FormState.SIGN_AGAIN if resign else FormState.SIGNED)
    assert AuditEvent.objects.filter(action="consent.version_published", actor=admin_user).exists()


def test_versions_and_signatures_cannot_be_changed_or_deleted():
    signature = sign(PatientFactory(), "electronic")
    version = signature.version
    version.text = "edited"
    with pytest.raises(AppendOnlyError):
        version.save()
    with pytest.raises(AppendOnlyError):
        ConsentSignature.objects.filter(pk=signature.pk).update(signed_name="x")
    with pytest.raises(AppendOnlyError):
        signature.delete()


def test_the_admin_adds_a_version_with_the_next_number_and_never_edits_one(client_for, admin_user):
    client = client_for(admin_user)
    form = ConsentForm.objects.get(kind="financial")
    response = client.post(
        reverse("admin:intake_consentformversion_add"),
        {
            "form": form.pk,
            "text": "[PLACEHOLDER] v2",
            "effective_date": "2027-02-01",
            "resign_required": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    version = ConsentFormVersion.objects.get(form=form, number=2)
    assert version.created_by == admin_user and version.resign_required
    change = reverse("admin:intake_consentformversion_change", args=[version.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="text"' not in page.text  # read-only view
    assert client.post(change, {"text": "edited"}).status_code == 403
    delete = reverse("admin:intake_consentformversion_delete", args=[version.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ConsentFormVersion.objects.get(pk=version.pk).text == "[PLACEHOLDER] v2"


def test_signatures_in_the_admin_are_read_only_without_a_pdf_link(client_for, admin_user):
    signature = sign(PatientFactory(), "electronic")
    client = client_for(admin_user)
    assert client.get(reverse("admin:intake_consentsignature_add")).status_code == 403
    page = client.get(reverse("admin:intake_consentsignature_change", args=[signature.pk]))
    assert page.status_code == 200
    assert signature.pdf.name not in page.text and 'name="signed_name"' not in page.text
    delete = reverse("admin:intake_consentsignature_delete", args=[signature.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ConsentSignature.objects.filter(pk=signature.pk).exists()
