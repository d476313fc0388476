"""The clinic's own error pages: 400, 403, 404, 500 and a failed CSRF check (issue 19, item 5).

Each says what happened in plain words, gives the clinic's phone number and a way back: the page
the visitor came from when it is on this site, otherwise the home page. None shows a stack trace
or the reason Django gives.

500 is rendered from settings alone (no request context, no query): whatever broke may be the
database or a context processor. A database outage keeps its own 503 (propel.db_unavailable).

A form posted after its CSRF token expired (a long pause, a restarted browser) gets "your form
expired" and, when the post came from this site, a fresh token, what was typed as hidden inputs
and a "Send again" button to the same address. Never kept: files (they cannot be re-posted) and
secrets (passwords, one-time codes); when a secret was dropped the page offers to open the form
again instead, so a half-filled sign-in never counts as a failed attempt. A post from another
site (the real attack CSRF protection stops) is never offered again: that would turn the forgery
into one click.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from propel import db_unavailable

# A posted field whose name holds one of these is a secret: never echoed into a page.
SECRET_FIELD_WORDS = ("password", "passwd", "secret", "token", "otp", "code")


def clinic_context() -> dict[str, Any]:
    return {
        "clinic": {
            "name": settings.CLINIC_NAME,
            "address": settings.CLINIC_ADDRESS,
            "phone": settings.CLINIC_PHONE,
        }
    }


def _same_site(request: HttpRequest, url: str) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def back_url(request: HttpRequest, *, same_page: bool = False) -> str:
    """Where "Go back" leads: the referring page when it is on this site (and, unless `same_page`,
    not this very page, which would fail again), otherwise home."""
    referer = request.headers.get("Referer", "")
    if _same_site(request, referer) and (same_page or not referer.endswith(request.path)):
        return referer
    return reverse("propel:home")


def _error_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    try:
        back = back_url(request)
    except Exception:  # a request too broken to read its own host: home it is
        back = reverse("propel:home")
    return render(request, template, {"back_url": back}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage keeps its 503; anything else gets the static-ish 500 page."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return db_unavailable.server_error(request)
    content = render_to_string("500.html", {**clinic_context(), "back_url": "/"})
    return HttpResponse(content, status=500)


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_FIELD_WORDS)


def _posted_from_this_site(request: HttpRequest) -> bool:
    """The browser's own word on where the form was: Origin, or Referer when Origin is absent.
    A page on another site cannot set either to ours."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == f"{request.scheme}://{request.get_host()}"
    return _same_site(request, request.headers.get("Referer", ""))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: "your form expired", keeping what was typed where that is safe."""
    fields: list[tuple[str, str]] = []
    dropped = False
    resend = False
    if request.method == "POST" and _posted_from_this_site(request):
        try:
            posted = list(request.POST.lists())
            dropped = bool(request.FILES)
        except (MultiPartParserError, SuspiciousOperation, OSError):
            posted, dropped = [], True  # unreadable (too big, malformed): nothing to keep
        for name, values in posted:
            if name == "csrfmiddlewaretoken":
                continue
            if _is_secret(name):
                dropped = True
                continue
            fields.extend((name, value) for value in values)
        resend = not dropped
    context = {
        # The form's own page when the browser says where it was: open it again to retype.
        "back_url": back_url(request, same_page=True),
        "action": request.get_full_path(),
        "fields": fields if resend else [],
        "resend": resend,
        "dropped": dropped,
    }
    response = render(request, "403_csrf.html", context, status=403)
    add_never_cache_headers(response)  # it may hold what the patient typed
    return response
