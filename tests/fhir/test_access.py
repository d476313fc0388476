"""Access to the FHIR API (issue 23, item 4): clients, secrets, tokens, scopes, rate limit, and
every error an OperationOutcome."""

from __future__ import annotations

import base64

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.test import Client

from propel.models import AuditEvent
from scheduling.fhir import access
from scheduling.fhir.ids import fhir_id
from scheduling.models import FhirClient
from tests.factories import PatientFactory
from tests.fhir.support import ALL_SCOPES, api_client, basic, fhir_get, outcome

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4/"


def _patient_url() -> str:
    return f"{BASE}Patient/{fhir_id('Patient', PatientFactory().pk)}"


def test_the_secret_is_stored_hashed_only():
    new = api_client()
    client = FhirClient.objects.get(pk=new.client.pk)
    assert new.secret not in client.secret_hash
    assert check_password(new.secret, client.secret_hash)
    assert len(client.client_id) == 32


def test_no_or_bad_credentials_are_401_with_www_authenticate(client):
    url = _patient_url()
    new = api_client()
    wrong = {"HTTP_AUTHORIZATION": basic(new)["HTTP_AUTHORIZATION"][:-4] + "AAAA"}
    for headers in (
        {},
        wrong,
        {"HTTP_AUTHORIZATION": "Basic !!!"},
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_AUTHORIZATION": "Digest x"},
    ):
        response = client.get(url, **headers)
        outcome(response, 401, "login")
        assert "Basic" in response["WWW-Authenticate"]


def test_a_revoked_client_is_refused(client):
    url = _patient_url()
    new = api_client()
    assert fhir_get(client, url, new).status_code == 200
    FhirClient.objects.filter(pk=new.client.pk).update(active=False)
    outcome(fhir_get(client, url, new), 401, "login")


def test_a_client_without_the_scope_is_403(client):
    new = api_client(scopes=["system/Appointment.read"])
    outcome(fhir_get(client, _patient_url(), new), 403, "forbidden")
    outcome(fhir_get(client, f"{BASE}Patient", new), 403, "forbidden")
    assert fhir_get(client, f"{BASE}Appointment", new).status_code == 200
    event = AuditEvent.objects.filter(action="fhir.read").get()
    assert event.detail["status"] == 403


def test_a_bearer_token_from_client_credentials(client):
    url = _patient_url()
    new = api_client()
    response = client.post(f"{BASE}auth/token", {"grant_type": "client_credentials"}, **basic(new))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == access.TOKEN_SECONDS
    assert token["scope"] == " ".join(sorted(ALL_SCOPES))
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token['access_token']}"}
    assert client.get(url, **bearer).status_code == 200
    # The form's client_id and client_secret work too.
    form = client.post(
        f"{BASE}auth/token",
        {
            "grant_type": "client_credentials",
            "client_id": new.client.client_id,
            "client_secret": new.secret,
        },
    )
    assert form.status_code == 200
    assert AuditEvent.objects.filter(action="fhir.token").count() == 2


def test_a_token_dies_with_time_a_new_secret_and_revocation(client):
    url = _patient_url()
    new = api_client()
    with time_machine.travel("2026-12-01 10:00Z", tick=False):
        token = access.token_issue(new.client)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    with time_machine.travel("2026-12-01 10:04Z", tick=False):
        assert client.get(url, **bearer).status_code == 200
    with time_machine.travel("2026-12-01 10:06Z", tick=False):
        outcome(client.get(url, **bearer), 401, "login")
    token = access.token_issue(new.client)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(url, **bearer).status_code == 200
    access.fhir_client_new_secret(new.client)
    outcome(client.get(url, **bearer), 401, "login")
    outcome(fhir_get(client, url, new), 401, "login")  # the old secret too


def test_the_token_endpoint_refuses_bad_requests_with_oauth_errors(client):
    """The token endpoint is an OAuth endpoint: its errors are RFC 6749 JSON, not
    OperationOutcomes (tests/fhir/test_smart_backend.py has the rest)."""
    new = api_client()
    wrong_grant = client.post(f"{BASE}auth/token", {"grant_type": "password"}, **basic(new))
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    anonymous = client.post(f"{BASE}auth/token", {"grant_type": "client_credentials"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    assert anonymous["WWW-Authenticate"].startswith("Basic")
    assert client.get(f"{BASE}auth/token", **basic(new)).status_code == 405


def test_methods_other_than_get_are_405(client):
    new = api_client()
    url = _patient_url()
    for method in ("post", "put", "delete", "patch"):
        response = getattr(client, method)(url, **basic(new))
        outcome(response, 405, "not-supported")
        assert response["Allow"] == "GET"


def test_json_only_other_accept_is_406(client):
    new = api_client()
    url = _patient_url()
    outcome(fhir_get(client, url, new, HTTP_ACCEPT="application/fhir+xml"), 406, "not-supported")
    outcome(fhir_get(client, url + "?_format=xml", new), 406, "not-supported")
    for accept in ("application/fhir+json", "application/json", "*/*", "text/html, */*;q=0.8"):
        assert fhir_get(client, url, new, HTTP_ACCEPT=accept).status_code == 200


def test_rate_limited_per_client(client, monkeypatch):
    monkeypatch.setattr(access, "RATE_LIMIT", 3)
    url = _patient_url()
    new, other = api_client(), api_client()
    with time_machine.travel("2026-12-01 10:00:05Z", tick=False):
        assert [fhir_get(client, url, new).status_code for _ in range(4)] == [200, 200, 200, 429]
        response = fhir_get(client, url, new)
        outcome(response, 429, "throttled")
        assert response["Retry-After"]
        assert fhir_get(client, url, other).status_code == 200


def test_failed_sign_ins_are_rate_limited_by_address(client):
    url = _patient_url()
    with time_machine.travel("2026-12-01 10:00:05Z", tick=False):
        statuses = [client.get(url).status_code for _ in range(22)]
    assert statuses[:20] == [401] * 20
    assert statuses[-1] == 429


def test_last_used_is_stamped(client):
    new = api_client()
    assert new.client.last_used_at is None
    fhir_get(client, f"{BASE}Patient", new)
    assert FhirClient.objects.get(pk=new.client.pk).last_used_at is not None


def test_errors_are_operation_outcomes_for_bad_parameters(client):
    new = api_client()
    for query in (
        "_count=abc",
        "_count=0",
        "_count=-1",
        "_count=1&_count=2",
        "_lastUpdated=yesterday",
        "_lastUpdated=2026-13-01",
        "_lastUpdated=2026-02-30",
        "_lastUpdated=ne2026-01-01",
        "_lastUpdated=2026-01-01T10:00",  # a time needs its zone
        "_offset=-3",
        "_offset=99999999999",
        "name=Smith",
    ):
        outcome(fhir_get(client, f"{BASE}Patient?{query}", new), 400, "invalid")
    for query in ("status=unknown", "date=tomorrow", "patient=a&patient=b"):
        outcome(fhir_get(client, f"{BASE}Appointment?{query}", new), 400, "invalid")


def test_the_token_endpoint_needs_no_csrf_token():
    new = api_client()
    browserless = Client(enforce_csrf_checks=True)
    response = browserless.post(
        f"{BASE}auth/token", {"grant_type": "client_credentials"}, **basic(new)
    )
    assert response.status_code == 200


def test_other_addresses_under_the_api_are_operation_outcomes(client):
    for path in ("Patient/x/_history", "Patient/", "a/b/c/d"):
        outcome(client.get(BASE + path), 404, "not-found")
