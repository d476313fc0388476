"""The audit log is append-only: the application cannot change or delete an event, and on
PostgreSQL neither can raw SQL. Admins can list a patient's events; reading them is audited too."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from propel.audit import audit_record
from propel.models import AuditEvent, AuditLogImmutable
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(patient):
    return audit_record(action="chart.viewed", actor=UserFactory(), patient_id=patient.pk)


def test_record_keeps_who_what_patient_object_and_where(patient, front_desk):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    request.user = front_desk
    event = audit_record(
        action="patient.contact_viewed", request=request, patient_id=patient.pk, obj=patient
    )
    event.refresh_from_db()
    assert event.actor == front_desk
    assert event.actor_label == "frontdesk"
    assert (event.patient_id, event.object_type, event.object_id) == (
        patient.pk,
        "intake.patient",
        str(patient.pk),
    )
    assert event.ip_address == "203.0.113.9"
    assert event.at is not None


def test_forwarded_for_is_trusted_only_behind_a_configured_proxy(settings, patient):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7"
    )
    request.user = UserFactory()
    assert audit_record(action="x", request=request).ip_address == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert audit_record(action="x", request=request).ip_address == "203.0.113.7"


def test_saving_a_changed_event_is_refused(event):
    event.action = "rewritten"
    with pytest.raises(AuditLogImmutable):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "chart.viewed"


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AuditLogImmutable):
        event.delete()
    with pytest.raises(AuditLogImmutable):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AuditLogImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE propel_auditevent SET action = 'rewritten' WHERE id = %s",
        "DELETE FROM propel_auditevent WHERE id = %s",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes(event, sql):
    assert connection.vendor == "postgresql"
    with pytest.raises(DatabaseError, match=r"append-only|permission denied"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "chart.viewed"


def test_admin_lists_a_patients_events_and_that_read_is_audited(
    client_for, admin_user, patient, other_patient, event
):
    audit_record(action="chart.viewed", patient_id=other_patient.pk)
    response = client_for(admin_user).get("/staff/audit/", {"patient": patient.pk})
    assert response.status_code == 200
    listed = list(response.context["page"])
    assert listed == [event]
    viewed = AuditEvent.objects.get(action="audit.viewed")
    assert (viewed.actor, viewed.patient_id) == (admin_user, patient.pk)


def test_a_bad_patient_number_shows_a_field_error_not_a_crash(client_for, admin_user):
    response = client_for(admin_user).get("/staff/audit/", {"patient": "abc"})
    assert response.status_code == 200
    assert response.context["form"].errors["patient"]
