"""Staff sign-in: password (with django-axes lockout), then a second factor, and sign-out.

The flow is login -> second_factor (-> enrol -> backup_codes the first time) -> `next`. The user is
signed in with Django's auth after the password, but SecondFactorRequiredMiddleware and
`staff_required` keep every staff and admin page shut until django-otp marks the session verified.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from propel import second_factor as second_factor_service
from propel.audit import audit_record
from propel.auth_forms import EnrolForm, LoginForm, SecondFactorForm
from propel.middleware import SESSION_AUTH_AT, SESSION_SEEN_AT
from propel.roles import is_staff_member, second_factor_verified

# New backup codes wait here between enrolment and the page that shows them, and are removed as
# that page renders.
SESSION_NEW_BACKUP_CODES = "propel_new_backup_codes"
# Fewer backup codes than this left after using one: suggest making new ones.
FEW_BACKUP_CODES = 3


def _safe_next(request: HttpRequest) -> str:
    """The `next` address if it is on this site and not a sign-in page itself, else ''."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    if urlsplit(url).path in {reverse("propel:login"), reverse("propel:logout")}:
        return ""
    return url


def _with_next(viewname: str, next_url: str) -> str:
    url = reverse(viewname)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _destination(next_url: str) -> str:
    return next_url or resolve_url(settings.LOGIN_REDIRECT_URL)


def _refuse_non_staff(request: HttpRequest, user: object) -> HttpResponse:
    audit_record(action="auth.login_refused", actor=user, request=request)
    auth_logout(request)
    messages.error(
        request,
        _(
            "This sign-in is for clinic staff. Patients don't need a password: please use the "
            "link in your email or text message, or call the clinic."
        ),
    )
    return redirect("propel:login")


def _second_factor_step(
    view: Callable[[HttpRequest, str], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A page of the second-factor step (GET and POST, never cached, the code kept out of error
    reports), open only to a staff member who has passed the password: anyone else is sent to
    sign in or refused. The view is called with the safe `next` address."""

    @sensitive_post_parameters("code")
    @never_cache
    @require_http_methods(["GET", "POST"])
    @wraps(view)
    def step(request: HttpRequest) -> HttpResponse:
        next_url = _safe_next(request)
        if not request.user.is_authenticated:
            return redirect(_with_next("propel:login", next_url))
        if not is_staff_member(request.user):
            return _refuse_non_staff(request, request.user)
        return view(request, next_url)

    return step


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated and second_factor_verified(request.user):
        return redirect(_destination(next_url))
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        user = form.get_user()
        if not is_staff_member(user):
            return _refuse_non_staff(request, user)
        auth_login(request, user)
        # Both session clocks start now, even if an older session for this user was carried over.
        now = timezone.now().timestamp()
        request.session[SESSION_AUTH_AT] = now
        request.session[SESSION_SEEN_AT] = now
        audit_record(action="auth.login", request=request, detail={"stage": "password"})
        return redirect(_with_next("propel:second_factor", next_url))
    return render(request, "propel/login.html", {"form": form, "next": next_url})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(action="auth.logout", request=request)
    auth_logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("propel:login")


@_second_factor_step
def second_factor(request: HttpRequest, next_url: str) -> HttpResponse:
    user = request.user
    if second_factor_verified(user):
        return redirect(_destination(next_url))
    if not second_factor_service.has_confirmed_device(user):
        return redirect(_with_next("propel:second_factor_enrol", next_url))

    form = SecondFactorForm(data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            device = second_factor_service.second_factor_verify(
                user=user, token=form.cleaned_data["code"], request=request
            )
        except second_factor_service.SecondFactorError as error:
            form.add_error("code", error.message)
        else:
            otp_login(request, device)
            # A new session key for the more trusted session.
            request.session.cycle_key()
            if isinstance(device, StaticDevice):
                _say_backup_codes_left(request, second_factor_service.backup_codes_left(user=user))
            return redirect(_destination(next_url))
    return render(request, "propel/second_factor.html", {"form": form, "next": next_url})


def _say_backup_codes_left(request: HttpRequest, left: int) -> None:
    text = ngettext(
        "You used a backup code. You have %(count)d left.",
        "You used a backup code. You have %(count)d left.",
        left,
    ) % {"count": left}
    if left < FEW_BACKUP_CODES:
        text += " " + _(
            "Please set up your authenticator app again soon; that also gives you new backup "
            "codes. The clinic admin can help."
        )
        messages.warning(request, text)
    else:
        messages.info(request, text)


@_second_factor_step
def enrol(request: HttpRequest, next_url: str) -> HttpResponse:
    user = request.user
    # A password alone must never be enough to swap in a new device: once a device exists, only a
    # session that has already passed the second factor may set up another.
    if second_factor_service.has_confirmed_device(user) and not second_factor_verified(user):
        return redirect(_with_next("propel:second_factor", next_url))

    device = second_factor_service.totp_device_start(user=user)
    form = EnrolForm(data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            enrolment = second_factor_service.totp_device_confirm(
                user=user, device_id=device.pk, token=form.cleaned_data["code"], request=request
            )
        except second_factor_service.SecondFactorError as error:
            form.add_error("code", error.message)
        else:
            otp_login(request, enrolment.device)
            request.session.cycle_key()
            request.session[SESSION_NEW_BACKUP_CODES] = enrolment.backup_codes
            return redirect(_with_next("propel:backup_codes", next_url))
    return render(request, "propel/enrol.html", _enrol_context(form, device, next_url))


def _enrol_context(form: EnrolForm, device: Any, next_url: str) -> dict[str, Any]:
    return {
        "form": form,
        "next": next_url,
        "qr_svg": second_factor_service.totp_qr_svg(
            device, label=_("QR code to scan with your authenticator app")
        ),
        "secret_groups": second_factor_service.totp_secret_groups(device),
    }


@never_cache
@require_GET
def backup_codes(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    user = request.user
    if not user.is_authenticated:
        return redirect(_with_next("propel:login", next_url))
    if not second_factor_verified(user):
        return redirect(_with_next("propel:second_factor", next_url))
    codes = request.session.pop(SESSION_NEW_BACKUP_CODES, None)
    if not codes:
        messages.info(
            request,
            _(
                "Backup codes are shown only once, right after they are made. If you have lost "
                "yours, the clinic admin can help you set up again."
            ),
        )
        return redirect(_destination(next_url))
    context = {
        "codes": [second_factor_service.format_backup_code(code) for code in codes],
        "destination": _destination(next_url),
    }
    return render(request, "propel/backup_codes.html", context)
