"""The one door to every page a patient reaches by link: their own page and appointments
(scheduling.online.patient_views), the questionnaire and the pre-infusion check-ins (intake.views).

- A GET or HEAD with a real token checks it (intake.links), opens the patient's session
  (intake.link_sessions) and redirects to the same address with the token replaced by the marker
  ME, query string kept: the token is in one request line, never in the history or a Referer.
- Behind ME the patient comes from the session.
- A POST with a real token (a tab opened before the swap) is answered as before, and opens the
  session; the page it leads to carries ME.
- Refusals: a bad link 404, a revoked, superseded or expired one 410 (the clinic's phone and a
  "send me a new link" form), no session or an idle one 401 (the page timed out: open the link
  in the email again, or ask for a new one). 401 rather than 410 because the link itself may
  still be good. A 404 raised inside the view gets the same 404 page.
- Every answer, refusals included, is private (propel.secret_addresses): no-store, private, no
  address in Django's log, and no Referer to another site (the swap itself: no Referer at all;
  the pages, which carry forms: same-origin, see propel.secret_addresses).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation

from intake.link_sessions import ME, patient_session_check, patient_session_open
from intake.links import LinkCheck, LinkRefusal, patient_link_check
from propel.secret_addresses import FORM_PAGES, NO_REFERRER, keep_private

LinkView = Callable[..., HttpResponse]

REFUSAL_PAGES = {
    LinkRefusal.INVALID: ("intake/link/invalid.html", 404),
    LinkRefusal.GONE: ("intake/link/gone.html", 410),
    LinkRefusal.TIMED_OUT: ("intake/link/timed_out.html", 401),
}


def link_refused(request: HttpRequest, refusal: LinkRefusal) -> HttpResponse:
    """The calm page for a link that does not open (see the module's docstring)."""
    template, status = REFUSAL_PAGES[refusal]
    return render(request, template, status=status)


def link_invalid(request: HttpRequest) -> HttpResponse:
    """The one 404 page for a bad link and for an address that is not the patient's."""
    return link_refused(request, LinkRefusal.INVALID)


def swapped_address(request: HttpRequest) -> str:
    """This request's address with its token replaced by ME, query string kept."""
    match = request.resolver_match
    assert match is not None  # a view is running
    address = reverse(match.view_name, args=match.args, kwargs={**match.kwargs, "token": ME})
    query = request.META.get("QUERY_STRING", "")
    return f"{address}?{query}" if query else address


def _check(request: HttpRequest, token: str) -> LinkCheck:
    now = timezone.now()
    if token == ME:
        return patient_session_check(request, now=now)
    check = patient_link_check(token)
    if check.patient is not None:
        patient_session_open(request, check.patient, now=now)
    return check


def _answer(
    request: HttpRequest, view: LinkView, check: LinkCheck, *args: Any, **kwargs: Any
) -> HttpResponse:
    if check.patient is None:
        return link_refused(request, check.refusal or LinkRefusal.INVALID)
    try:
        return view(request, check.patient, ME, *args, **kwargs)
    except Http404:
        return link_invalid(request)


def _patient_language(request: HttpRequest, language: str) -> None:
    """A browser that never chose a language (no cookie) gets the patient's stored one
    (intake.language), rather than the Accept-Language guess."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES or not language:
        return
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()


def patient_link_page(view: LinkView) -> LinkView:
    """A page addressed by `<token>`: the view gets (request, patient, ME, ...) or never runs."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponse:
        check = _check(request, token)
        if check.patient is not None:
            _patient_language(request, check.patient.preferred_language)
        if check.patient is not None and token != ME and request.method in ("GET", "HEAD"):
            swap = redirect(swapped_address(request))
            return keep_private(swap, what="patient page", referrer_policy=NO_REFERRER)
        response = _answer(request, view, check, *args, **kwargs)
        return keep_private(response, what="patient page", referrer_policy=FORM_PAGES)

    return wrapped
