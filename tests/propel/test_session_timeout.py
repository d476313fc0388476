"""Staff sessions end after 15 minutes idle and after 12 hours in total
(propel.middleware.StaffSessionTimeoutMiddleware)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

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


# --- Polling is not activity (issue 16, finding 3) ----------------------------------------------

DAY_SHEET = reverse("scheduling:day_sheet")
POLL = {
    "HX-Request": "true",
    "X-Propel-Poll": "1",
    "HX-Current-URL": f"http://testserver{DAY_SHEET}?date=2027-01-05",
}


def poll(client: Client):
    return client.get(f"{DAY_SHEET}?date=2027-01-05", headers=POLL)


def test_polls_every_30_seconds_do_not_keep_an_idle_session(signed_in, clock, front_desk):
    for _step in range(30):  # a poll every 30 s for 15 minutes: still inside the idle time
        clock.shift(dt.timedelta(seconds=30))
        response = poll(signed_in)
        assert response.status_code == 200
        assert "HX-Redirect" not in response

    clock.shift(dt.timedelta(seconds=30))
    response = poll(signed_in)

    assert response.status_code == 200
    # Back to the page that was polling, not to its fragment.
    assert response["HX-Redirect"] == f"{LOGIN}?next=/staff/day/%3Fdate%3D2027-01-05"
    assert "_auth_user_id" not in signed_in.session
    page = signed_in.get(response["HX-Redirect"])
    assert "You were signed out after 15 minutes without activity." in page.content.decode()
    assert AuditEvent.objects.get(action="auth.session_expired").detail == {"reason": "idle"}


def test_a_real_page_view_between_polls_keeps_the_session(signed_in, clock):
    for _step in range(20):  # polls for 10 minutes
        clock.shift(dt.timedelta(seconds=30))
        assert "HX-Redirect" not in poll(signed_in)
    assert signed_in.get(DAY_SHEET).status_code == 200  # a person looks at the page

    for _step in range(30):  # 15 more minutes of polls from that page view
        clock.shift(dt.timedelta(seconds=30))
        assert "HX-Redirect" not in poll(signed_in)
    clock.shift(dt.timedelta(seconds=30))

    assert "HX-Redirect" in poll(signed_in)


def test_a_poll_never_writes_the_session(signed_in, clock):
    signed_in.get(TODAY)
    seen_before = signed_in.session["propel_seen_at"]
    clock.shift(dt.timedelta(minutes=5))

    response = poll(signed_in)

    assert response.status_code == 200
    assert signed_in.session["propel_seen_at"] == seen_before
    assert "sessionid" not in response.cookies  # nothing saved, so no new cookie either
    clock.shift(dt.timedelta(minutes=10, seconds=1))
    assert "HX-Redirect" in poll(signed_in)


def test_every_element_that_refreshes_on_a_timer_marks_itself_as_a_poll():
    templates = Path(__file__).resolve().parents[2] / "templates"
    timed = re.compile(r"<[^>]*data-hx-trigger=[\"'][^\"']*every [^>]*>")
    found = [
        (path, tag)
        for path in templates.rglob("*.html")
        for tag in timed.findall(path.read_text(encoding="utf-8"))
    ]
    assert found, "the day sheet refreshes itself on a timer"
    unmarked = [str(path) for path, tag in found if """'{"X-Propel-Poll": "1"}'""" not in tag]
    assert not unmarked, f"polling elements without the X-Propel-Poll header: {unmarked}"
