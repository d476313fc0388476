"""Staff sign-in: password, lockout, who may sign in, `next`, sign-out and their audit trail."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from propel.models import AuditEvent
from tests.clinic_time import stopped_clock
from tests.factories import TEST_PASSWORD

NOW = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)  # a Tuesday, 9am in Sacramento
LOGIN = reverse("propel:login")
SECOND_FACTOR = reverse("propel:second_factor")
TODAY = reverse("scheduling:today")


@pytest.fixture(autouse=True)
def _frozen_clock():
    yield from stopped_clock(NOW)


def enrol_authenticator(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def sign_in_with_password(client: Client, username: str, password: str = TEST_PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_login_page_shows_labelled_fields(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    content = response.content.decode()
    assert re.search(r'<label\s+for="id_username"[^>]*>\s*Username', content)
    assert re.search(r'<label\s+for="id_password"[^>]*>\s*Password', content)
    assert content.count('name="csrfmiddlewaretoken"') == 1
    assert 'autocomplete="current-password"' in content


def test_password_and_authenticator_code_reach_today(client, front_desk):
    device = enrol_authenticator(front_desk)

    response = sign_in_with_password(client, "frontdesk")
    assert response.status_code == 302
    assert response["Location"] == SECOND_FACTOR

    response = client.post(SECOND_FACTOR, {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == TODAY
    assert client.get(TODAY).status_code == 200


def test_password_alone_does_not_open_staff_pages(client, front_desk):
    enrol_authenticator(front_desk)
    sign_in_with_password(client, "frontdesk")

    response = client.get(TODAY)

    assert response.status_code == 302
    assert response["Location"] == SECOND_FACTOR


def test_wrong_password_shows_a_calm_error_and_signs_nobody_in(client, front_desk):
    response = sign_in_with_password(client, "frontdesk", "not the password")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_five_wrong_passwords_lock_that_username_from_that_ip_only(client, front_desk):
    enrol_authenticator(front_desk)
    for _attempt in range(4):
        response = sign_in_with_password(client, "frontdesk", "wrong", REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 200

    fifth = sign_in_with_password(client, "frontdesk", "wrong", REMOTE_ADDR="10.0.0.1")
    right_password_same_ip = sign_in_with_password(client, "frontdesk", REMOTE_ADDR="10.0.0.1")

    assert fifth.status_code == 429
    assert right_password_same_ip.status_code == 429
    assert "Please try again in 15 minutes" in right_password_same_ip.content.decode()
    assert "(916) 915-9215" in right_password_same_ip.content.decode()
    assert "_auth_user_id" not in client.session

    other_ip = sign_in_with_password(Client(), "frontdesk", REMOTE_ADDR="10.0.0.2")
    assert other_ip.status_code == 302
    assert other_ip["Location"] == SECOND_FACTOR


def test_lockout_ends_after_the_cool_off(client, front_desk):
    for _attempt in range(5):
        sign_in_with_password(client, "frontdesk", "wrong", REMOTE_ADDR="10.0.0.1")

    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        response = sign_in_with_password(client, "frontdesk", REMOTE_ADDR="10.0.0.1")

    assert response.status_code == 302


def test_user_without_a_staff_role_is_refused_after_the_password(client, no_role_user):
    response = sign_in_with_password(client, "norole", follow=True)

    assert response.redirect_chain == [(LOGIN, 302)]
    assert "This sign-in is for clinic staff" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_refused", actor=no_role_user).exists()
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_a_safe_next_is_carried_through_the_second_factor(client, clinician_user):
    device = enrol_authenticator(clinician_user)
    availability = reverse("scheduling:availability")

    response = client.post(
        f"{LOGIN}?next={availability}", {"username": "clinician", "password": TEST_PASSWORD}
    )
    assert response["Location"] == f"{SECOND_FACTOR}?next=%2Fstaff%2Favailability%2F"

    response = client.post(response["Location"], {"code": code_for(device)})
    assert response["Location"] == availability


@pytest.mark.parametrize(
    "unsafe",
    ["https://evil.example/staff/", "//evil.example/", "javascript:alert(1)", "/accounts/logout/"],
)
def test_an_unsafe_next_is_ignored(client, clinician_user, unsafe):
    device = enrol_authenticator(clinician_user)

    response = client.post(
        LOGIN, {"username": "clinician", "password": TEST_PASSWORD, "next": unsafe}
    )
    assert response["Location"] == SECOND_FACTOR

    response = client.post(SECOND_FACTOR, {"code": code_for(device), "next": unsafe})
    assert response["Location"] == TODAY


def test_next_is_kept_in_the_form_for_the_post(client):
    response = client.get(f"{LOGIN}?next=/staff/availability/")

    assert '<input type="hidden" name="next" value="/staff/availability/">' in (
        response.content.decode()
    )


def test_a_verified_user_visiting_the_login_page_goes_on_to_the_calendar(client_for, front_desk):
    response = client_for(front_desk).get(LOGIN)

    assert response.status_code == 302
    assert response["Location"] == TODAY


def test_logout_by_get_is_refused(client_for, front_desk):
    client = client_for(front_desk)

    response = client.get(reverse("propel:logout"))

    assert response.status_code == 405
    assert client.get(TODAY).status_code == 200


def test_logout_ends_the_session_and_says_so(client_for, front_desk):
    client = client_for(front_desk)

    response = client.post(reverse("propel:logout"), follow=True)

    assert response.redirect_chain == [(LOGIN, 302)]
    assert "You have signed out." in response.content.decode()
    assert client.get(TODAY)["Location"].startswith(LOGIN)


def test_sign_in_and_sign_out_are_audited_without_a_patient(client, front_desk):
    device = enrol_authenticator(front_desk)
    sign_in_with_password(client, "frontdesk", REMOTE_ADDR="10.0.0.7")
    client.post(SECOND_FACTOR, {"code": code_for(device)}, REMOTE_ADDR="10.0.0.7")
    client.post(reverse("propel:logout"), REMOTE_ADDR="10.0.0.7")

    events = list(AuditEvent.objects.order_by("id"))
    assert [event.action for event in events] == [
        "auth.login",
        "auth.second_factor_verified",
        "auth.logout",
    ]
    assert all(event.actor == front_desk for event in events)
    assert all(event.patient_id is None for event in events)
    assert all(event.ip_address == "10.0.0.7" for event in events)
    assert events[1].detail == {"method": "authenticator_app"}


def test_a_failed_password_is_not_audited_as_a_sign_in(client, front_desk):
    sign_in_with_password(client, "frontdesk", "wrong")

    assert not AuditEvent.objects.filter(action="auth.login").exists()
