"""SMART Backend Services (issue 23, item 4): a client registered with its public keys proves who
it is with a JWT signed by its private key (SMART App Launch 2, client-confidential-asymmetric,
https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html; RFC 7523).

Checked here: the key set an admin registers (public RSA or EC keys with a kid, nothing private),
and each client assertion (RS384 or ES384 only, the key by kid, iss = sub = the client id,
aud = our token URL, exp present and at most five minutes ahead, a jti used once). Errors are
OAuth 2 errors (RFC 6749 section 5.2), raised as OAuthError for the token view to answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from scheduling.models import FhirAssertionUse, FhirClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# alg -> the kty its key must have (SMART: servers validate at least one of RS384, ES384).
ALGORITHMS = {"RS384": "RSA", "ES384": "EC"}
EC_CURVE = "P-384"  # ES384 is ECDSA on P-384 (RFC 7518, section 3.4)
MIN_RSA_BITS = 2048
MAX_ASSERTION_SECONDS = 300  # "exp ... SHALL be no more than five minutes in the future"
LEEWAY_SECONDS = 30  # clock skew allowed between the client and us, both ways
MAX_ASSERTION_CHARS = 8000
MAX_KEYS = 10
# Members of a JWK that belong to the private key (RFC 7518, sections 6.2.2 and 6.3.2).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class OAuthError(Exception):
    """An OAuth 2 error answer of the token endpoint (RFC 6749, section 5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        # The registered client the refused request named, when there is one (for the audit).
        self.client: FhirClient | None = None


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, 401)


def token_url() -> str:
    """The token endpoint's one address: what an assertion's aud must be, and what the
    smart-configuration and the CapabilityStatement advertise. Built from SITE_URL, not from the
    request's Host, so it does not change with the address a caller happened to use."""
    return settings.SITE_URL + reverse("fhir:token")


# --- The key set an admin registers ----------------------------------------------------------


def _check_key(key: Any, position: int) -> str:
    """The key's kid, or ValueError saying what is wrong with it."""
    if not isinstance(key, dict):
        raise ValueError(f"key {position} is not a JSON object")
    kid = key.get("kid")
    name = f"key '{kid}'" if isinstance(kid, str) and kid else f"key {position}"
    private = [member for member in PRIVATE_MEMBERS if member in key]
    if private:
        raise ValueError(
            f"{name} holds private key material ({', '.join(private)}): register only the "
            "public key; the private key never leaves the client"
        )
    if not isinstance(kid, str) or not kid.strip():
        raise ValueError(f"{name} has no kid: every key needs one (the assertion names it)")
    kty = key.get("kty")
    if kty not in ("RSA", "EC"):
        raise ValueError(f"{name}: kty must be RSA or EC, not {kty!r}")
    alg = key.get("alg")
    if alg is not None and ALGORITHMS.get(alg) != kty:
        raise ValueError(f"{name}: alg must be RS384 (RSA) or ES384 (EC), not {alg!r}")
    if key.get("use", "sig") != "sig":
        raise ValueError(f"{name}: use must be sig")
    if kty == "EC" and key.get("crv") != EC_CURVE:
        raise ValueError(f"{name}: an EC key must be on {EC_CURVE} (ES384)")
    try:
        parsed = jwt.PyJWK(key, algorithm="RS384" if kty == "RSA" else "ES384")
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{name} is not a valid {kty} public key ({error})") from None
    if kty == "RSA" and parsed.key.key_size < MIN_RSA_BITS:
        raise ValueError(f"{name}: an RSA key needs at least {MIN_RSA_BITS} bits")
    return kid


def clean_jwks(value: Any) -> dict[str, Any]:
    """The registered key set, checked: {"keys": [...]} of RSA or EC public keys, each with a kid
    unique in the set. Raises ValueError with a message fit for the admin form."""
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise ValueError('a JWKS is a JSON object {"keys": [...]}')
    keys = value["keys"]
    if not keys:
        raise ValueError("the key set has no keys (leave the field empty instead)")
    if len(keys) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} keys")
    kids = [_check_key(key, position) for position, key in enumerate(keys, start=1)]
    if len(set(kids)) != len(kids):
        raise ValueError("each kid must be unique in the key set")
    return {"keys": keys}


# --- A client assertion ----------------------------------------------------------------------


def _key_for(client: FhirClient, kid: str, alg: str) -> jwt.PyJWK:
    """The one registered key with this kid and a kty that fits alg (SMART's key selection)."""
    keys = client.jwks.get("keys", []) if isinstance(client.jwks, dict) else []
    found = [k for k in keys if k.get("kid") == kid and k.get("kty") == ALGORITHMS[alg]]
    if len(found) != 1:
        raise invalid_client(f"no registered {ALGORITHMS[alg]} key with kid '{kid[:64]}'")
    return jwt.PyJWK(found[0], algorithm=alg)


def _spend_jti(client: FhirClient, jti: str, expires_at: dt.datetime, now: dt.datetime) -> None:
    """Record the jti; a second use (a replay, or a race of two) fails on the unique constraint.
    Rows whose assertion has expired go first: they can no longer be replayed anyway."""
    FhirAssertionUse.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            FhirAssertionUse.objects.create(client=client, jti=jti, expires_at=expires_at)
    except IntegrityError:
        raise invalid_client("this assertion's jti was used before (a replay)") from None


def verify_assertion(
    assertion: str, *, client_id: str, audience: str, now: dt.datetime
) -> FhirClient:
    """The active client that signed `assertion`, which is then spent (its jti recorded), or
    OAuthError invalid_client. `client_id` is the form's client_id ("" when absent)."""
    if len(assertion) > MAX_ASSERTION_CHARS:
        raise invalid_client("the client assertion is too long")
    try:
        unverified = jwt.decode_complete(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise invalid_client("the client assertion is not a well-formed JWT") from None
    header, claims = unverified["header"], unverified["payload"]
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise invalid_client("the client assertion must be signed with RS384 or ES384")
    if header.get("typ", "JWT") != "JWT":
        raise invalid_client("the client assertion's typ must be JWT")
    if "jku" in header:
        raise invalid_client("jku is not supported: the client's keys are registered by value")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise invalid_client("the client assertion has no kid header")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise invalid_client("the client assertion has no iss")
    if client_id and client_id != issuer:
        raise invalid_client("client_id and the assertion's iss differ")
    client = FhirClient.objects.filter(client_id=issuer, active=True).first()
    if client is None:
        raise invalid_client("unknown or revoked client")
    try:
        _verify_signed(assertion, client=client, kid=kid, alg=alg, audience=audience, now=now)
    except OAuthError as error:
        error.client = client
        raise
    return client


def _verify_signed(
    assertion: str, *, client: FhirClient, kid: str, alg: str, audience: str, now: dt.datetime
) -> None:
    """The signature by the client's key `kid`, the claims, then the jti spent; or OAuthError."""
    key = _key_for(client, kid, alg)
    try:
        verified = jwt.decode(
            assertion,
            key.key,
            algorithms=[alg],
            audience=audience,
            issuer=client.client_id,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.InvalidAudienceError:
        raise invalid_client(f"the assertion's aud must be the token URL {audience}") from None
    except jwt.ExpiredSignatureError:
        raise invalid_client("the client assertion has expired") from None
    except jwt.MissingRequiredClaimError as error:
        raise invalid_client(f"the client assertion has no {error.claim}") from None
    except jwt.PyJWTError as error:
        raise invalid_client(f"the client assertion does not verify ({error})") from None
    except (OverflowError, ValueError, TypeError):  # e.g. a signed exp of 1e999 (infinity)
        raise invalid_client("the client assertion's claims are malformed") from None
    if verified["sub"] != client.client_id:
        raise invalid_client("the assertion's sub must be the client id (as iss)")
    exp = verified["exp"]
    if (
        not isinstance(exp, int | float)
        or exp > now.timestamp() + MAX_ASSERTION_SECONDS + LEEWAY_SECONDS
    ):
        raise invalid_client(
            f"the assertion's exp must be at most {MAX_ASSERTION_SECONDS} seconds ahead"
        )
    jti = verified["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise invalid_client("the assertion's jti must be a string of 1 to 255 characters")
    expires_at = dt.datetime.fromtimestamp(exp + LEEWAY_SECONDS, tz=dt.UTC)
    _spend_jti(client, jti, expires_at, now)


def smart_configuration(*, token_endpoint: str, scopes: list[str]) -> dict[str, Any]:
    """/fhir/R4/.well-known/smart-configuration (SMART App Launch 2, conformance.html)."""
    return {
        "token_endpoint": token_endpoint,
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": scopes,
        "capabilities": [
            "client-confidential-asymmetric",
            "client-confidential-symmetric",
            "permission-v1",
            "permission-v2",
        ],
    }
