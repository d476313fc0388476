"""Staff second factor: authenticator-app (TOTP) enrolment, backup codes and verification.

django-otp holds the devices and does the cryptography and throttling; this module decides which
device a code is checked against, keeps enrolment and backup codes consistent, and writes the audit
trail. Views call these functions and never touch the device models themselves.
"""

from __future__ import annotations

import math
import secrets
import xml.etree.ElementTree as ET  # builds our own SVG; nothing is parsed
from base64 import b32encode
from datetime import datetime
from typing import Any, NamedTuple

import qrcode
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathImage

from propel.audit import audit_record

TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "backup"
TOTP_CODE_DIGITS = 6
# Backup codes are digits only so one code field with inputmode="numeric" takes both kinds on a
# phone keyboard, and the length alone says which device to check. 10 digits (~33 bits) is ample
# behind django-otp's per-device exponential throttle.
BACKUP_CODE_DIGITS = 10

METHOD_AUTHENTICATOR = "authenticator_app"
METHOD_BACKUP_CODE = "backup_code"


class SecondFactorError(Exception):
    """A code was refused; `message` is fit to show next to the code field."""

    error_messages = {
        "wrong_code": _("That code didn't match. Check the code and try again."),
        "wrong_enrolment_code": _(
            "That code didn't match. Make sure you scanned the code on this page, then enter the "
            "6 digits your app shows now."
        ),
        "no_pending_device": _("This set-up has expired. Please start again."),
    }

    def __init__(self, code: str, *, wait_seconds: int = 0) -> None:
        self.code = code
        if code == "throttled":
            self.message = ngettext(
                "Too many tries in a row. Please wait %(seconds)d second, then try again.",
                "Too many tries in a row. Please wait %(seconds)d seconds, then try again.",
                wait_seconds,
            ) % {"seconds": wait_seconds}
        else:
            self.message = str(self.error_messages[code])
        super().__init__(self.message)


class Enrolment(NamedTuple):
    device: TOTPDevice
    backup_codes: list[str]


def has_confirmed_device(user: Any) -> bool:
    """Whether the user has something set up that can still pass the second factor.

    A backup-code device with every code used up does not count: such a user (say, after the clinic
    admin removed a lost phone) is offered enrolment instead of a page they cannot get past.
    """
    if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        return True
    # django-otp has no type information: say what its QuerySet methods return.
    has_codes: bool = StaticToken.objects.filter(device__user=user, device__confirmed=True).exists()
    return has_codes


def totp_device_start(*, user: Any) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator device, created on first call.

    Idempotent: reloading the enrolment page, or re-showing it after a wrong code, shows the same
    secret, so a code from an app that already scanned it still works.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_device_confirm(
    *, user: Any, device_id: int, token: str, request: HttpRequest | None = None
) -> Enrolment:
    """Confirm the pending authenticator device with a code from the app.

    The device row is locked while checking, so one code confirms it once. On success the device
    is confirmed, any older authenticator device of the user is removed, the backup codes are
    replaced (see `backup_codes_replace`) and the enrolment is audited, all in one transaction.
    The returned codes are the only plain-text copy the caller gets.

    A wrong code counts towards the device's throttle and is audited; raises SecondFactorError.
    """
    wait = 0
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, pk=device_id, confirmed=False)
            .first()
        )
        if device is None:
            raise SecondFactorError("no_pending_device")
        allowed, data = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            codes = backup_codes_replace(user=user, request=request)
            audit_record(
                action="auth.second_factor_enrolled",
                actor=user,
                request=request,
                obj=device,
                detail={"method": METHOD_AUTHENTICATOR},
            )
            return Enrolment(device=device, backup_codes=codes)
        if not allowed:
            wait = _seconds_until(data)
        audit_record(
            action="auth.second_factor_failed",
            actor=user,
            request=request,
            detail={"method": METHOD_AUTHENTICATOR, "stage": "enrolment", "throttled": not allowed},
        )
    # Raised outside the block so the throttle count and the audit event are committed.
    if wait:
        raise SecondFactorError("throttled", wait_seconds=wait)
    raise SecondFactorError("wrong_enrolment_code")


def backup_codes_replace(*, user: Any, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's backup codes with settings.OTP_STATIC_BACKUP_CODES new single-use codes.

    Earlier codes stop working at once. Returns the new codes (digits only); show them once and
    never log them. Safe to call inside a caller's transaction (it nests).
    """
    count = settings.OTP_STATIC_BACKUP_CODES
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(f"{secrets.randbelow(10**BACKUP_CODE_DIGITS):0{BACKUP_CODE_DIGITS}d}")
    with transaction.atomic():
        device, _created = StaticDevice.objects.select_for_update().get_or_create(
            user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
        )
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
        audit_record(
            action="auth.backup_codes_replaced",
            actor=user,
            request=request,
            obj=device,
            detail={"count": count},
        )
    return sorted(codes)


def second_factor_verify(*, user: Any, token: str, request: HttpRequest | None = None) -> Device:
    """Check a code from the authenticator app (6 digits) or a backup code (10 digits).

    The code's length picks the device kind, so a mistyped app code never counts against the backup
    codes' throttle or the other way round. Candidate devices are row-locked while checking, so a
    TOTP time step or a backup code is accepted once even when two requests race; a used backup
    code is deleted. Success and failure are both audited. Returns the device that accepted the
    code (pass it to django_otp.login); raises SecondFactorError otherwise.
    """
    is_backup = len(token) == BACKUP_CODE_DIGITS
    model: type[Device] = StaticDevice if is_backup else TOTPDevice
    method = METHOD_BACKUP_CODE if is_backup else METHOD_AUTHENTICATOR
    wait = 0
    with transaction.atomic():
        devices = (
            model.objects.devices_for_user(user, confirmed=True).select_for_update().order_by("pk")
        )
        for device in devices:
            allowed, data = device.verify_is_allowed()
            if not allowed:
                wait = max(wait, _seconds_until(data))
                continue
            if device.verify_token(token):
                detail: dict[str, Any] = {"method": method}
                if is_backup:
                    detail["backup_codes_left"] = device.token_set.count()
                audit_record(
                    action="auth.second_factor_verified",
                    actor=user,
                    request=request,
                    obj=device,
                    detail=detail,
                )
                return device
        audit_record(
            action="auth.second_factor_failed",
            actor=user,
            request=request,
            detail={"method": method, "stage": "sign_in", "throttled": bool(wait)},
        )
    if wait:
        raise SecondFactorError("throttled", wait_seconds=wait)
    raise SecondFactorError("wrong_code")


def backup_codes_left(*, user: Any) -> int:
    left: int = StaticToken.objects.filter(
        device__user=user, device__name=BACKUP_DEVICE_NAME, device__confirmed=True
    ).count()
    return left


def totp_qr_svg(device: TOTPDevice, *, label: str) -> str:
    """The device's otpauth:// address as an inline SVG QR code.

    Rendered here rather than by an external chart service, so the secret never leaves the page.
    `label` becomes the image's accessible name.
    """
    qr = qrcode.QRCode(image_factory=SvgPathImage, border=4)
    qr.add_data(device.config_url)
    qr.make(fit=True)
    svg = qr.make_image().get_image()
    svg.set("width", "220")
    svg.set("height", "220")
    svg.set("role", "img")
    svg.set("aria-label", label)
    svg.set("class", "d-block")
    return ET.tostring(svg, encoding="unicode")


def totp_secret_groups(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def format_backup_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"


def _seconds_until(throttle: dict[str, Any] | None) -> int:
    locked_until: datetime | None = (throttle or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
