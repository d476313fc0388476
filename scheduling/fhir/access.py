"""Who may call the FHIR API (issue 23, item 4): the static-client design (docs/fhir.md, Access).

A client is registered by an admin with read scopes per resource type; its secret is shown once
and kept as a Django password hash. A call authenticates with HTTP Basic (client id and secret)
or with a short-lived bearer token from /fhir/R4/auth/token (client_credentials). A token is a
signed (client id, secret fingerprint) pair: it dies with the client's revocation or a new
secret, and after TOKEN_SECONDS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.http import HttpRequest
from django.utils import timezone

from scheduling.models import FhirClient

TOKEN_SECONDS = 300
TOKEN_SALT = "propel.fhir.token"  # noqa: S105 - a signing salt, not a secret
# One hash check a call is the price of HTTP Basic; bearer tokens skip it.
RATE_LIMIT = 120  # calls per client per minute
RATE_WINDOW = 60


def scope_for(resource_type: str) -> str:
    return f"system/{resource_type}.read"


def allowed(client: FhirClient, resource_type: str) -> bool:
    """May this client read this type? The one check the read, search and export all call."""
    return scope_for(resource_type) in client.scopes


@dataclass(frozen=True)
class NewClient:
    client: FhirClient
    secret: str  # shown once, never stored


def fhir_client_create(*, name: str, scopes: list[str]) -> NewClient:
    secret = secrets.token_urlsafe(32)
    client = FhirClient.objects.create(
        name=name,
        client_id=secrets.token_hex(16),
        secret_hash=make_password(secret),
        scopes=sorted(set(scopes)),
    )
    return NewClient(client, secret)


def fhir_client_new_secret(client: FhirClient) -> str:
    """A fresh secret for `client` (the old one and its tokens stop working)."""
    secret = secrets.token_urlsafe(32)
    client.secret_hash = make_password(secret)
    client.save(update_fields=["secret_hash"])
    return secret


def _fingerprint(client: FhirClient) -> str:
    return hashlib.sha256(client.secret_hash.encode()).hexdigest()[:16]


def token_issue(client: FhirClient) -> str:
    return signing.dumps({"c": client.client_id, "f": _fingerprint(client)}, salt=TOKEN_SALT)


def _check_secret(client_id: str, secret: str) -> FhirClient | None:
    client = FhirClient.objects.filter(client_id=client_id, active=True).first()
    if client is None:
        make_password(secret)  # the same work as a real check: no timing oracle on client ids
        return None
    return client if check_password(secret, client.secret_hash) else None


def basic_credentials(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep and client_id and secret else None


def authenticate(request: HttpRequest) -> FhirClient | None:
    """The active client the request speaks for, or None (no or bad credentials)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            data = signing.loads(header[7:].strip(), salt=TOKEN_SALT, max_age=TOKEN_SECONDS)
        except signing.BadSignature:  # SignatureExpired is a BadSignature
            return None
        if not isinstance(data, dict):
            return None
        client = FhirClient.objects.filter(client_id=data.get("c"), active=True).first()
        if client is None or data.get("f") != _fingerprint(client):
            return None
        return client
    credentials = basic_credentials(header)
    return _check_secret(*credentials) if credentials else None


def client_from_basic(request: HttpRequest) -> FhirClient | None:
    """The token endpoint's client: HTTP Basic, or client_id and client_secret in the form."""
    credentials = basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        client_id = request.POST.get("client_id", "")
        secret = request.POST.get("client_secret", "")
        credentials = (client_id, secret) if client_id and secret else None
    return _check_secret(*credentials) if credentials else None


def mark_used(client: FhirClient) -> None:
    """At most one write a minute per client."""
    now = timezone.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        FhirClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now


def fhir_client_with_secret(
    *, client_id: str, name: str, scopes: list[str], secret: str
) -> FhirClient:
    """Create or reset a client with a secret the caller chose (the demo's printed client)."""
    client, _ = FhirClient.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name": name,
            "secret_hash": make_password(secret),
            "scopes": sorted(set(scopes)),
            "active": True,
        },
    )
    return client
