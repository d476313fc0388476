"""Floors: views that do as little as possible while passing through the whole middleware stack."""

from django.http import HttpRequest, HttpResponse


def bare(request: HttpRequest) -> HttpResponse:
    """The throughput floor: same server, same middleware, no template, no query."""
    return HttpResponse("ok", content_type="text/plain")
