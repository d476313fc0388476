"""Issue 16, finding 5 (reads in the Django admin): the list and change pages of every admin that
shows patients write one patient.viewed row naming the patients shown (propel.admin
.PatientReadAuditMixin)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from intake.models import Patient
from propel.admin import PatientReadAuditMixin
from propel.models import AuditEvent
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _reads() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="patient.viewed").order_by("id"))


def test_the_patient_list_audits_the_patients_on_the_page(client_for, admin_user):
    patients = PatientFactory.create_batch(3)

    response = client_for(admin_user).get(reverse("admin:intake_patient_changelist"))

    assert response.status_code == 200
    (event,) = _reads()
    assert event.actor == admin_user
    assert event.detail == {
        "page": "admin:intake_patient_changelist",
        "patient_ids": sorted(p.pk for p in patients),
    }


def test_a_search_audits_only_the_patients_it_found(client_for, admin_user):
    found = PatientFactory(last_name="Zebrafinch")
    PatientFactory(last_name="Other")

    client_for(admin_user).get(reverse("admin:intake_patient_changelist"), {"q": "Zebrafinch"})

    (event,) = _reads()
    assert event.patient_id == found.pk
    assert event.detail["patient_ids"] == [found.pk]


def test_an_empty_list_writes_nothing(client_for, admin_user):
    client_for(admin_user).get(reverse("admin:intake_patient_changelist"))

    assert _reads() == []


def test_the_patient_page_audits_that_patient(client_for, admin_user):
    patient = PatientFactory()

    url = reverse("admin:intake_patient_change", args=[patient.pk])
    response = client_for(admin_user).get(url)

    assert response.status_code == 200
    (event,) = _reads()
    assert event.patient_id == patient.pk
    assert event.detail["page"] == "admin:intake_patient_change"


def test_the_appointment_list_and_page_audit_their_patients(client_for, admin_user):
    appointment = AppointmentFactory()
    client = client_for(admin_user)

    assert client.get(reverse("admin:scheduling_appointment_changelist")).status_code == 200
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    assert client.get(url).status_code == 200

    listed, shown = _reads()
    assert listed.detail == {
        "page": "admin:scheduling_appointment_changelist",
        "patient_ids": [appointment.patient_id],
    }
    assert shown.patient_id == appointment.patient_id
    assert shown.detail["page"] == "admin:scheduling_appointment_change"


def test_a_refused_visitor_leaves_no_read(client_for, front_desk):
    PatientFactory()

    client_for(front_desk).get(reverse("admin:intake_patient_changelist"))

    assert _reads() == []


def test_every_admin_of_a_model_that_names_a_patient_audits_its_reads():
    """A model with a patient (Patient itself, or a `patient` field) registered in the admin
    must use the mixin."""
    for model, model_admin in admin.site._registry.items():
        names_patient = model is Patient or any(
            getattr(field, "related_model", None) is Patient for field in model._meta.get_fields()
        )
        if names_patient:
            assert isinstance(model_admin, PatientReadAuditMixin), model
    assert isinstance(admin.site._registry[Appointment], PatientReadAuditMixin)
