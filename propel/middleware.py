from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from propel.roles import second_factor_verified

SESSION_AUTH_AT = "propel_auth_at"
SESSION_SEEN_AT = "propel_seen_at"

# Paths a signed-in staff member may reach before the second factor; everything under the staff
# and admin prefixes needs it.
SECOND_FACTOR_PREFIXES = ("/staff/", "/admin/")


class StaffSessionTimeoutMiddleware:
    """End a signed-in session after STAFF_IDLE_TIMEOUT idle or STAFF_ABSOLUTE_TIMEOUT in total.

    Both clocks live in the session, so they hold across web nodes.
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
                logout(request)
                messages.info(
                    request,
                    _("You were signed out after 15 minutes without activity.")
                    if idle
                    else _("Your session reached its 12-hour limit. Please sign in again."),
                )
                return redirect_to_login(request.get_full_path())
            request.session[SESSION_SEEN_AT] = now
        return self.get_response(request)


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
