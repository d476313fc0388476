"""Pages anyone may open without signing in: choose a consultation time, hold it, ask for it
("check your email": the same answer for everyone, see scheduling.online.booking), and ask for a
new link. Each view binds a form, calls one service from scheduling.online (booking, links), and
turns a refusal into a calm message with a way forward. Confirming from the emailed link:
scheduling.online.confirm_views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from propel.http import client_ip
from propel.ratelimit import ratelimit_hit
from propel.secret_addresses import keep_private
from scheduling.errors import SchedulingError
from scheduling.models import AppointmentType, BookingRequest, SlotHold
from scheduling.online import slot_page
from scheduling.online.booking import online_booking_request, online_slot_hold
from scheduling.online.links import patient_link_request
from scheduling.online.offer import is_offered, nearest_alternatives
from scheduling.online.public_forms import (
    KEY_PATTERN,
    BookingDetailsForm,
    LinkRequestForm,
    SlotChoiceForm,
)
from scheduling.online.rules import consultation_type, normalise_email
from scheduling.slots import zone_label

HOLD_SESSION_KEY = "propel_slot_hold"
HOUR, DAY = 3600, 86400
# Codes after which the nearest free times are offered instead of the one asked for.
OFFER_ALTERNATIVES = frozenset({"slot_gone", "too_soon", "too_far"})
LINK_REQUESTS_PER_EMAIL_PER_DAY = 5


def _over_ip_limit(request: HttpRequest, action: str, limit: int) -> bool:
    return ratelimit_hit(f"{action}:ip:{client_ip(request) or 'unknown'}", limit, HOUR)


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/public/too_many.html", status=429)


def _unavailable(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/public/unavailable.html", status=503)


@require_http_methods(["GET", "HEAD"])
def book(request: HttpRequest) -> HttpResponse:
    """Free consultation times, one day at a time (?day=, else the first day with a free time),
    with a row of days to switch to. Shared between visitors and recomputed only when a row it
    depends on changes (scheduling.online.slot_page), except for someone holding a time: they
    see it as free, so theirs is computed for them alone."""
    day = slot_page.day_param(request.GET.get("day"))
    hold_key = request.session.get(HOLD_SESSION_KEY)
    now = timezone.now()
    if hold_key:
        slot_days = slot_page.days_html(day=day, now=now, hold_key=hold_key)
    else:
        slot_days = slot_page.shared_days_html(day=day, now=now)
    if slot_days is None:
        return _unavailable(request)
    return render(
        request,
        "scheduling/public/book.html",
        {"slot_days": slot_days, "hold_minutes": settings.SLOT_HOLD_MINUTES},
    )


@require_POST
def book_hold(request: HttpRequest) -> HttpResponse:
    """Hold the chosen time for a few minutes and go to the details form."""
    if _over_ip_limit(request, "hold", settings.BOOKING_RATE_PER_IP_PER_HOUR):
        return _too_many(request)
    consultation = consultation_type()
    if consultation is None:
        return _unavailable(request)
    form = SlotChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a time from the list."))
        return redirect("scheduling:book")
    start = form.cleaned_data["start"]
    previous = request.session.get(HOLD_SESSION_KEY)
    try:
        hold = online_slot_hold(start=start, replaces=previous)
    except SchedulingError as error:
        return _slot_gone(request, error, consultation, start=start, hold_key=previous)
    request.session[HOLD_SESSION_KEY] = hold.key
    return redirect("scheduling:book_details", hold_key=hold.key)


def _slot_gone(
    request: HttpRequest,
    error: SchedulingError,
    consultation: AppointmentType,
    *,
    start: dt.datetime,
    hold_key: str | None,
) -> HttpResponse:
    """The time could not be held: why, and the nearest free times around it."""
    context = {
        "message": error.message,
        "alternatives": nearest_alternatives(
            consultation, start=start, now=timezone.now(), hold_key=hold_key
        ),
        "day": timezone.localdate(start).isoformat(),
        "zone": zone_label(),
    }
    return render(request, "scheduling/public/slot_gone.html", context, status=409)


def _details_page(
    request: HttpRequest,
    *,
    form: BookingDetailsForm,
    hold: SlotHold,
    held: bool,
    status: int = 200,
    message: str = "",
) -> HttpResponse:
    context = {
        "form": form,
        "hold": hold,
        "held": held,
        "message": message,
        "hold_minutes": settings.SLOT_HOLD_MINUTES,
        "zone": zone_label(),
    }
    response = render(request, "scheduling/public/details.html", context, status=status)
    return keep_private(response, what="patient page")


def _kept_answers(form: BookingDetailsForm) -> dict[str, Any]:
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if name not in ("alternative", "website")
    }


@require_http_methods(["GET", "HEAD", "POST"])
def book_details(request: HttpRequest, hold_key: str) -> HttpResponse:
    """Who is booking. The hold key in the address is also the booking's idempotency key; once a
    request was made with it, the address answers "check your email"."""
    if not KEY_PATTERN.match(hold_key):
        raise Http404
    if BookingRequest.objects.filter(hold_key=hold_key).exists():
        return redirect("scheduling:book_check_email")
    hold = SlotHold.objects.select_related("appointment_type").filter(key=hold_key).first()
    if hold is None:
        messages.info(request, _("Please choose a time for your consultation."))
        return redirect("scheduling:book")
    data = None
    if request.method == "POST":
        try:
            data = request.POST
        except RequestDataTooBig:
            message = _(
                "That was more than we can accept. Please check your answers and try again."
            )
            form = BookingDetailsForm()
            return _details_page(
                request, form=form, hold=hold, held=False, status=413, message=message
            )
    offer = _hold_offer(hold, chose_alternative=data is not None and bool(data.get("alternative")))
    if data is None:
        form = BookingDetailsForm(alternatives=offer.alternatives)
        return _details_page(request, form=form, hold=hold, held=offer.held, message=offer.message)
    return _book_submitted(request, data, hold=hold, offer=offer)


@dataclass(frozen=True)
class _HoldOffer:
    held: bool
    message: str
    alternatives: list[dt.datetime]


def _hold_offer(hold: SlotHold, *, chose_alternative: bool) -> _HoldOffer:
    """Whether the held time still stands, and the nearest alternatives: offered when the held
    time is gone, and kept on offer once the patient has chosen one."""
    now = timezone.now()
    held = hold.expires_at > now
    available = held or is_offered(hold.appointment_type, hold.start, now=now, hold_key=hold.key)
    alternatives = _nearest_to(hold, now=now) if not available or chose_alternative else []
    message = "" if available else SchedulingError("slot_gone").message
    return _HoldOffer(held=held, message=message, alternatives=alternatives)


def _nearest_to(hold: SlotHold, *, now: dt.datetime) -> list[dt.datetime]:
    """The free times nearest the held one, for when it is gone or the patient wants another."""
    return nearest_alternatives(hold.appointment_type, start=hold.start, now=now, hold_key=hold.key)


def _book_submitted(
    request: HttpRequest, data: QueryDict, *, hold: SlotHold, offer: _HoldOffer
) -> HttpResponse:
    """The details form sent: the limits, then the booking; a refusal shows the form again."""
    held = offer.held
    form = BookingDetailsForm(data, alternatives=offer.alternatives)
    if form.is_honeypot_filled:
        form.add_error(
            None,
            _("We could not complete your booking. Please call us at %(phone)s.")
            % {"phone": settings.CLINIC_PHONE},
        )
        return _details_page(request, form=form, hold=hold, held=held, status=400)
    if not form.is_valid():
        return _details_page(request, form=form, hold=hold, held=held, message=offer.message)
    start = form.cleaned_data.get("alternative") or hold.start
    try:
        # Nothing here depends on who the person is: the answer is the same for everyone.
        online_booking_request(
            details=form.details(), start=start, hold_key=hold.key, ip=client_ip(request)
        )
    except SchedulingError as error:
        return _book_refused(request, form, error, hold=hold, held=held)
    request.session.pop(HOLD_SESSION_KEY, None)
    return redirect("scheduling:book_check_email")


def _book_refused(
    request: HttpRequest,
    form: BookingDetailsForm,
    error: SchedulingError,
    *,
    hold: SlotHold,
    held: bool,
) -> HttpResponse:
    if error.code in OFFER_ALTERNATIVES:
        starts = _nearest_to(hold, now=timezone.now())
        fresh = BookingDetailsForm(initial=_kept_answers(form), alternatives=starts)
        return _details_page(
            request, form=fresh, hold=hold, held=False, status=409, message=error.message
        )
    form.add_error("date_of_birth" if error.code == "under_18" else None, error.message)
    status = 429 if error.code == "too_many_attempts" else 409
    return _details_page(request, form=form, hold=hold, held=held, status=status)


@require_http_methods(["GET", "HEAD"])
def book_check_email(request: HttpRequest) -> HttpResponse:
    """The one answer to every accepted booking form, whoever typed it: check your email."""
    context = {"confirm_minutes": settings.BOOKING_CONFIRM_MINUTES}
    return render(request, "scheduling/public/check_email.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def link_request(request: HttpRequest) -> HttpResponse:
    """Ask for a fresh link by email. The answer never says whether the address is known."""
    if request.method != "POST":
        return render(request, "scheduling/public/link_request.html", {"form": LinkRequestForm()})
    if _over_ip_limit(request, "link", settings.LINK_REQUEST_RATE_PER_IP_PER_HOUR):
        return _too_many(request)
    form = LinkRequestForm(request.POST)
    if not form.is_valid():
        return render(request, "scheduling/public/link_request.html", {"form": form})
    email = normalise_email(form.cleaned_data["email"])
    # Over the per-address limit nothing is sent, and the answer is the same as always.
    if not ratelimit_hit(f"link:email:{email}", LINK_REQUESTS_PER_EMAIL_PER_DAY, DAY):
        patient_link_request(email=email)
    return redirect("scheduling:link_sent")


@require_http_methods(["GET", "HEAD"])
def link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/public/link_sent.html")
