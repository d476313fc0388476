from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.translation import ngettext

from propel.audit import audit_record
from propel.roles import second_factor_verified

SESSION_AUTH_AT = "propel_auth_at"
SESSION_SEEN_AT = "propel_seen_at"

# Paths a signed-in staff member may reach before the second factor; everything under the staff
# and admin prefixes needs it.
SECOND_FACTOR_PREFIXES = ("/staff/", "/admin/")


class StaffSessionTimeoutMiddleware:
    """End a signed-in session after STAFF_IDLE_TIMEOUT idle or STAFF_ABSOLUTE_TIMEOUT in total.

    Both clocks live in the session, so they hold across web nodes. The sign-in view starts both;
    a session without them (signed in some other way) starts them on its first request. Must come
    after MessageMiddleware, which carries the explanation to the login page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            auth_at = request.session.setdefault(SESSION_AUTH_AT, now)
            seen_at = request.session.get(SESSION_SEEN_AT, now)
            idle = now - seen_at > settings.STAFF_IDLE_TIMEOUT.total_seconds()
            expired = now - auth_at > settings.STAFF_ABSOLUTE_TIMEOUT.total_seconds()
            if idle or expired:
                return self._sign_out(request, reason="idle" if idle else "absolute")
            request.session[SESSION_SEEN_AT] = now
        return self.get_response(request)

    def _sign_out(self, request: HttpRequest, *, reason: str) -> HttpResponse:
        audit_record(action="auth.session_expired", request=request, detail={"reason": reason})
        logout(request)
        if reason == "idle":
            minutes = int(settings.STAFF_IDLE_TIMEOUT.total_seconds() // 60)
            text = ngettext(
                "You were signed out after %(minutes)d minute without activity.",
                "You were signed out after %(minutes)d minutes without activity.",
                minutes,
            ) % {"minutes": minutes}
        else:
            hours = int(settings.STAFF_ABSOLUTE_TIMEOUT.total_seconds() // 3600)
            text = ngettext(
                "Your session reached its %(hours)d-hour limit. Please sign in again.",
                "Your session reached its %(hours)d-hour limit. Please sign in again.",
                hours,
            ) % {"hours": hours}
        messages.info(request, text)
        # Coming back to a POST's address with a GET could only fail (sign-out answers 405), so
        # only a GET's page is offered as the place to return to.
        login_url = (
            redirect_to_login(request.get_full_path()).url
            if request.method == "GET"
            else resolve_url(settings.LOGIN_URL)
        )
        if request.headers.get("HX-Request") == "true":
            # htmx would follow a 302 itself and swap the login page into part of the page.
            return HttpResponse(headers={"HX-Redirect": login_url})
        return redirect(login_url)


class SecondFactorRequiredMiddleware:
    """Send a signed-in user who has not passed the second factor to it before any staff page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.user.is_authenticated
            and request.path.startswith(SECOND_FACTOR_PREFIXES)
            and not second_factor_verified(request.user)
        ):
            return redirect("propel:second_factor")
        return self.get_response(request)
