"""FHIR API clients in the admin: the secret shown once after adding, revoking, a new secret;
and the demo's client printed on start."""

from __future__ import annotations

import base64
import re
from io import StringIO

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from propel.models import AuditEvent
from scheduling.models import FhirClient
from tests.fhir.support import api_client

pytestmark = pytest.mark.django_db

SECRET_MESSAGE = re.compile(r"Client id ([0-9a-f]{32}), secret ([A-Za-z0-9_-]{40,})\.")


def test_adding_a_client_shows_its_secret_once(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(
        reverse("admin:scheduling_fhirclient_add"),
        {"name": "Clinic EHR", "scopes": ["system/Patient.read"], "active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    match = SECRET_MESSAGE.search(response.content.decode())
    assert match, response.content.decode()[:2000]
    row = FhirClient.objects.get()
    assert (row.client_id, row.name, row.scopes) == (
        match[1],
        "Clinic EHR",
        ["system/Patient.read"],
    )
    assert check_password(match[2], row.secret_hash)
    assert AuditEvent.objects.filter(action="fhir.client_created", actor=admin_user).exists()
    page = client.get(reverse("admin:scheduling_fhirclient_change", args=[row.pk]))
    assert match[2] not in page.content.decode()
    assert row.secret_hash not in page.content.decode()
    listing = client.get(reverse("admin:scheduling_fhirclient_changelist"))
    assert match[2] not in listing.content.decode()


def test_revoke_and_new_secret_actions(client_for, admin_user):
    new = api_client()
    client = client_for(admin_user)
    changelist = reverse("admin:scheduling_fhirclient_changelist")
    response = client.post(
        changelist, {"action": "new_secret", "_selected_action": [new.client.pk]}, follow=True
    )
    match = SECRET_MESSAGE.search(response.content.decode())
    assert match and match[2] != new.secret
    row = FhirClient.objects.get()
    assert check_password(match[2], row.secret_hash)
    assert not check_password(new.secret, row.secret_hash)
    client.post(changelist, {"action": "revoke", "_selected_action": [new.client.pk]})
    assert not FhirClient.objects.get().active
    assert AuditEvent.objects.filter(action="fhir.client_revoked").count() == 1
    assert (
        client.get(reverse("admin:scheduling_fhirclient_delete", args=[row.pk])).status_code == 403
    )


def test_other_roles_cannot_manage_clients(client_for, clinician_user, front_desk):
    for user in (clinician_user, front_desk):
        response = client_for(user).get(reverse("admin:scheduling_fhirclient_add"))
        assert response.status_code in (302, 403)


def test_the_demo_prints_a_client_that_reads_a_patient():
    out = StringIO()
    call_command("seed_demo", "--url", "http://127.0.0.1:8000", stdout=out)
    text = out.getvalue()
    match = re.search(r"curl -u (\S+):(\S+) http://127\.0\.0\.1:8000(/fhir/R4/Patient/\S+)", text)
    assert match, text
    assert f"client id {match[1]}, secret {match[2]}" in text
    pair = base64.b64encode(f"{match[1]}:{match[2]}".encode()).decode()
    response = Client().get(match[3], HTTP_AUTHORIZATION=f"Basic {pair}")
    assert response.status_code == 200
    assert response.json()["resourceType"] == "Patient"
