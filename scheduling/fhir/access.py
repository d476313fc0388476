"""Who may call the FHIR API (issue 23, item 4; docs/fhir.md, Access).

A client is registered by an admin with read scopes per resource type. It proves who it is in
one of two ways: a secret (shown once, kept as a Django password hash) by HTTP Basic, or, when the
admin registered its public keys, a JWT signed with its private key (SMART Backend Services,
scheduling.fhir.smart); a client with keys has no usable secret. Either way it can get a
short-lived bearer token from /fhir/R4/auth/token (client_credentials), for the scopes it asked
for among its own. A token is a signed (client id, credentials fingerprint, granted scopes)
triple: it dies with the client's revocation, a new secret or new keys, and after TOKEN_SECONDS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.http import HttpRequest
from django.utils import timezone

from scheduling.fhir.smart import OAuthError
from scheduling.models import FhirClient

TOKEN_SECONDS = 300
TOKEN_SALT = "propel.fhir.token"  # noqa: S105 - a signing salt, not a secret
# One hash check a call is the price of HTTP Basic; bearer tokens skip it.
RATE_LIMIT = 120  # calls per client per minute
RATE_WINDOW = 60


def scope_for(resource_type: str) -> str:
    return f"system/{resource_type}.read"


# What a token request may ask for: SMART v1 "system/Patient.read" or v2 "system/Patient.rs"
# (read and search), or "*" for every type the client holds. Nothing else: the API is read only.
SCOPE_REQUEST = re.compile(r"^system/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<access>read|rs)$")


def allowed(client: FhirClient, resource_type: str) -> bool:
    """May this client read this type? The one check the read, search and export all call.
    A call with a bearer token is held to the token's scopes as well as the client's (an admin
    who takes a scope away stops live tokens too)."""
    scope = scope_for(resource_type)
    granted = client.granted_scopes
    return scope in client.scopes and (granted is None or scope in granted)


@dataclass(frozen=True)
class Grant:
    scopes: list[str]  # the client's own scopes the token carries ("system/Patient.read")
    text: str  # the token answer's "scope", in the syntax the client asked in


def grant_scopes(client: FhirClient, requested: str) -> Grant:
    """The scopes a token gets: those asked for, each of which the client must hold (else
    invalid_scope, as SMART Backend Services asks); nothing asked: all the client's scopes."""
    held = sorted(client.scopes)
    if not requested.strip():
        return Grant(held, " ".join(held))
    granted: dict[str, str] = {}
    for word in requested.split():
        match = SCOPE_REQUEST.match(word)
        if match is None:
            raise OAuthError(
                "invalid_scope",
                f"scope '{word[:80]}' is not served: ask for system/<type>.read or "
                "system/<type>.rs (read only)",
            )
        if match["type"] == "*":
            for scope in held:
                granted.setdefault(scope, f"{scope.removesuffix('.read')}.{match['access']}")
            continue
        scope = scope_for(match["type"])
        if scope not in held:
            raise OAuthError("invalid_scope", f"the client is not registered for {word}")
        granted[scope] = word
    if not granted:
        raise OAuthError("invalid_scope", "the client holds no scope")
    scopes = sorted(granted)
    return Grant(scopes, " ".join(granted[scope] for scope in scopes))


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
    """A fresh secret for `client` (the old one and its tokens stop working). A client with
    registered keys has no secret: ValueError."""
    if client.jwks:
        raise ValueError("this client signs with its registered keys and has no secret")
    secret = secrets.token_urlsafe(32)
    client.secret_hash = make_password(secret)
    client.save(update_fields=["secret_hash"])
    return secret


def fhir_client_set_keys(client: FhirClient, jwks: dict[str, Any]) -> None:
    """Register `jwks` (already checked by smart.clean_jwks) as the client's keys. A client with
    keys authenticates only with signed assertions: its secret stops working now, and comes back
    only as a new secret once the keys are removed. Live tokens die (the fingerprint changes)."""
    client.jwks = jwks
    fields = ["jwks"]
    if jwks:
        client.secret_hash = make_password(None)  # unusable: matches no secret
        fields.append("secret_hash")
    client.save(update_fields=fields)


def _fingerprint(client: FhirClient) -> str:
    keys = json.dumps(client.jwks, sort_keys=True)
    return hashlib.sha256(f"{client.secret_hash}|{keys}".encode()).hexdigest()[:16]


def token_issue(client: FhirClient, scopes: list[str] | None = None) -> str:
    """A bearer token for `scopes` (by default all the client's)."""
    granted = sorted(client.scopes if scopes is None else scopes)
    return signing.dumps(
        {"c": client.client_id, "f": _fingerprint(client), "s": granted}, salt=TOKEN_SALT
    )


def _check_secret(client_id: str, secret: str) -> FhirClient | None:
    client = FhirClient.objects.filter(client_id=client_id, active=True).first()
    if client is None:
        make_password(secret)  # the same work as a real check: no timing oracle on client ids
        return None
    if client.jwks:
        return None  # a client with keys signs; its old secret hash is unusable anyway
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
        scopes = data.get("s")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            return None
        client.granted_scopes = frozenset(scopes)
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
            "jwks": {},
            "active": True,
        },
    )
    return client
