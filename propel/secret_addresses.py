"""Pages and files whose address is their own secret: a patient's signed link (intake.link_pages:
the patient's pages, questionnaire and check-ins), a booking hold, a clinician's calendar feed
(scheduling.calendar.feeds). Whoever learns the address gets in, so every response to one stays
out of caches (no-store, private), other sites' Referer headers and the log.

Referrer-Policy: NO_REFERRER where nobody posts a form (a feed, a file, a link's swap for a
session); FORM_PAGES ("same-origin": no Referer to any other site) on pages with a form. Not
no-referrer there: under no-referrer a browser sends `Origin: null` with a form's POST (Fetch,
"serialize a request origin"), and Django's CSRF check refuses it (403), so the patient could not
send a step, cancel, book or ask for a new link. The form pages a patient link reaches sit at
`me` addresses (intake.link_pages), so the same-origin Referer holds no secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

NO_REFERRER = "no-referrer"
FORM_PAGES = "same-origin"

View = Callable[..., HttpResponse]


def keep_private(
    response: HttpResponse, *, what: str, referrer_policy: str = FORM_PAGES
) -> HttpResponse:
    """Mark `response` no-store with `referrer_policy`, and keep its address out of the log.

    Django logs every 4xx response with its path (django.utils.log.log_response), which would
    write the secret into the log; this logs `what` and the status alone and marks the response
    as logged.
    """
    add_never_cache_headers(response)
    response["Referrer-Policy"] = referrer_policy
    if response.status_code >= 400:
        logger.warning("%s answered %s (address withheld)", what, response.status_code)
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def secret_address(*, what: str, referrer_policy: str = FORM_PAGES) -> Callable[[View], View]:
    """A view whose every response goes through keep_private."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            return keep_private(response, what=what, referrer_policy=referrer_policy)

        return wrapped

    return decorate
