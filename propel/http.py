"""Request helpers shared by the audit log, the lockout and the views (htmx partials too)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT allows.

    Behind N trusted proxies the client is the N-th address from the right; anything further left
    was written by the client and cannot be trusted.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded: list[str] = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    remote: str | None = request.META.get("REMOTE_ADDR") or None
    return remote


def post_data(request: HttpRequest) -> QueryDict | None:
    """request.POST, or None when the body is beyond DATA_UPLOAD_MAX_MEMORY_SIZE (Django raises
    RequestDataTooBig on first reading it): the view says so on the page instead of a 400."""
    try:
        return request.POST
    except RequestDataTooBig:
        return None


def client_ip_for_axes(request: HttpRequest) -> str:
    return client_ip(request) or ""


def partial_or_page(
    request: HttpRequest, page: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The partial for an htmx swap; the whole page otherwise (no JS, or htmx restoring history)."""
    htmx = getattr(request, "htmx", None)
    template = partial if htmx and not htmx.history_restore_request else page
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
