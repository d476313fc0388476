"""Staff change a patient's consent in the admin (on the patient's say-so): through
intake.consent, recorded with the source "staff" and the staff member; texts need a mobile."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.models import ConsentEvent, Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def form_data(patient, **changes) -> dict:
    data = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "email": patient.email,
        "mobile": str(patient.mobile),
        "consent_email": "on",
        "escort_name": "",
        "escort_phone": "",
        "link_version": patient.link_version,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_staff_turning_texts_on_is_recorded_as_theirs(client_for, admin_user):
    patient = PatientFactory()
    url = reverse("admin:intake_patient_change", args=[patient.pk])
    response = client_for(admin_user).post(url, form_data(patient, consent_sms="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    patient.refresh_from_db()
    assert patient.consent_sms is True and patient.consent_sms_at is not None
    event = ConsentEvent.objects.get()
    assert (event.channel, event.given, event.source, event.by) == (
        "sms",
        True,
        "staff",
        admin_user,
    )


def test_texts_without_a_mobile_are_refused_with_a_message(client_for, admin_user):
    patient = PatientFactory(mobile="")
    url = reverse("admin:intake_patient_change", args=[patient.pk])
    response = client_for(admin_user).post(url, form_data(patient, consent_sms="on"))
    assert response.status_code == 200
    assert "Text messages need a mobile number." in response.text
    patient.refresh_from_db()
    assert patient.consent_sms is False and not ConsentEvent.objects.exists()


def test_a_patient_added_by_staff_gets_email_reminders(client_for, admin_user):
    patient = PatientFactory.build()
    response = client_for(admin_user).post(
        reverse("admin:intake_patient_add"), form_data(patient, link_version=1)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ConsentEvent.objects.count() == 0
    added = Patient.objects.get(email=patient.email)
    assert added.consent_email and added.consent_email_at is not None


def test_the_admin_shows_the_call_answers_read_only(client_for, admin_user):
    from intake.models import HeardAbout

    patient = PatientFactory(heard_about=HeardAbout.CLINICIAN, referrer_name="Dr Pat Referral")
    url = reverse("admin:intake_patient_change", args=[patient.pk])
    page = client_for(admin_user).get(url)
    assert page.status_code == 200
    assert "Dr Pat Referral" in page.content.decode()
    assert 'name="referrer_name"' not in page.content.decode()
