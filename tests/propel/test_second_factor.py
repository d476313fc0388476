"""The second factor: enrolment with an authenticator app, backup codes, and checking codes."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from propel import second_factor as service
from propel.auth_views import SESSION_NEW_BACKUP_CODES
from propel.models import AuditEvent
from tests.clinic_time import stopped_clock
from tests.factories import TEST_PASSWORD

NOW = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)
LOGIN = reverse("propel:login")
SECOND_FACTOR = reverse("propel:second_factor")
ENROL = reverse("propel:second_factor_enrol")
BACKUP_CODES = reverse("propel:backup_codes")
TODAY = reverse("scheduling:today")


@pytest.fixture
def clock():
    yield from stopped_clock(NOW)


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def wrong_code_for(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 1) % 1_000_000:06d}"


def password_client(username: str) -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def error_for_code(response) -> str:
    """The text of the error tied to the code field (by aria-describedby), or ''."""
    content = response.content.decode()
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", content).group(0)
    if 'aria-invalid="true"' not in field:
        return ""
    described_by = re.search(r'aria-describedby="([^"]*)"', field).group(1).split()
    error_id = next(ident for ident in described_by if ident.endswith("_error"))
    block = re.search(rf'id="{error_id}"[^>]*>(.*?)</div>', content, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>", "", block)).strip()


# --- enrolment -----------------------------------------------------------------------------


def test_a_user_without_a_device_is_sent_to_enrolment(clock, front_desk):
    client = password_client("frontdesk")

    response = client.get(SECOND_FACTOR)

    assert response.status_code == 302
    assert response["Location"] == ENROL


def test_enrolment_shows_an_inline_qr_code_and_the_setup_key(clock, front_desk):
    client = password_client("frontdesk")

    response = client.get(ENROL)

    content = response.content.decode()
    device = TOTPDevice.objects.get(user=front_desk)
    assert not device.confirmed
    assert device.name == "Authenticator app"
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-label="QR code', content)
    assert "<path" in content
    assert service.totp_secret_groups(device) in content
    assert len(service.totp_secret_groups(device).split()) == 8  # 32 base32 characters
    assert not re.search(r'(src|href)="https?://', content)  # nothing fetched from elsewhere
    assert response["Cache-Control"].count("no-store") == 1


def test_reloading_enrolment_keeps_the_same_secret(clock, front_desk):
    client = password_client("frontdesk")
    first = client.get(ENROL)
    second = client.get(ENROL)

    assert TOTPDevice.objects.filter(user=front_desk).count() == 1
    device = TOTPDevice.objects.get(user=front_desk)
    assert service.totp_secret_groups(device) in first.content.decode()
    assert service.totp_secret_groups(device) in second.content.decode()


def test_code_field_is_labelled_numeric_one_time_code_and_focused(clock, front_desk):
    client = password_client("frontdesk")

    content = client.get(ENROL).content.decode()

    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", content).group(0)
    assert 'autocomplete="one-time-code"' in field
    assert 'inputmode="numeric"' in field
    assert "autofocus" in field
    assert re.search(r'<label\s+for="id_code"[^>]*>\s*6-digit code from your app', content)


def test_enrolment_refuses_a_wrong_code_with_an_error_on_the_field(clock, front_desk):
    client = password_client("frontdesk")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=front_desk)

    response = client.post(ENROL, {"code": wrong_code_for(device)})

    assert response.status_code == 200
    assert error_for_code(response).startswith("That code didn't match.")
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticToken.objects.filter(device__user=front_desk).exists()
    assert client.get(TODAY)["Location"] == SECOND_FACTOR
    failed = AuditEvent.objects.get(action="auth.second_factor_failed")
    assert failed.actor == front_desk
    assert failed.patient_id is None
    assert failed.detail["stage"] == "enrolment"


def test_enrolment_refuses_letters_with_an_error_on_the_field(clock, front_desk):
    client = password_client("frontdesk")
    client.get(ENROL)

    response = client.post(ENROL, {"code": "12a456"})

    assert error_for_code(response) == "Enter the 6 digits your app shows, without letters."


def test_enrolment_confirms_with_the_right_code_and_shows_ten_backup_codes_once(clock, front_desk):
    client = password_client("frontdesk")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=front_desk)

    response = client.post(ENROL, {"code": code_for(device)})

    assert response.status_code == 302
    assert response["Location"] == BACKUP_CODES
    device.refresh_from_db()
    assert device.confirmed

    page = client.get(BACKUP_CODES)
    shown = re.findall(r"\b(\d{5} \d{5})\b", page.content.decode())
    assert len(shown) == 10
    stored = set(
        StaticToken.objects.filter(device__user=front_desk, device__name="backup").values_list(
            "token", flat=True
        )
    )
    assert {code.replace(" ", "") for code in shown} == stored
    assert SESSION_NEW_BACKUP_CODES not in client.session
    assert "no-store" in page["Cache-Control"]

    again = client.get(BACKUP_CODES)
    assert again.status_code == 302
    assert again["Location"] == TODAY
    assert client.get(TODAY).status_code == 200  # the session is verified
    assert AuditEvent.objects.filter(
        action="auth.second_factor_enrolled", actor=front_desk, patient_id=None
    ).exists()


def test_enrolment_replaces_earlier_backup_codes(clock, front_desk):
    old_codes = service.backup_codes_replace(user=front_desk)
    StaticDevice.objects.filter(user=front_desk).update(confirmed=False)
    client = password_client("frontdesk")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=front_desk)

    client.post(ENROL, {"code": code_for(device)})

    stored = set(
        StaticToken.objects.filter(device__user=front_desk).values_list("token", flat=True)
    )
    assert len(stored) == 10
    assert not stored & set(old_codes)
    assert StaticDevice.objects.filter(user=front_desk).count() == 1


def test_enrolment_carries_next_to_the_end(clock, front_desk):
    client = password_client("frontdesk")
    availability = reverse("scheduling:availability")
    client.get(f"{ENROL}?next={availability}")
    device = TOTPDevice.objects.get(user=front_desk)

    response = client.post(ENROL, {"code": code_for(device), "next": availability})
    page = client.get(response["Location"])

    assert f'href="{availability}"' in page.content.decode()


def test_password_alone_cannot_set_up_a_new_device_over_an_existing_one(clock, front_desk):
    existing = TOTPDevice.objects.create(user=front_desk, name="Authenticator app")
    client = password_client("frontdesk")

    response = client.get(ENROL)
    posted = client.post(ENROL, {"code": "123456"})

    assert response["Location"] == SECOND_FACTOR
    assert posted["Location"] == SECOND_FACTOR
    assert list(TOTPDevice.objects.filter(user=front_desk)) == [existing]


def test_backup_codes_are_never_written_to_the_log(clock, front_desk, caplog):
    caplog.set_level(logging.DEBUG)
    client = password_client("frontdesk")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=front_desk)
    client.post(ENROL, {"code": code_for(device)})
    client.get(BACKUP_CODES)

    codes = StaticToken.objects.filter(device__user=front_desk).values_list("token", flat=True)
    assert codes
    assert not any(code in caplog.text for code in codes)
    events = AuditEvent.objects.filter(actor=front_desk)
    assert not any(code in str(event.detail) for event in events for code in codes)


def test_enrolment_pages_need_a_signed_in_staff_member(clock, db):
    client = Client()

    assert client.get(ENROL)["Location"] == LOGIN
    assert client.get(SECOND_FACTOR)["Location"] == LOGIN
    assert client.get(BACKUP_CODES)["Location"] == LOGIN


def test_backup_codes_page_needs_the_second_factor(clock, front_desk):
    TOTPDevice.objects.create(user=front_desk, name="Authenticator app")
    client = password_client("frontdesk")

    assert client.get(BACKUP_CODES)["Location"] == SECOND_FACTOR


def test_a_signed_in_user_who_loses_the_staff_role_is_signed_out(clock, front_desk):
    client = password_client("frontdesk")
    front_desk.groups.clear()

    response = client.get(SECOND_FACTOR)

    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


# --- signing in with a code ----------------------------------------------------------------


@pytest.fixture
def enrolled(front_desk):
    device = TOTPDevice.objects.create(user=front_desk, name="Authenticator app")
    codes = service.backup_codes_replace(user=front_desk)
    return device, codes


def test_the_code_page_is_shown_to_an_enrolled_user(clock, enrolled):
    client = password_client("frontdesk")

    response = client.get(SECOND_FACTOR)

    assert response.status_code == 200
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", response.content.decode()).group(0)
    assert 'autocomplete="one-time-code"' in field
    assert 'inputmode="numeric"' in field
    assert "autofocus" in field


def test_a_wrong_code_reshows_the_form_with_an_error_on_the_field(clock, enrolled, front_desk):
    device, _codes = enrolled
    client = password_client("frontdesk")

    response = client.post(SECOND_FACTOR, {"code": wrong_code_for(device)})

    assert response.status_code == 200
    assert error_for_code(response) == "That code didn't match. Check the code and try again."
    assert client.get(TODAY)["Location"] == SECOND_FACTOR
    failed = AuditEvent.objects.get(action="auth.second_factor_failed")
    assert failed.actor == front_desk
    assert failed.detail == {"method": "authenticator_app", "stage": "sign_in", "throttled": False}


def test_a_code_of_the_wrong_length_is_refused_before_checking(clock, enrolled):
    client = password_client("frontdesk")

    response = client.post(SECOND_FACTOR, {"code": "12345"})

    assert error_for_code(response) == (
        "Enter the 6 digits from your app, or a 10-digit backup code."
    )
    assert not AuditEvent.objects.filter(action="auth.second_factor_failed").exists()


def test_codes_are_throttled_after_a_wrong_one(clock, enrolled):
    device, _codes = enrolled
    client = password_client("frontdesk")
    client.post(SECOND_FACTOR, {"code": wrong_code_for(device)})

    too_soon = client.post(SECOND_FACTOR, {"code": code_for(device)})
    assert error_for_code(too_soon) == (
        "Too many tries in a row. Please wait 1 second, then try again."
    )

    clock.shift(dt.timedelta(seconds=2))
    response = client.post(SECOND_FACTOR, {"code": code_for(device)})
    assert response["Location"] == TODAY


def test_the_same_app_code_is_not_accepted_twice(clock, enrolled):
    device, _codes = enrolled
    code = code_for(device)
    first = password_client("frontdesk")
    assert first.post(SECOND_FACTOR, {"code": code})["Location"] == TODAY

    second = password_client("frontdesk")
    response = second.post(SECOND_FACTOR, {"code": code})

    assert response.status_code == 200
    assert error_for_code(response).startswith("That code didn't match.")


def test_a_backup_code_works_once_and_not_twice(clock, enrolled, front_desk):
    _device, codes = enrolled
    first = password_client("frontdesk")

    response = first.post(
        SECOND_FACTOR, {"code": service.format_backup_code(codes[0])}, follow=True
    )

    assert response.redirect_chain == [(TODAY, 302)]
    assert "You used a backup code. You have 9 left." in response.content.decode()
    used = AuditEvent.objects.get(action="auth.second_factor_verified")
    assert used.detail == {"method": "backup_code", "backup_codes_left": 9}

    clock.shift(dt.timedelta(minutes=1))
    second = password_client("frontdesk")
    again = second.post(SECOND_FACTOR, {"code": codes[0]})
    assert again.status_code == 200
    assert error_for_code(again).startswith("That code didn't match.")
    assert second.get(TODAY)["Location"] == SECOND_FACTOR


def test_running_low_on_backup_codes_suggests_setting_up_again(clock, enrolled, front_desk):
    _device, codes = enrolled
    StaticToken.objects.filter(token__in=codes[2:]).delete()
    client = password_client("frontdesk")

    response = client.post(SECOND_FACTOR, {"code": codes[0]}, follow=True)

    assert "You have 1 left." in response.content.decode()
    assert "set up your authenticator app again" in response.content.decode()


def test_a_wrong_backup_code_does_not_slow_down_the_app_code(clock, enrolled):
    device, _codes = enrolled
    client = password_client("frontdesk")
    client.post(SECOND_FACTOR, {"code": "0000000000"})

    response = client.post(SECOND_FACTOR, {"code": code_for(device)})

    assert response["Location"] == TODAY


def test_a_verified_user_can_set_up_a_new_phone(clock, enrolled, client_for, front_desk):
    _old_device, old_codes = enrolled
    client = client_for(front_desk)
    client.get(ENROL)
    new_device = TOTPDevice.objects.get(user=front_desk, confirmed=False)

    response = client.post(ENROL, {"code": code_for(new_device)})

    assert response["Location"] == BACKUP_CODES
    assert list(TOTPDevice.objects.filter(user=front_desk)) == [new_device]
    assert not StaticToken.objects.filter(token__in=old_codes).exists()


def test_a_user_left_with_only_used_up_backup_codes_is_offered_enrolment(clock, front_desk):
    StaticDevice.objects.create(user=front_desk, name="backup", confirmed=True)
    client = password_client("frontdesk")

    assert client.get(SECOND_FACTOR)["Location"] == ENROL
    assert client.get(ENROL).status_code == 200
