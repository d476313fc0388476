"""Request helpers shared by the audit log, the lockout and the views."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT allows.

    Behind N trusted proxies the client is the N-th address from the right; anything further left
    was written by the client and cannot be trusted.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def client_ip_for_axes(request: HttpRequest) -> str:
    return client_ip(request) or ""
