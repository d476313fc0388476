"""The admin keeps the clinic's requirements (list, add, edit: step, form or document, waivable,
in force; never deleted, waivers point at them) and reads clinicians' waivers, read-only and
audited as a showing of the patients they name."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.paperwork_models import DocumentKind, Requirement, RequirementStep
from propel.models import AuditEvent
from tests.intake.requirement_factories import RequirementFactory, RequirementWaiverFactory

pytestmark = pytest.mark.django_db

REASON = "Known to the clinic for years; ID seen at the desk."


def test_the_admin_adds_and_edits_a_requirement(client_for, admin_user):
    client = client_for(admin_user)
    assert client.get(reverse("admin:intake_requirement_changelist")).status_code == 200
    response = client.post(
        reverse("admin:intake_requirement_add"),
        {
            "step": RequirementStep.FIRST_INFUSION,
            "document_kind": DocumentKind.INSURANCE,
            "waivable": "on",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    requirement = Requirement.objects.get(document_kind=DocumentKind.INSURANCE)
    assert requirement.waivable and requirement.active
    url = reverse("admin:intake_requirement_change", args=[requirement.pk])
    response = client.post(
        url,
        {"step": RequirementStep.CONSULTATION, "document_kind": DocumentKind.INSURANCE},
    )
    assert response.status_code == 302
    requirement.refresh_from_db()
    assert requirement.step == RequirementStep.CONSULTATION and not requirement.active


def test_a_requirement_names_a_form_or_a_document_not_both_nor_neither(client_for, admin_user):
    response = client_for(admin_user).post(
        reverse("admin:intake_requirement_add"), {"step": RequirementStep.CONSULTATION}
    )
    assert response.status_code == 200  # the form again, with the constraint's message
    assert not Requirement.objects.exists()


def test_a_requirement_is_never_deleted(client_for, admin_user):
    requirement = RequirementFactory()
    url = reverse("admin:intake_requirement_delete", args=[requirement.pk])
    assert client_for(admin_user).post(url, {"post": "yes"}).status_code == 403
    assert Requirement.objects.filter(pk=requirement.pk).exists()


def test_waivers_are_read_only_and_their_showing_is_audited(client_for, admin_user):
    waiver = RequirementWaiverFactory(reason=REASON)
    client = client_for(admin_user)
    listing = client.get(reverse("admin:intake_requirementwaiver_changelist"))
    assert listing.status_code == 200
    page = client.get(reverse("admin:intake_requirementwaiver_change", args=[waiver.pk]))
    assert page.status_code == 200 and REASON in page.content.decode()
    assert 'name="reason"' not in page.content.decode()
    assert client.get(reverse("admin:intake_requirementwaiver_add")).status_code == 403
    viewed = AuditEvent.objects.filter(action="patient.viewed", patient_id=waiver.patient_id)
    assert viewed.exists()


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user"])
def test_only_the_admin_role_opens_them(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    response = client.get(reverse("admin:intake_requirement_changelist"))
    assert response.status_code in (302, 403)
