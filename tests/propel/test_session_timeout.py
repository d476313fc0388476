"""Staff sessions end after 15 minutes idle and after 12 hours in total
(propel.middleware.StaffSessionTimeoutMiddleware)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from propel.models import AuditEvent
from tests.clinic_time import stopped_clock
from tests.factories import TEST_PASSWORD

NOW = dt.datetime(2027, 1, 5, 16, 0, tzinfo=dt.UTC)  # 8am in Sacramento
LOGIN = reverse("propel:login")
TODAY = reverse("scheduling:today")


@pytest.fixture
def clock():
    yield from stopped_clock(NOW)


@pytest.fixture
def signed_in(clock, front_desk) -> Client:
    """Signed in through the real pages: password, then a code from the app."""
    device = TOTPDevice.objects.create(user=front_desk, name="Authenticator app")
    client = Client()
    client.post(LOGIN, {"username": "frontdesk", "password": TEST_PASSWORD})
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    response = client.post(reverse("propel:second_factor"), {"code": f"{code:06d}"})
    assert response["Location"] == TODAY
    return client


def test_fourteen_quiet_minutes_keep_the_session(signed_in, clock):
    clock.shift(dt.timedelta(minutes=14))

    assert signed_in.get(TODAY).status_code == 200


def test_sixteen_idle_minutes_end_the_session(signed_in, clock, front_desk):
    clock.shift(dt.timedelta(minutes=16))

    response = signed_in.get(TODAY)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/staff/"
    page = signed_in.get(response["Location"])
    assert "You were signed out after 15 minutes without activity." in page.content.decode()
    assert "_auth_user_id" not in signed_in.session
    expired = AuditEvent.objects.get(action="auth.session_expired")
    assert expired.actor == front_desk
    assert expired.detail == {"reason": "idle"}


def test_activity_keeps_the_session_alive_until_twelve_hours(signed_in, clock):
    for _step in range(12 * 6 - 1):  # a page every 10 minutes for 11 h 50 min
        clock.shift(dt.timedelta(minutes=10))
        assert signed_in.get(TODAY).status_code == 200

    clock.shift(dt.timedelta(minutes=10, seconds=1))
    response = signed_in.get(TODAY, follow=True)

    assert response.redirect_chain[0] == (f"{LOGIN}?next=/staff/", 302)
    assert "Your session reached its 12-hour limit" in response.content.decode()
    assert AuditEvent.objects.get(action="auth.session_expired").detail == {"reason": "absolute"}


def test_signing_in_again_restarts_both_clocks(signed_in, clock, front_desk):
    clock.shift(dt.timedelta(hours=13))
    assert signed_in.get(TODAY).status_code == 302

    client = Client()
    client.post(LOGIN, {"username": "frontdesk", "password": TEST_PASSWORD})
    clock.shift(dt.timedelta(minutes=10))

    assert client.get(reverse("propel:second_factor")).status_code == 200


def test_an_expired_post_does_not_come_back_as_a_get(signed_in, clock):
    clock.shift(dt.timedelta(minutes=16))

    response = signed_in.post(reverse("propel:logout"))

    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_an_expired_htmx_request_sends_the_whole_page_to_sign_in(signed_in, clock):
    clock.shift(dt.timedelta(minutes=16))

    response = signed_in.get(TODAY, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{LOGIN}?next=/staff/"


def test_anonymous_visitors_are_not_affected(client, clock):
    assert client.get(reverse("propel:home")).status_code == 200
    clock.shift(dt.timedelta(hours=13))
    assert client.get(reverse("propel:home")).status_code == 200
