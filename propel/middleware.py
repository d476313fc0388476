from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

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

# Sent by every element that refreshes itself on a timer (hx-headers='{"X-Propel-Poll": "1"}'):
# such a request is the page asking, not a person acting, so it never counts as activity.
POLL_HEADER = "X-Propel-Poll"


def is_poll(request: HttpRequest) -> bool:
    return request.headers.get(POLL_HEADER) == "1"


# Paths a signed-in staff member may reach before the second factor; everything under the staff
# and admin prefixes needs it.
SECOND_FACTOR_PREFIXES = ("/staff/", "/admin/")


class StaffSessionTimeoutMiddleware:
    """End a signed-in session after STAFF_IDLE_TIMEOUT idle or STAFF_ABSOLUTE_TIMEOUT in total.

    Both clocks live in the session, so they hold across web nodes. The sign-in view starts both;
    a session without them (signed in some other way) starts them on its first request. A poll
    (is_poll) is checked against both clocks but never moves them and never writes the session,
    so a page left open on a timer ends like any idle one. Must come after MessageMiddleware,
    which carries the explanation to the login page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            poll = is_poll(request)
            session = request.session
            auth_at = session.get(SESSION_AUTH_AT, now)
            seen_at = session.get(SESSION_SEEN_AT, now)
            idle = now - seen_at > settings.STAFF_IDLE_TIMEOUT.total_seconds()
            expired = now - auth_at > settings.STAFF_ABSOLUTE_TIMEOUT.total_seconds()
            if idle or expired:
                return self._sign_out(request, reason="idle" if idle else "absolute")
            if not poll:
                session.setdefault(SESSION_AUTH_AT, now)
                session[SESSION_SEEN_AT] = now
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
        login_url = _login_url(request)
        if request.headers.get("HX-Request") == "true":
            # htmx would follow a 302 itself and swap the login page into part of the page.
            return HttpResponse(headers={"HX-Redirect": login_url})
        return redirect(login_url)


def _login_url(request: HttpRequest) -> str:
    """The sign-in page, with the page to come back to: a GET's own address; for a poll, the
    page that was polling (a fragment's address is no page to land on). Coming back to a POST's
    address with a GET could only fail (sign-out answers 405), so a POST gets none. propel:login
    checks that `next` is on this site before using it."""
    if is_poll(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = current.path + (f"?{current.query}" if current.query else "")
        return redirect_to_login(back).url if back else resolve_url(settings.LOGIN_URL)
    if request.method == "GET":
        return redirect_to_login(request.get_full_path()).url
    return resolve_url(settings.LOGIN_URL)


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
