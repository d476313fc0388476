"""A calm 503 page when the database cannot be reached, instead of a 500 and a stack trace.

While PostgreSQL restarts or fails over, a view's first query raises django.db.OperationalError
(cannot connect) or InterfaceError (the connection went away). The request did nothing durable:
every service writes inside its own transaction, which the failure rolled back. So the patient is
told that nothing they entered was saved and to try again in a few minutes, with Retry-After for
clients and monitors. The next request reconnects by itself (CONN_HEALTH_CHECKS in settings), so
there is nothing to restart.

The page is rendered without the request's context processors: they read the session and the user,
which would need the database again. A view's error reaches the middleware (process_exception);
one raised earlier, in another middleware (loading a staff session, say), never does, because
Django turns it into a 500 at that layer: `server_error`, the project's handler500, answers those
with the same 503 page. /healthz catches its own errors and reports them as JSON.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 120


def unavailable_response() -> HttpResponse:
    """The 503 page, built from settings alone (no database, no session)."""
    content = render_to_string(
        "propel/unavailable.html",
        {
            "clinic": {
                "name": settings.CLINIC_NAME,
                "address": settings.CLINIC_ADDRESS,
                "phone": settings.CLINIC_PHONE,
            },
        },
    )
    response = HttpResponse(content, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def _is_database_unavailable(exception: BaseException | None) -> bool:
    return isinstance(exception, OperationalError | InterfaceError)


def _log(request: HttpRequest, exception: BaseException) -> None:
    # The exception, not the path: a patient's path carries their signed link.
    logger.error(
        "database unavailable during a %s request, answered 503: %s: %s",
        request.method,
        type(exception).__name__,
        exception,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it inside its `except`, so the exception is sys.exc_info()'s."""
    exception = sys.exc_info()[1]
    if not _is_database_unavailable(exception):
        return defaults.server_error(request)
    _log(request, exception)  # type: ignore[arg-type]
    return unavailable_response()


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_database_unavailable(exception):
            return None
        _log(request, exception)
        response = unavailable_response()
        # Logged above without the path; Django would log the path of every 5xx response.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
