"""What must be on file (intake.requirements): what counts as on file, what is missing for a step,
in a fixed number of queries, and a clinician's waiver (who may, what may be waived, audited,
once). The default requirements the migration seeds are checked through its own function."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.test import RequestFactory
from django.utils import timezone

from intake.paperwork_models import (
    ConsentFormKind,
    DocumentKind,
    Requirement,
    RequirementStep,
    RequirementWaiver,
)
from intake.requirements import (
    DOCUMENT,
    FORM,
    WaiverRefused,
    missing_items,
    requirement_lines,
    requirement_waive,
    visit_step,
)
from propel.models import AuditEvent
from tests.factories import PatientFactory, UserFactory
from tests.intake.requirement_factories import (
    ConsentFormFactory,
    ConsentFormVersionFactory,
    PatientDocumentFactory,
    RequirementFactory,
    RequirementWaiverFactory,
    clinic_defaults,
    form_requirement,
    give_all,
    sign,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 1, 5)
CONSULTATION = RequirementStep.CONSULTATION
FIRST_INFUSION = RequirementStep.FIRST_INFUSION
REASON = "Known to the clinic; ID seen in person last year."


def missing_for(patient, step=FIRST_INFUSION, today=TODAY) -> list[str]:
    return [item.label for item in missing_items([patient.pk], step=step, today=today)[patient.pk]]


def waive(user, patient, requirement, reason=REASON):
    request = RequestFactory().post("/")
    request.user = user
    return requirement_waive(
        patient_id=patient.pk, requirement_id=requirement.pk, reason=reason, request=request
    )


# --- What is missing --------------------------------------------------------------------------


def test_the_defaults_ask_every_consent_before_the_consultation_and_two_documents_before_infusion(
    patient,
):
    clinic_defaults()
    assert missing_for(patient, CONSULTATION) == [
        "Sign: Consent to electronic records and signatures",
        "Sign: Informed consent for treatment",
        "Sign: Financial policy",
        "Sign: Acknowledgement of the notice of privacy practices",
    ]
    # An infusion asks for the consultation's forms too (a form must still count at every start).
    assert missing_for(patient, FIRST_INFUSION) == [
        "Sign: Consent to electronic records and signatures",
        "Sign: Informed consent for treatment",
        "Sign: Financial policy",
        "Sign: Acknowledgement of the notice of privacy practices",
        "Upload or bring: Referral letter",
        "Upload or bring: Photo ID",
    ]


def test_a_signed_form_and_a_document_on_file_count(patient):
    requirements = clinic_defaults()
    give_all(patient, requirements)
    assert missing_for(patient, CONSULTATION) == []
    assert missing_for(patient, FIRST_INFUSION) == []


def test_a_signature_of_a_version_that_asks_to_sign_again_no_longer_counts(patient):
    requirement = form_requirement(ConsentFormKind.TREATMENT)
    sign(patient, requirement)
    assert missing_for(patient, CONSULTATION) == []
    # A material change in force from tomorrow: today the old signature counts, then it does not.
    ConsentFormVersionFactory(
        form=requirement.consent_form, effective_date=TODAY + dt.timedelta(days=1)
    )
    assert missing_for(patient, CONSULTATION) == []
    tomorrow = TODAY + dt.timedelta(days=1)
    assert missing_for(patient, CONSULTATION, today=tomorrow) == [
        "Sign: Informed consent for treatment"
    ]


def test_a_typo_fix_keeps_the_earlier_signature(patient):
    requirement = form_requirement(ConsentFormKind.PRIVACY)
    sign(patient, requirement)
    ConsentFormVersionFactory(form=requirement.consent_form, resign_required=False)
    assert missing_for(patient, CONSULTATION) == []


def test_a_form_with_no_version_in_force_is_not_required(patient):
    # Long ago, before any version the migrations may have published was in force.
    before = dt.date(2001, 1, 1)
    form = ConsentFormFactory(kind=ConsentFormKind.FINANCIAL)
    RequirementFactory(step=CONSULTATION, consent_form=form, document_kind="")
    assert missing_for(patient, CONSULTATION, today=before) == []
    ConsentFormVersionFactory(form=form, effective_date=before + dt.timedelta(days=3))
    assert missing_for(patient, CONSULTATION, today=before) == []  # published, not in force
    assert missing_for(patient, CONSULTATION, today=before + dt.timedelta(days=3)) == [
        "Sign: Financial policy"
    ]


def test_a_set_aside_document_or_another_kind_or_patient_does_not_count(patient, other_patient):
    RequirementFactory(document_kind=DocumentKind.PHOTO_ID)
    PatientDocumentFactory(patient=patient, kind=DocumentKind.PHOTO_ID, removed_at=timezone.now())
    PatientDocumentFactory(patient=patient, kind=DocumentKind.INSURANCE)
    PatientDocumentFactory(patient=other_patient, kind=DocumentKind.PHOTO_ID)
    assert missing_for(patient) == ["Upload or bring: Photo ID"]
    assert missing_for(other_patient) == []


def test_a_requirement_out_of_force_or_of_a_later_step_is_not_asked(patient):
    RequirementFactory(document_kind=DocumentKind.PHOTO_ID, active=False)
    RequirementFactory(step=CONSULTATION, document_kind=DocumentKind.INSURANCE)
    RequirementFactory(step=FIRST_INFUSION, document_kind=DocumentKind.REFERRAL)
    assert missing_for(patient, CONSULTATION) == ["Upload or bring: Insurance card"]
    # What the consultation asks is asked again at an infusion, never the other way round.
    assert missing_for(patient, FIRST_INFUSION) == [
        "Upload or bring: Insurance card",
        "Upload or bring: Referral letter",
    ]


def test_a_waived_requirement_is_not_missing_for_that_patient_only(patient, other_patient):
    requirement = RequirementFactory(document_kind=DocumentKind.REFERRAL)
    RequirementWaiverFactory(patient=patient, requirement=requirement)
    assert missing_for(patient) == []
    assert missing_for(other_patient) == ["Upload or bring: Referral letter"]


def test_each_item_says_what_and_where_the_patient_does_it(patient):
    requirements = clinic_defaults()
    items = missing_items([patient.pk], step=CONSULTATION, today=TODAY)[patient.pk]
    first = items[0]
    assert first.kind == FORM and first.form_kind == ConsentFormKind.ELECTRONIC
    assert first.patient_url_name == "intake:forms" and not first.waivable
    (photo,) = [
        i
        for i in missing_items([patient.pk], step=FIRST_INFUSION, today=TODAY)[patient.pk]
        if i.document_kind == DocumentKind.PHOTO_ID
    ]
    assert photo.kind == DOCUMENT and photo.patient_url_name == "intake:documents"
    assert photo.waivable and photo.requirement_id == requirements[DocumentKind.PHOTO_ID].pk


def test_missing_items_costs_the_same_queries_for_one_or_many_patients(
    django_assert_max_num_queries,
):
    requirements = clinic_defaults()
    patients = [PatientFactory() for _ in range(12)]
    for n, patient in enumerate(patients):
        if n % 2:
            give_all(patient, requirements)
        if n % 3 == 0:
            RequirementWaiverFactory(
                patient=patient, requirement=requirements[DocumentKind.REFERRAL]
            )
    with django_assert_max_num_queries(6):
        one = missing_items([patients[0].pk], step=FIRST_INFUSION, today=TODAY)
    with django_assert_max_num_queries(6):
        many = missing_items([p.pk for p in patients], step=FIRST_INFUSION, today=TODAY)
    assert len(many) == 12 and one[patients[0].pk] == many[patients[0].pk]
    # Four forms and a photo ID missing (the letter waived), nothing, all six, nothing.
    assert [len(many[p.pk]) for p in patients[:4]] == [5, 0, 6, 0]


def test_nothing_required_costs_one_query(patient, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert missing_items([patient.pk], step=CONSULTATION, today=TODAY) == {patient.pk: []}


def test_the_step_of_a_visit():
    assert visit_step(needs_clearance=True, type_code="maintenance") == FIRST_INFUSION
    assert visit_step(needs_clearance=False, type_code="consultation") == CONSULTATION
    assert visit_step(needs_clearance=False, type_code="follow_up") is None


# --- Waivers -----------------------------------------------------------------------------------


def test_a_clinician_waives_with_a_reason_and_it_is_audited(patient, clinician_user):
    requirement = RequirementFactory(document_kind=DocumentKind.REFERRAL)
    waiver = waive(clinician_user, patient, requirement)
    assert waiver.by == clinician_user and waiver.reason == REASON
    event = AuditEvent.objects.get(action="requirement.waived")
    assert event.patient_id == patient.pk and event.actor == clinician_user
    assert event.detail == {"requirement_id": requirement.pk, "step": FIRST_INFUSION}
    assert REASON not in str(event.detail)  # the reason may be clinical: it stays in the waiver
    assert missing_for(patient) == []


@pytest.mark.parametrize("persona", ["front_desk", "admin_user", "no_role_user"])
def test_only_a_clinician_may_waive(persona, request, patient):
    requirement = RequirementFactory(document_kind=DocumentKind.PHOTO_ID)
    with pytest.raises(WaiverRefused, match="Only a clinician"):
        waive(request.getfixturevalue(persona), patient, requirement)
    assert not RequirementWaiver.objects.exists()
    assert not AuditEvent.objects.filter(action="requirement.waived").exists()


def test_a_requirement_that_may_not_be_waived_is_refused(patient, clinician_user):
    requirement = form_requirement(ConsentFormKind.TREATMENT, waivable=False)
    with pytest.raises(WaiverRefused, match="may not be waived"):
        waive(clinician_user, patient, requirement)
    assert not RequirementWaiver.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "ok", "seen it"])
def test_a_waiver_needs_a_reason_of_a_few_words(reason, patient, clinician_user):
    requirement = RequirementFactory()
    with pytest.raises(WaiverRefused, match="reason"):
        waive(clinician_user, patient, requirement, reason=reason)
    assert not RequirementWaiver.objects.exists()


def test_a_second_waiver_of_the_same_item_is_refused(patient, clinician_user):
    requirement = RequirementFactory()
    waive(clinician_user, patient, requirement)
    with pytest.raises(WaiverRefused, match="already waived"):
        waive(UserFactory(clinician=True), patient, requirement)
    assert RequirementWaiver.objects.count() == 1


def test_a_command_waives_as_the_clinician_it_names(patient, clinician_user):
    requirement = RequirementFactory()
    requirement_waive(
        patient_id=patient.pk, requirement_id=requirement.pk, reason=REASON, actor=clinician_user
    )
    assert AuditEvent.objects.get(action="requirement.waived").actor == clinician_user
    with pytest.raises(WaiverRefused, match="Only a clinician"):
        requirement_waive(
            patient_id=patient.pk, requirement_id=RequirementFactory().pk, reason=REASON
        )


def test_a_requirement_out_of_force_is_not_waived(patient, clinician_user):
    requirement = RequirementFactory(active=False)
    with pytest.raises(WaiverRefused, match="not in force"):
        waive(clinician_user, patient, requirement)


def test_the_staff_lines_say_on_file_missing_or_waived(patient):
    requirements = clinic_defaults()
    sign(patient, requirements[ConsentFormKind.ELECTRONIC])
    RequirementWaiverFactory(patient=patient, requirement=requirements[DocumentKind.REFERRAL])
    lines = requirement_lines(patient.pk, today=TODAY)
    assert [line.state for line in lines[CONSULTATION]] == [
        "on_file",
        "missing",
        "missing",
        "missing",
    ]
    assert [(line.title, line.state) for line in lines[FIRST_INFUSION]] == [
        ("Referral letter", "waived"),
        ("Photo ID", "missing"),
    ]


def test_the_migration_seeds_the_defaults_once():
    Requirement.objects.all().delete()
    migration = importlib.import_module("intake.migrations.0011_requirements_defaults")
    migration.seed_defaults(apps, None)
    migration.seed_defaults(apps, None)  # again: nothing doubled
    rows = Requirement.objects.select_related("consent_form")
    consultation = sorted(r.consent_form.kind for r in rows if r.step == CONSULTATION)
    assert consultation == sorted(ConsentFormKind.values)
    assert not any(r.waivable for r in rows if r.step == CONSULTATION)
    infusion = {(r.document_kind, r.waivable) for r in rows if r.step == FIRST_INFUSION}
    assert infusion == {(DocumentKind.REFERRAL, True), (DocumentKind.PHOTO_ID, True)}
    assert Requirement.objects.count() == 6
