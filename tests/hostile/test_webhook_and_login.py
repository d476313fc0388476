"""Hostile input to the SMS webhook (any body, any JSON shape, signed or not) and to the staff
sign-in: never a 500; an unsigned request changes nothing; sign-in never lets a request set a
user's flags or sign in without the password."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from intake.models import Patient
from propel.models import AuditEvent
from scheduling.reminders.sms_webhook import SIGNATURE_HEADER, signature_for
from tests.factories import PatientFactory, UserFactory
from tests.hostile import HOSTILE, assert_escaped, assert_no_500, hostile_data, text_value

pytestmark = pytest.mark.django_db

URL = "/webhooks/sms/"
MOBILE = "+19165550177"
CONSENTED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    text_value,
    st.sampled_from([MOBILE, "9165550177", "STOP", " stop ", "START", "+1", "+999999999999999"]),
)
json_value = st.recursive(
    json_scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=12,
)
payload = st.one_of(
    json_value,
    st.fixed_dictionaries({"from": json_value, "text": json_value}),
    st.fixed_dictionaries(
        {"from": st.sampled_from([MOBILE, "(916) 555-0177"]), "text": json_scalar},
        optional={"extra": json_value, "consent_sms": json_value, "patient": json_value},
    ),
)
body = st.one_of(
    payload.map(lambda p: json.dumps(p).encode()),
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    st.binary(min_size=10_001, max_size=12_000),
)
signature_kind = st.sampled_from(["valid", "sha256=valid", "none", "wrong", "garbage"])


@pytest.fixture
def texted(db):
    return PatientFactory(mobile=MOBILE, consent_sms=True, consent_sms_at=CONSENTED)


def headers_for(raw: bytes, kind: str, junk: str) -> dict:
    if kind == "valid":
        return {"HTTP_X_PROPEL_SIGNATURE": signature_for(raw)}
    if kind == "sha256=valid":
        return {"HTTP_X_PROPEL_SIGNATURE": f"sha256={signature_for(raw)}"}
    if kind == "wrong":
        return {"HTTP_X_PROPEL_SIGNATURE": signature_for(raw + b"x")}
    if kind == "garbage":
        # Header values must be latin-1 for the test client; hostile text is squeezed into it.
        return {"HTTP_X_PROPEL_SIGNATURE": junk.encode("latin-1", "replace").decode("latin-1")}
    return {}


@HOSTILE
@given(raw=body, kind=signature_kind, junk=st.text(max_size=100).filter(lambda s: "\n" not in s))
def test_the_sms_webhook_takes_any_body(texted, raw, kind, junk):
    # The examples share one patient (Hypothesis does not reset the database between them): an
    # earlier signed STOP may already have opted them out, so "unchanged" is the rule, not "True".
    texted.refresh_from_db()
    consent_before = texted.consent_sms
    before = AuditEvent.objects.filter(action="patient.sms_opt_out").count()
    response = Client(enforce_csrf_checks=True).post(
        URL, data=raw, content_type="application/json", **headers_for(raw, kind, junk)
    )
    assert_no_500(response)
    signed = kind in ("valid", "sha256=valid")
    assert response.status_code in ((200, 400) if signed else (400, 403))
    if not signed:
        texted.refresh_from_db()
        assert texted.consent_sms is consent_before
        assert AuditEvent.objects.filter(action="patient.sms_opt_out").count() == before
    if response.status_code == 200:
        assert response.json()["action"] in ("opt_out", "none")
    # Whatever the body, only this number's consent may change.
    assert Patient.objects.get() == texted


def test_the_signature_header_is_the_documented_one():
    assert SIGNATURE_HEADER == "X-Propel-Signature"


@pytest.fixture
def staff(db):
    return UserFactory(username="frontdesk", front_desk=True)


@HOSTILE
@given(
    data=hostile_data(("username", "password", "next")),
    next_param=text_value,
    username=st.sampled_from(["frontdesk", "admin", "' OR 1=1 --", ""]),
)
def test_the_staff_login_takes_any_post(staff, data, next_param, username):
    data = {"username": username, **data}
    client = Client()
    response = client.post(f"{reverse('propel:login')}?{_query(next_param)}", data)
    assert_no_500(response)
    assert response.status_code in (200, 302, 403, 429)
    assert_escaped(response, data)
    if response.status_code == 302:
        # Only the account lockout or a refusal redirects without the right password.
        assert (
            response["Location"] in (reverse("propel:login"),)
            or "second-factor" not in (response["Location"])
        )
    assert "_auth_user_id" not in client.session
    staff.refresh_from_db()
    assert (staff.is_staff, staff.is_superuser) == (False, False)
    assert not User.objects.exclude(pk=staff.pk).exists()


def _query(next_param: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": next_param})
