"""Issue 16 §9: the staff patient page (scheduling.calendar.patient_views): who the patient is,
their links and appointments for every staff role, audited, never their answers; and "Revoke all
links", which ends every link sent and every page one opened at once (audited)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.examples import complete_answers
from intake.link_sessions import ME
from intake.links import patient_link_token
from propel.formatting import calendar_date
from propel.models import AuditEvent
from tests.factories import AppointmentFactory, IntakeSubmissionFactory
from tests.patient_links import open_session

pytestmark = pytest.mark.django_db

ANSWER = "Emergency Contact Zebulon"  # only in the questionnaire's answers


def page_url(patient) -> str:
    return reverse("scheduling:patient", args=[patient.pk])


def revoke_url(patient) -> str:
    return reverse("scheduling:patient_links_revoke", args=[patient.pk])


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user", "admin_user"])
def test_every_staff_role_sees_the_patient_and_the_read_is_audited(client_as, patient, persona):
    appointment = AppointmentFactory(patient=patient)
    IntakeSubmissionFactory(patient=patient, answers=complete_answers(emergency_name=ANSWER))
    response = client_as(persona).get(page_url(patient))
    assert response.status_code == 200
    page = response.text
    assert patient.first_name in page and patient.last_name in page
    assert patient.email in page
    assert calendar_date(patient.date_of_birth) in page
    assert reverse("scheduling:appointment", args=[appointment.pk]) in page
    assert "Each link we email works for 30 days." in page
    assert "Revoke all links sent to this patient" in page
    assert ANSWER not in page  # never the questionnaire's answers
    event = AuditEvent.objects.get(action="patient.viewed", patient_id=patient.pk)
    assert event.detail == {"page": "scheduling:patient", "patient_ids": [patient.pk]}


def test_revoking_ends_every_link_and_open_page_at_once_and_is_audited(
    client, client_for, front_desk, patient
):
    link = patient_link_token(patient)
    me = open_session(client, patient)
    staff = client_for(front_desk)

    response = staff.post(revoke_url(patient), {"reason": "lost phone"}, follow=True)

    assert response.redirect_chain == [(page_url(patient), 302)]
    assert "no longer opens" in response.text
    assert reverse("scheduling:link_request") in response.text
    assert "revoked by frontdesk" in response.text and "lost phone" in response.text
    event = AuditEvent.objects.get(action="patient.links_revoked", patient_id=patient.pk)
    assert (event.actor, event.detail) == (front_desk, {"reason": "lost phone"})
    patient.refresh_from_db()
    assert patient.link_version == 2
    assert client.get(reverse("scheduling:patient_home", args=[me])).status_code == 410
    assert client.get(reverse("scheduling:patient_home", args=[link])).status_code == 410
    assert open_session(client, patient) == ME  # a new link works


def test_the_reason_is_optional_and_a_too_long_one_changes_nothing(client_for, admin_user, patient):
    staff = client_for(admin_user)
    refused = staff.post(revoke_url(patient), {"reason": "x" * 301})
    assert refused.status_code == 400
    patient.refresh_from_db()
    assert patient.link_version == 1
    assert staff.post(revoke_url(patient), {}).status_code == 302
    patient.refresh_from_db()
    assert patient.link_version == 2


def test_the_appointment_page_and_the_chart_link_to_the_patient_page(
    client_for, clinician_user, patient
):
    appointment = AppointmentFactory(patient=patient)
    staff = client_for(clinician_user)
    link = f'href="{page_url(patient)}"'
    assert link in staff.get(reverse("scheduling:appointment", args=[appointment.pk])).text
    assert link in staff.get(reverse("intake:chart", args=[patient.pk])).text


def _queries(staff, patient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert staff.get(page_url(patient)).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_for_one_or_many_appointments(
    client_for, front_desk, patient, django_assert_max_num_queries
):
    staff = client_for(front_desk)
    AppointmentFactory(patient=patient)
    staff.get(page_url(patient))  # warm: the session and roles
    one = _queries(staff, patient)
    for day in range(1, 8):
        AppointmentFactory(
            patient=patient, start=dt.datetime(2027, 1, 5 + day, 17, 0, tzinfo=dt.UTC)
        )
    with django_assert_max_num_queries(one):
        assert staff.get(page_url(patient)).status_code == 200


def test_the_page_shows_what_the_front_desk_asked_on_the_call(client_as):
    from intake.models import HeardAbout, Language
    from tests.factories import PatientFactory

    caller = PatientFactory(
        preferred_language=Language.SPANISH,
        heard_about=HeardAbout.OTHER,
        heard_about_other="Radio advert",
        referrer_name="Dr Pat Referral",
        referrer_practice="Example Family Practice",
        referrer_phone="+19165550177",
    )
    page = client_as("front_desk").get(page_url(caller)).content.decode()
    for shown in ("Spanish", "Other: Radio advert", "Dr Pat Referral, Example Family Practice"):
        assert shown in page
    assert "(916) 555-0177" in page


def test_a_patient_registered_before_shows_nothing_was_asked(client_as, patient):
    page = client_as("front_desk").get(page_url(patient)).content.decode()
    assert "Not asked" in page and "No referring clinician" in page and "English" in page
