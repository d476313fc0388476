"""Factories for what must be on file (issue 21): forms with a version in force, signatures,
documents, requirements and waivers. Obviously fake texts; no file is written (the file fields
hold a name only: nothing here opens them)."""

from __future__ import annotations

import datetime as dt
import hashlib

import factory
from django.db.models import Max
from django.utils import timezone

from intake.paperwork_models import (
    ConsentForm,
    ConsentFormKind,
    ConsentFormVersion,
    ConsentSignature,
    DocumentKind,
    DocumentSource,
    PatientDocument,
    Requirement,
    RequirementStep,
    RequirementWaiver,
)
from tests.factories import PatientFactory, UserFactory

EFFECTIVE = dt.date(2026, 1, 1)


class ConsentFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentForm
        django_get_or_create = ("kind",)

    kind = ConsentFormKind.FINANCIAL
    title = factory.LazyAttribute(lambda o: str(ConsentFormKind(o.kind).label))
    order = 1


class ConsentFormVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentFormVersion

    form = factory.SubFactory(ConsentFormFactory)
    number = factory.LazyAttribute(lambda o: next_number(o.form.kind))
    text = "[PLACEHOLDER: the clinic's lawyer writes this form's text]"
    effective_date = EFFECTIVE


class ConsentSignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentSignature

    patient = factory.SubFactory(PatientFactory)
    version = factory.SubFactory(ConsentFormVersionFactory)
    signed_name = "Test Patient"
    signed_at = factory.LazyFunction(timezone.now)
    text_sha256 = factory.LazyAttribute(
        lambda o: hashlib.sha256(o.version.text.encode()).hexdigest()
    )
    pdf = "signed/2026/01/test.pdf"
    pdf_sha256 = "0" * 64


class PatientDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientDocument

    patient = factory.SubFactory(PatientFactory)
    kind = DocumentKind.PHOTO_ID
    file = "uploads/2026/01/test.pdf"
    original_name = "scan.pdf"
    content_type = "application/pdf"
    size = 1000
    sha256 = "0" * 64
    source = DocumentSource.PATIENT
    uploaded_at = factory.LazyFunction(timezone.now)


class RequirementFactory(factory.django.DjangoModelFactory):
    """A document requirement by default; `consent_form=...` with `document_kind=""` for a form."""

    class Meta:
        model = Requirement

    step = RequirementStep.FIRST_INFUSION
    consent_form = None
    document_kind = DocumentKind.PHOTO_ID
    waivable = True


class RequirementWaiverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequirementWaiver

    patient = factory.SubFactory(PatientFactory)
    requirement = factory.SubFactory(RequirementFactory)
    reason = "Known to the clinic for years"
    by = factory.SubFactory(UserFactory, clinician=True)
    at = factory.LazyFunction(timezone.now)


def form_requirement(
    kind: str = ConsentFormKind.FINANCIAL,
    *,
    step: str = RequirementStep.CONSULTATION,
    waivable: bool = False,
) -> Requirement:
    """A form with a version in force since EFFECTIVE, required before `step`. The form may exist
    (migrations seed the four, maybe with versions): the new version is numbered after theirs."""
    version = ConsentFormVersionFactory(
        form=ConsentFormFactory(kind=kind), number=next_number(kind)
    )
    return RequirementFactory(
        step=step, consent_form=version.form, document_kind="", waivable=waivable
    )


def next_number(kind: str) -> int:
    latest = ConsentFormVersion.objects.filter(form__kind=kind).aggregate(n=Max("number"))["n"]
    return (latest or 0) + 1


def clinic_defaults() -> dict[str, Requirement]:
    """The default requirements (as intake migration 0010 seeds them), each form with a version:
    the four consents before the consultation, a referral letter and a photo ID before the first
    infusion."""
    found = {kind: form_requirement(kind) for kind in ConsentFormKind.values}
    for kind in (DocumentKind.REFERRAL, DocumentKind.PHOTO_ID):
        found[kind] = RequirementFactory(document_kind=kind)
    return found


def sign(patient: object, requirement: Requirement) -> ConsentSignature:
    """The patient signs the form's newest version (the one form_requirement made)."""
    assert requirement.consent_form is not None
    version = requirement.consent_form.versions.order_by("-number").first()
    return ConsentSignatureFactory(patient=patient, version=version)


def give_all(patient: object, requirements: dict[str, Requirement]) -> None:
    """Everything on file: every form signed, every document uploaded."""
    for requirement in requirements.values():
        if requirement.consent_form is not None:
            sign(patient, requirement)
        else:
            PatientDocumentFactory(patient=patient, kind=requirement.document_kind)
