"""Security headers on every response (issue 8, item 5).

- Content-Security-Policy on HTML responses: scripts only from our own origin (no 'unsafe-inline',
  no eval); styles likewise (templates carry no inline styles; htmx's indicator style is turned off
  in base.html). Settings: CSP_POLICY (the directives) can be overridden whole.
- Permissions-Policy and Cross-Origin-Opener-Policy on every response.
- Cache-Control: no-store on staff, admin and patient-link pages and on any response to a signed-in
  user, so health information never stays in a shared or back-button cache.
HSTS and secure cookies come from Django's SecurityMiddleware and settings.PRODUCTION.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"
PRIVATE_PREFIXES = ("/staff/", "/admin/", "/p/")


def csp_header() -> str:
    # The directives have one home, settings.CSP_POLICY.
    policy = settings.CSP_POLICY
    return "; ".join(f"{name} {value}" for name, value in policy.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = csp_header()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        user = getattr(request, "user", None)
        signed_in = bool(user is not None and user.is_authenticated)
        private = request.path.startswith(PRIVATE_PREFIXES) or signed_in
        if private and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response
