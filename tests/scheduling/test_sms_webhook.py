"""The inbound SMS webhook: a signed STOP withdraws SMS consent; nothing unsigned changes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from intake.models import Patient
from propel.models import AuditEvent
from scheduling.reminders.sms_webhook import SIGNATURE_HEADER, signature_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/webhooks/sms/"
CONSENTED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def post(body: bytes, signature: str | None = None, client: Client | None = None):
    client = client or Client(enforce_csrf_checks=True)
    headers = {} if signature is None else {"HTTP_X_PROPEL_SIGNATURE": signature}
    return client.post(URL, data=body, content_type="application/json", **headers)


def signed(payload: dict) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, signature_for(body)


@pytest.fixture
def texted():
    return PatientFactory(mobile="+19165550177", consent_sms=True, consent_sms_at=CONSENTED)


def test_the_url_is_where_the_provider_posts():
    assert reverse("scheduling:sms_webhook") == URL
    assert SIGNATURE_HEADER == "X-Propel-Signature"


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "  Stop \n", "STOPALL", "unsubscribe", "CANCEL", "END", "quit"]
)
def test_a_signed_stop_withdraws_sms_consent_and_is_audited(texted, word):
    body, signature = signed({"from": "+19165550177", "text": word})
    response = post(body, signature)
    assert response.status_code == 200
    texted.refresh_from_db()
    assert texted.consent_sms is False
    assert texted.consent_sms_at is not None and texted.consent_sms_at > CONSENTED
    event = AuditEvent.objects.get(action="patient.sms_opt_out")
    assert event.patient_id == texted.pk
    assert event.actor_label == "system"


def test_every_patient_sharing_the_mobile_is_opted_out_and_others_are_not(texted):
    sharer = PatientFactory(mobile="+19165550177", consent_sms=True, consent_sms_at=CONSENTED)
    other = PatientFactory(mobile="+19165550178", consent_sms=True, consent_sms_at=CONSENTED)
    body, signature = signed({"from": "(916) 555-0177", "text": "STOP"})
    assert post(body, signature).status_code == 200
    assert set(Patient.objects.filter(consent_sms=False).values_list("pk", flat=True)) == {
        texted.pk,
        sharer.pk,
    }
    other.refresh_from_db()
    assert other.consent_sms is True
    assert AuditEvent.objects.filter(action="patient.sms_opt_out").count() == 2


def test_start_does_not_opt_back_in(texted):
    body, signature = signed({"from": "+19165550177", "text": "STOP"})
    post(body, signature)
    body, signature = signed({"from": "+19165550177", "text": "START"})
    assert post(body, signature).status_code == 200
    texted.refresh_from_db()
    assert texted.consent_sms is False


def test_other_text_changes_nothing(texted):
    body, signature = signed({"from": "+19165550177", "text": "Please stop by at 3"})
    assert post(body, signature).status_code == 200
    texted.refresh_from_db()
    assert texted.consent_sms is True
    assert not AuditEvent.objects.filter(action="patient.sms_opt_out").exists()


def test_a_bad_signature_is_refused(texted):
    body, _ = signed({"from": "+19165550177", "text": "STOP"})
    assert post(body, "0" * 64).status_code == 403
    assert post(body, signature_for(body, secret="another secret")).status_code == 403
    assert post(body).status_code == 403
    texted.refresh_from_db()
    assert texted.consent_sms is True


def test_a_tampered_body_is_refused(texted):
    _, signature = signed({"from": "+19165550100", "text": "HELLO"})
    tampered = json.dumps({"from": "+19165550177", "text": "STOP"}).encode()
    assert post(tampered, signature).status_code == 403
    texted.refresh_from_db()
    assert texted.consent_sms is True


def test_no_secret_configured_refuses_everything(texted, settings):
    body, signature = signed({"from": "+19165550177", "text": "STOP"})
    settings.SMS_WEBHOOK_SECRET = ""
    assert post(body, signature).status_code == 403


def test_the_prefixed_signature_form_is_accepted(texted):
    body, signature = signed({"from": "+19165550177", "text": "STOP"})
    assert post(body, f"sha256={signature}").status_code == 200


def test_an_unknown_number_is_acknowledged_and_changes_nothing(texted):
    body, signature = signed({"from": "+19165550999", "text": "STOP"})
    assert post(body, signature).status_code == 200
    texted.refresh_from_db()
    assert texted.consent_sms is True
    assert not AuditEvent.objects.filter(action="patient.sms_opt_out").exists()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"from": "+19165550177"}).encode(),
        json.dumps({"from": 19165550177, "text": "STOP"}).encode(),
        json.dumps({"from": "not a number", "text": "STOP"}).encode(),
    ],
)
def test_a_signed_bad_body_is_400(texted, body):
    assert post(body, signature_for(body)).status_code == 400
    texted.refresh_from_db()
    assert texted.consent_sms is True


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_allowed(method):
    assert getattr(Client(), method)(URL).status_code == 405
