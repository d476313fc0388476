"""Closing the clinic for whole days from the calendar (Capability.CALENDAR: the front desk runs
the calendar). Two steps when visits are booked on those days: the form, then a confirm page
listing each visit (patient, time, type; no health information) with one button that saves the
closure, cancels them, emails each patient once and leaves them to rebook. With no visits on those
days the closure is saved at once. The rule is scheduling.closures', which the admin uses too.

The confirm page runs a fixed number of queries whatever the number of visits (one for them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.calendar.forms import ClosureForm
from scheduling.closures import closure_cancelled_visits, closure_hits, closure_save
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, Closure

NEW = "scheduling/calendar/closure_new.html"
DETAIL = "scheduling/calendar/closure.html"


def _cancel_ids(request: HttpRequest) -> list[int]:
    return [int(value) for value in request.POST.getlist("cancel") if value.isdigit()]


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required(Capability.CALENDAR)
def closure_new(request: HttpRequest) -> HttpResponse:
    """GET: the form (?start_date= fills the first day). POST "check": save when no visit is
    booked on those days, else the confirm page. POST "confirm": save and cancel the visits
    listed (scheduling.closures refuses when the list changed meanwhile)."""
    if request.method != "POST":
        form = ClosureForm(initial={"start_date": request.GET.get("start_date") or None})
        return render(request, NEW, {"form": form})
    form = ClosureForm(request.POST)
    if not form.is_valid():
        return render(request, NEW, {"form": form}, status=400)
    data = form.cleaned_data
    confirming = request.POST.get("step") == "confirm"
    if not confirming:
        hits = closure_hits(data["start_date"], data["end_date"])
        if hits:
            return _confirm_page(request, form, hits)
    try:
        result = closure_save(
            start_date=data["start_date"],
            end_date=data["end_date"],
            reason=data["reason"],
            actor=request.user,
            cancel_ids=_cancel_ids(request) if confirming else None,
            notice_reason=data["notice_reason"],
            request=request,
        )
    except SchedulingError as error:
        hits = closure_hits(data["start_date"], data["end_date"])
        # Unconfirmed, a visit booked since the check just needs the list shown.
        shown = error.message if confirming else ""
        return _confirm_page(request, form, hits, error=shown, status=409)
    count = len(result.cancelled)
    messages.success(
        request,
        ngettext(
            "The clinic is closed on those days. %(count)d visit was cancelled and its "
            "patient emailed: rebook it below.",
            "The clinic is closed on those days. %(count)d visits were cancelled and their "
            "patients emailed: rebook them below.",
            count,
        )
        % {"count": count}
        if count
        else _("The clinic is closed on those days."),
    )
    return redirect("scheduling:closure", closure_id=result.closure.pk)


def _confirm_page(
    request: HttpRequest,
    form: ClosureForm,
    hits: list[Appointment],
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    audit_shown(request, {appointment.patient_id for appointment in hits})
    context: dict[str, Any] = {
        "form": form,
        "hits": hits,
        "patients": len({appointment.patient_id for appointment in hits}),
        "error": error,
    }
    return render(request, NEW, context, status=status)


def rebook_url(appointment: Appointment, after: dt.date) -> str:
    """The new-appointment page for the visit's patient and type, from the day after `after`."""
    query = urlencode(
        {
            "patient": str(appointment.patient_id),
            "appointment_type": str(appointment.appointment_type_id),
            "date": (after + dt.timedelta(days=1)).isoformat(),
        }
    )
    return f"{reverse('scheduling:appointment_new')}?{query}"


@require_http_methods(["GET", "HEAD"])
@staff_required(Capability.CALENDAR)
def closure_detail(request: HttpRequest, closure_id: int) -> HttpResponse:
    """A closure and the visits cancelled on its days, each with a link to rebook it."""
    closure = get_object_or_404(Closure, pk=closure_id)
    visits = closure_cancelled_visits(closure)
    audit_shown(request, {appointment.patient_id for appointment in visits})
    rows = [(visit, rebook_url(visit, closure.end_date)) for visit in visits]
    return render(request, DETAIL, {"closure": closure, "rows": rows})
