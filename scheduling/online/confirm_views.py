"""Confirming an online booking request from the emailed link.

The link (/book/confirm/<token>/) only swaps its token into the session and redirects to the
token-free /book/confirm/ page: a GET never books, because mail scanners open links. The page
shows the time and a "Confirm my booking" button; the POST books (scheduling.online.booking
.online_booking_confirm) and sends the patient to their own page. Reopened after it was used, the
page says where the visit stands (booked, or cancelled with a way to book again) and its button
opens the patient's page.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from intake.links import patient_link_token
from propel.secret_addresses import keep_private, secret_address
from scheduling.booking_tokens import booking_request_id_from_token
from scheduling.errors import SchedulingError
from scheduling.models import BookingRequest
from scheduling.online.booking import online_booking_confirm
from scheduling.online.offer import nearest_alternatives
from scheduling.online.public_forms import BookingConfirmForm
from scheduling.online.rules import consultation_type
from scheduling.online.visit_status import appointment_status_now
from scheduling.slots import zone_label

CONFIRM_SESSION_KEY = "propel_booking_confirm"
# The token-free page posts its own form: with "no-referrer" browsers send `Origin: null` and
# Django's CSRF check refuses the POST, so it keeps the default "same-origin".
PAGE_REFERRER_POLICY = "same-origin"
# Refusals after which the nearest free times are offered instead of the one asked for.
OFFER_ALTERNATIVES = frozenset({"slot_gone", "too_soon", "too_far"})
MAX_TOKEN_LENGTH = 200


def _private(response: HttpResponse) -> HttpResponse:
    return keep_private(response, what="booking confirmation", referrer_policy=PAGE_REFERRER_POLICY)


@require_http_methods(["GET", "HEAD"])
@secret_address(what="booking confirmation link", referrer_policy="no-referrer")
def book_confirm_link(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: keep the token in the session, continue on a token-free address."""
    if len(token) <= MAX_TOKEN_LENGTH:
        request.session[CONFIRM_SESSION_KEY] = token
    return redirect("scheduling:book_confirm")


def _booking_request(request: HttpRequest) -> BookingRequest | None:
    token = request.session.get(CONFIRM_SESSION_KEY)
    request_id = booking_request_id_from_token(token) if isinstance(token, str) else None
    if request_id is None:
        return None
    return (
        BookingRequest.objects.select_related("appointment__appointment_type")
        .filter(pk=request_id)
        .first()
    )


def _page(
    request: HttpRequest,
    booking_request: BookingRequest,
    *,
    form: BookingConfirmForm,
    message: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"booking": booking_request, "form": form, "message": message, "zone": zone_label()}
    if booking_request.appointment is not None:
        # Reopened after it was confirmed: where the visit stands now (booked, or cancelled with
        # the way to book again), never the "Confirm" button of a request already used.
        context["visit"] = appointment_status_now(booking_request.appointment, now=timezone.now())
    response = render(request, "scheduling/public/confirm.html", context, status=status)
    return _private(response)


def _gone(request: HttpRequest) -> HttpResponse:
    response = render(request, "scheduling/public/confirm_gone.html", status=410)
    return _private(response)


@require_http_methods(["GET", "HEAD", "POST"])
def book_confirm(request: HttpRequest) -> HttpResponse:
    """The requested time and a button; the POST books and opens the patient's page."""
    booking_request = _booking_request(request)
    now = timezone.now()
    if booking_request is None or not (
        booking_request.appointment_id or booking_request.is_live(now)
    ):
        return _gone(request)
    if request.method != "POST":
        return _page(request, booking_request, form=BookingConfirmForm())
    alternatives = _alternatives(booking_request) if request.POST.get("alternative") else []
    form = BookingConfirmForm(request.POST, alternatives=alternatives)
    if not form.is_valid():
        return _page(request, booking_request, form=form, status=400)
    try:
        result = online_booking_confirm(
            booking_request_id=booking_request.pk,
            start=form.cleaned_data.get("alternative"),
            request=request,
        )
    except SchedulingError as error:
        return _refused(request, booking_request, error)
    # The request stays in the session: reloading this page (the back button) then says where
    # the visit stands, not that the link expired and nothing was booked.
    return redirect(reverse("scheduling:patient_home", args=[patient_link_token(result.patient)]))


def _alternatives(booking_request: BookingRequest) -> list[dt.datetime]:
    consultation = consultation_type()
    if consultation is None:
        return []
    return nearest_alternatives(
        consultation,
        start=booking_request.start,
        now=timezone.now(),
        hold_key=booking_request.hold_key,
    )


def _refused(
    request: HttpRequest, booking_request: BookingRequest, error: SchedulingError
) -> HttpResponse:
    """A hard stop: the care team's page. A time gone: the nearest free times. Otherwise why."""
    if error.code == "request_gone":
        return _gone(request)
    if error.code == "care_team":
        request.session.pop(CONFIRM_SESSION_KEY, None)
        context = {"message": error.message, "phone": settings.CLINIC_PHONE}
        response = render(request, "scheduling/public/care_team.html", context)
        return _private(response)
    alternatives = _alternatives(booking_request) if error.code in OFFER_ALTERNATIVES else []
    form = BookingConfirmForm(alternatives=alternatives)
    return _page(request, booking_request, form=form, message=error.message, status=409)
