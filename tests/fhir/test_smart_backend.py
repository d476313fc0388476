"""SMART Backend Services (issue 23, item 4): a client registered with its public keys gets a token
with a signed JWT client assertion (RS384 or ES384) and reads with it; every faulty assertion is
an OAuth invalid_client; scopes narrow the token; the smart-configuration and the
CapabilityStatement say where and how."""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from propel.models import AuditEvent
from scheduling.fhir import access, smart
from scheduling.fhir.ids import fhir_id
from scheduling.models import FhirAssertionUse, FhirClient
from tests.factories import PatientFactory
from tests.fhir.support import api_client, basic, validated

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4/"
TOKEN = f"{BASE}auth/token"


class Signer:
    """A client's key pair: the public half as a JWK with its kid, the private half to sign."""

    def __init__(self, alg: str, kid: str) -> None:
        self.alg, self.kid = alg, kid
        if alg == "RS384":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP384R1())
            public = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**public, "kid": kid}

    def private_jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if self.alg == "RS384" else ECAlgorithm
        return {**algorithm.to_jwk(self.private, as_dict=True), "kid": self.kid}


@pytest.fixture(scope="module")
def rsa_key() -> Signer:
    return Signer("RS384", "rsa-1")


@pytest.fixture(scope="module")
def ec_key() -> Signer:
    return Signer("ES384", "ec-1")


@pytest.fixture(scope="module")
def other_key() -> Signer:
    return Signer("RS384", "other-1")


def keyed_client(*signers: Signer, scopes: list[str] | None = None) -> FhirClient:
    client = api_client(scopes=scopes).client
    access.fhir_client_set_keys(client, smart.clean_jwks({"keys": [s.jwk for s in signers]}))
    return client


def assertion(
    signer: Signer,
    client: FhirClient,
    *,
    claims: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    headers: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    body = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": smart.token_url(),
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
        **(claims or {}),
    }
    for name in drop:
        body.pop(name)
    return jwt.encode(
        body, signer.private, algorithm=signer.alg, headers={"kid": signer.kid, **(headers or {})}
    )


def request_token(client: Client, signed: str, **form: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": smart.ASSERTION_TYPE,
        "client_assertion": signed,
        **form,
    }
    return client.post(TOKEN, data)


def oauth_error(response: Any, status: int, error: str) -> str:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    return body["error_description"]


def bearer(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.content[:500]
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}


def _patient_url() -> str:
    return f"{BASE}Patient/{fhir_id('Patient', PatientFactory().pk)}"


@pytest.mark.parametrize("key_name", ["rsa_key", "ec_key"])
def test_a_signed_assertion_gets_a_token_that_reads_a_patient(client, request, key_name):
    signer = request.getfixturevalue(key_name)
    registered = keyed_client(signer)
    url = _patient_url()
    response = request_token(client, assertion(signer, registered))
    assert response["Cache-Control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == access.TOKEN_SECONDS <= 300
    assert token["scope"] == " ".join(sorted(registered.scopes))
    read = client.get(url, **bearer(response))
    assert read.status_code == 200
    assert validated(read.json())["resourceType"] == "Patient"
    event = AuditEvent.objects.get(action="fhir.token")
    assert event.detail["method"] == "private_key_jwt"
    assert event.actor_label == f"fhir:{registered.client_id}"


def test_the_form_client_id_must_match_the_issuer(client, rsa_key):
    registered = keyed_client(rsa_key)
    signed = assertion(rsa_key, registered)
    bearer(request_token(client, signed, client_id=registered.client_id))
    other = api_client()
    oauth_error(
        request_token(client, assertion(rsa_key, registered), client_id=other.client.client_id),
        401,
        "invalid_client",
    )


def _hs256(signer: Signer, client: FhirClient) -> str:
    body = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": smart.token_url(),
        "exp": int(time.time()) + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(body, "a-shared-secret-of-32-bytes-or-more!", "HS256", {"kid": signer.kid})


def _unsigned(signer: Signer, client: FhirClient) -> str:
    body = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": smart.token_url(),
        "exp": int(time.time()) + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(body, None, "none", {"kid": signer.kid})


BAD_ASSERTIONS: dict[str, Callable[[Signer, Signer, FhirClient], str]] = {
    "wrong aud": lambda s, o, c: assertion(s, c, claims={"aud": "https://elsewhere/token"}),
    "aud a prefix of ours": lambda s, o, c: assertion(s, c, claims={"aud": smart.token_url()[:-1]}),
    "wrong iss": lambda s, o, c: assertion(s, c, claims={"iss": "someone-else"}),
    "wrong sub": lambda s, o, c: assertion(s, c, claims={"sub": "someone-else"}),
    "expired": lambda s, o, c: assertion(s, c, claims={"exp": int(time.time()) - 120}),
    "exp too far ahead": lambda s, o, c: assertion(s, c, claims={"exp": int(time.time()) + 600}),
    "no exp": lambda s, o, c: assertion(s, c, drop=("exp",)),
    "no jti": lambda s, o, c: assertion(s, c, drop=("jti",)),
    "no sub": lambda s, o, c: assertion(s, c, drop=("sub",)),
    "unknown kid": lambda s, o, c: assertion(s, c, headers={"kid": "nobody"}),
    "no kid": lambda s, o, c: jwt.encode(
        {"iss": c.client_id, "sub": c.client_id, "aud": smart.token_url(), "exp": 2**31},
        s.private,
        algorithm=s.alg,
    ),
    "HS256": lambda s, o, c: _hs256(s, c),
    "alg none": lambda s, o, c: _unsigned(s, c),
    "RS256 with the right key": lambda s, o, c: jwt.encode(
        {
            "iss": c.client_id,
            "sub": c.client_id,
            "aud": smart.token_url(),
            "exp": int(time.time()) + 60,
            "jti": "x",
        },
        s.private,
        algorithm="RS256",
        headers={"kid": s.kid},
    ),
    "another client's key under our kid": lambda s, o, c: assertion(o, c, headers={"kid": s.kid}),
    "another client's key and kid": lambda s, o, c: assertion(o, c),
    "a jku header": lambda s, o, c: assertion(s, c, headers={"jku": "https://attacker/jwks"}),
    "not a JWT": lambda s, o, c: "not.a.jwt",
    "tampered payload": lambda s, o, c: _tampered(assertion(s, c)),
}


def _tampered(signed: str) -> str:
    header, payload, signature = signed.split(".")
    return ".".join([header, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), signature])


@pytest.mark.parametrize("case", sorted(BAD_ASSERTIONS))
def test_a_faulty_assertion_is_invalid_client(client, rsa_key, other_key, case):
    registered = keyed_client(rsa_key)
    keyed_client(other_key)  # the other key is registered, to another client
    signed = BAD_ASSERTIONS[case](rsa_key, other_key, registered)
    oauth_error(request_token(client, signed), 401, "invalid_client")
    assert not AuditEvent.objects.filter(action="fhir.token").exists()
    assert not FhirAssertionUse.objects.exists()  # a refused assertion spends no jti


def test_a_jti_is_used_once(client, ec_key):
    registered = keyed_client(ec_key)
    signed = assertion(ec_key, registered)
    bearer(request_token(client, signed))
    description = oauth_error(request_token(client, signed), 401, "invalid_client")
    assert "replay" in description
    # The same jti in a new assertion is refused too; another client may use the same jti.
    jti = FhirAssertionUse.objects.get().jti
    oauth_error(
        request_token(client, assertion(ec_key, registered, claims={"jti": jti})),
        401,
        "invalid_client",
    )
    other = keyed_client(ec_key)
    bearer(request_token(client, assertion(ec_key, other, claims={"jti": jti})))


def test_spent_jtis_are_forgotten_once_their_assertion_has_expired(client, rsa_key):
    registered = keyed_client(rsa_key)
    FhirAssertionUse.objects.create(client=registered, jti="old", expires_at="2020-01-01T00:00:00Z")
    bearer(request_token(client, assertion(rsa_key, registered)))
    assert FhirAssertionUse.objects.count() == 1
    assert not FhirAssertionUse.objects.filter(jti="old").exists()


def test_a_requested_scope_the_client_lacks_is_invalid_scope(client, rsa_key):
    registered = keyed_client(rsa_key, scopes=["system/Patient.read"])
    for scope in (
        "system/Appointment.read",
        "system/Patient.read system/Appointment.rs",
        "system/Patient.write",
        "system/Patient.cruds",
        "patient/Patient.read",
        "system/Patient.rs?name=x",
        "openid",
    ):
        signed = assertion(rsa_key, registered)
        oauth_error(request_token(client, signed, scope=scope), 400, "invalid_scope")


def test_a_token_for_patients_only_cannot_read_appointments(client, rsa_key):
    registered = keyed_client(rsa_key)  # holds every scope
    url = _patient_url()
    response = request_token(client, assertion(rsa_key, registered), scope="system/Patient.rs")
    assert response.json()["scope"] == "system/Patient.rs"
    headers = bearer(response)
    assert client.get(url, **headers).status_code == 200
    refused = client.get(f"{BASE}Appointment", **headers)
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"


def test_a_wildcard_scope_grants_what_the_client_holds(client, rsa_key):
    registered = keyed_client(rsa_key, scopes=["system/Appointment.read"])
    response = request_token(client, assertion(rsa_key, registered), scope="system/*.rs")
    assert response.json()["scope"] == "system/Appointment.rs"
    headers = bearer(response)
    assert client.get(f"{BASE}Appointment", **headers).status_code == 200
    assert client.get(f"{BASE}Patient", **headers).status_code == 403


def test_taking_a_scope_away_stops_live_tokens(client, rsa_key):
    registered = keyed_client(rsa_key)
    headers = bearer(request_token(client, assertion(rsa_key, registered)))
    assert client.get(f"{BASE}Patient", **headers).status_code == 200
    FhirClient.objects.filter(pk=registered.pk).update(scopes=["system/Appointment.read"])
    assert client.get(f"{BASE}Patient", **headers).status_code == 403


def test_a_revoked_client_gets_no_token_and_its_tokens_stop(client, rsa_key):
    registered = keyed_client(rsa_key)
    headers = bearer(request_token(client, assertion(rsa_key, registered)))
    FhirClient.objects.filter(pk=registered.pk).update(active=False)
    assert client.get(f"{BASE}Patient", **headers).status_code == 401
    oauth_error(request_token(client, assertion(rsa_key, registered)), 401, "invalid_client")


def test_new_keys_stop_live_tokens_and_the_old_key(client, rsa_key, ec_key):
    registered = keyed_client(rsa_key)
    headers = bearer(request_token(client, assertion(rsa_key, registered)))
    access.fhir_client_set_keys(registered, {"keys": [ec_key.jwk]})
    assert client.get(f"{BASE}Patient", **headers).status_code == 401
    oauth_error(request_token(client, assertion(rsa_key, registered)), 401, "invalid_client")
    bearer(request_token(client, assertion(ec_key, registered)))


def test_a_client_with_keys_has_no_usable_secret(client, rsa_key):
    new = api_client()
    assert client.get(f"{BASE}Patient", **basic(new)).status_code == 200
    access.fhir_client_set_keys(new.client, {"keys": [rsa_key.jwk]})
    assert client.get(f"{BASE}Patient", **basic(new)).status_code == 401
    response = client.post(TOKEN, {"grant_type": "client_credentials"}, **basic(new))
    oauth_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"] == 'Basic realm="fhir"'
    assert not check_password(new.secret, FhirClient.objects.get(pk=new.client.pk).secret_hash)
    with pytest.raises(ValueError):
        access.fhir_client_new_secret(new.client)


def test_the_secret_path_keeps_working_and_narrows_scopes(client):
    new = api_client()
    response = client.post(
        TOKEN,
        {"grant_type": "client_credentials", "scope": "system/Appointment.read"},
        **basic(new),
    )
    assert response.json()["scope"] == "system/Appointment.read"
    headers = bearer(response)
    assert client.get(f"{BASE}Appointment", **headers).status_code == 200
    assert client.get(f"{BASE}Patient", **headers).status_code == 403
    assert AuditEvent.objects.get(action="fhir.token").detail["method"] == "client_secret"


def test_the_token_endpoint_answers_oauth_errors(client, rsa_key):
    new = api_client()
    registered = keyed_client(rsa_key)
    oauth_error(client.post(TOKEN, {"grant_type": "password"}), 400, "unsupported_grant_type")
    oauth_error(client.post(TOKEN, {}), 400, "invalid_request")
    both = request_token(client, assertion(rsa_key, registered), **{"client_secret": new.secret})
    oauth_error(both, 400, "invalid_request")
    wrong_type = request_token(
        client, assertion(rsa_key, registered), client_assertion_type="urn:other"
    )
    oauth_error(wrong_type, 400, "invalid_request")
    response = client.get(TOKEN)
    oauth_error(response, 405, "invalid_request")
    assert response["Allow"] == "POST"


def test_a_refused_assertion_of_a_known_client_is_audited(client, rsa_key):
    registered = keyed_client(rsa_key)
    signed = assertion(rsa_key, registered)
    bearer(request_token(client, signed))
    request_token(client, signed)
    event = AuditEvent.objects.get(action="fhir.token_refused")
    assert event.detail == {"client": registered.client_id, "error": "invalid_client"}


def test_the_smart_configuration(client):
    response = client.get(f"{BASE}.well-known/smart-configuration", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    config = response.json()
    assert config["token_endpoint"] == smart.token_url()
    assert config["token_endpoint"].endswith(reverse("fhir:token"))
    assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
    assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert config["grant_types_supported"] == ["client_credentials"]
    assert "client-confidential-asymmetric" in config["capabilities"]
    assert {"system/Patient.read", "system/Appointment.rs", "system/*.rs"} <= set(
        config["scopes_supported"]
    )
    assert client.post(f"{BASE}.well-known/smart-configuration").status_code == 405


def test_the_capability_statement_names_smart_and_the_token_url(client):
    statement = validated(client.get(f"{BASE}metadata").json())
    security = statement["rest"][0]["security"]
    coding = security["service"][0]["coding"][0]
    assert coding == {
        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
        "code": "SMART-on-FHIR",
        "display": "SMART-on-FHIR",
    }
    (oauth,) = security["extension"]
    assert oauth["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    assert oauth["extension"] == [{"url": "token", "valueUri": smart.token_url()}]


# --- The key set in the admin ----------------------------------------------------------------


def _add(client: Client, jwks: str) -> Any:
    return client.post(
        reverse("admin:scheduling_fhirclient_add"),
        {"name": "Keyed EHR", "scopes": ["system/Patient.read"], "jwks": jwks, "active": "on"},
        follow=True,
    )


def test_the_admin_registers_public_keys_and_shows_no_secret(client_for, admin_user, ec_key):
    page = _add(client_for(admin_user), json.dumps({"keys": [ec_key.jwk]}))
    text = page.content.decode()
    row = FhirClient.objects.get()
    assert f"Client id {row.client_id}" in text
    assert "has no secret" in text
    assert row.jwks == {"keys": [ec_key.jwk]}
    assert row.secret_hash.startswith("!")  # Django's unusable password
    assert AuditEvent.objects.get(action="fhir.client_created").detail["kids"] == ["ec-1"]


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ("private", "private key material"),
        ('{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}', "has no kid"),
        ('{"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]}', "private key material"),
        ('{"keys": [{"kty": "OKP", "kid": "a", "crv": "Ed25519", "x": "x"}]}', "RSA or EC"),
        ('{"keys": []}', "no keys"),
        ('[{"kty": "RSA"}]', '{"keys": [...]}'),
        ("dup", "unique"),
        ("p256", "P-384"),
    ],
)
def test_the_admin_refuses_a_bad_key_set(client_for, admin_user, rsa_key, jwks, message):
    if jwks == "private":
        jwks = json.dumps({"keys": [rsa_key.private_jwk()]})
    elif jwks == "dup":
        jwks = json.dumps({"keys": [rsa_key.jwk, rsa_key.jwk]})
    elif jwks == "p256":
        public = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), True)
        jwks = json.dumps({"keys": [{**public, "kid": "p256"}]})
    page = _add(client_for(admin_user), jwks)
    assert page.status_code == 200
    assert message in html.unescape(page.content.decode())
    assert not FhirClient.objects.exists()


def test_the_admin_will_not_give_a_keyed_client_a_secret(client_for, admin_user, rsa_key):
    registered = keyed_client(rsa_key)
    before = FhirClient.objects.get(pk=registered.pk).secret_hash
    page = client_for(admin_user).post(
        reverse("admin:scheduling_fhirclient_changelist"),
        {"action": "new_secret", "_selected_action": [registered.pk]},
        follow=True,
    )
    assert "remove its keys first" in page.content.decode()
    assert FhirClient.objects.get(pk=registered.pk).secret_hash == before


def test_failed_token_requests_are_rate_limited_by_address(client, rsa_key):
    registered = keyed_client(rsa_key)
    with time_machine.travel("2026-12-01 10:00:05Z", tick=False):
        bad = assertion(rsa_key, registered, claims={"aud": "https://elsewhere/token"})
        statuses = [request_token(client, bad).status_code for _ in range(21)]
        assert statuses[:20] == [401] * 20
        response = request_token(client, bad)
        oauth_error(response, 429, "invalid_client")
        assert response["Retry-After"] == "60"


def test_the_documented_example_gets_a_token(client):
    """docs/fhir.md's worked example: a key made as it says, its printed JWKS accepted by the
    admin's check, its assertion accepted by the token endpoint."""
    key = ec.generate_private_key(ec.SECP384R1())
    public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwks = json.loads(
        json.dumps({"keys": [{**public, "kid": "ehr-2026-12", "alg": "ES384", "use": "sig"}]})
    )
    registered = api_client().client
    access.fhir_client_set_keys(registered, smart.clean_jwks(jwks))
    now = int(time.time())
    signed = jwt.encode(
        {
            "iss": registered.client_id,
            "sub": registered.client_id,
            "aud": smart.token_url(),
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        },
        key,
        algorithm="ES384",
        headers={"kid": "ehr-2026-12"},
    )
    response = request_token(client, signed, scope="system/Patient.rs system/Appointment.rs")
    assert response.json()["scope"] == "system/Appointment.rs system/Patient.rs"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.race
def test_two_racing_requests_with_one_assertion_get_one_token(rsa_key):
    """Both pass every check at once; the unique constraint on (client, jti) lets one through."""
    registered = keyed_client(rsa_key)
    signed = assertion(rsa_key, registered)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            start.wait(timeout=10)
            smart.verify_assertion(
                signed,
                client_id="",
                audience=smart.token_url(),
                now=dt.datetime.now(dt.UTC),
            )
            outcomes.append("token")
        except smart.OAuthError as error:
            outcomes.append(error.error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["invalid_client", "token"]
    assert FhirAssertionUse.objects.count() == 1


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    garbage=st.text(max_size=300)
    | st.builds(".".join, st.lists(st.text(max_size=80), min_size=3, max_size=3))
)
def test_any_assertion_text_is_an_oauth_error_never_a_500(client, garbage):
    response = request_token(client, garbage)
    assert response.status_code in (400, 401, 429)
    assert "error" in response.json()


def test_a_signed_infinite_exp_is_invalid_client(client, rsa_key):
    registered = keyed_client(rsa_key)
    header = {"alg": "RS384", "kid": rsa_key.kid, "typ": "JWT"}
    body = (
        f'{{"iss": "{registered.client_id}", "sub": "{registered.client_id}", '
        f'"aud": "{smart.token_url()}", "exp": 1e999, "jti": "x"}}'
    )
    signed = jwt.api_jws.encode(body.encode(), rsa_key.private, "RS384", headers=header)
    oauth_error(request_token(client, signed), 401, "invalid_client")
