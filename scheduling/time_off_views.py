"""The staff time-off page (/staff/time-off/): the blocked time not yet over, a form to add it
and a button to remove it. Every staff role sees it (Capability.CALENDAR); front desk and admin
change it (scheduling.time_off.can_manage_time_off; 403 for the others).

Adding blocked time over booked visits takes two steps, as closing the clinic does: the form,
then a page listing the visits it would hit (time, patient, type; no health information) with a
button that saves it without cancelling them; the desk then moves them through the usual doors.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.errors import SchedulingError
from scheduling.models import Appointment
from scheduling.time_off import (
    can_manage_time_off,
    time_off_delete,
    time_off_hits,
    time_off_save,
    upcoming_time_off,
)
from scheduling.time_off_forms import TimeOffForm

LIST = "scheduling/time_off/list.html"
NEW = "scheduling/time_off/new.html"


def _managing(request: HttpRequest) -> None:
    if not can_manage_time_off(request.user):
        raise PermissionDenied


@require_http_methods(["GET", "HEAD"])
@staff_required(Capability.CALENDAR)
def time_off_list(request: HttpRequest) -> HttpResponse:
    context = {
        "blocks": upcoming_time_off(timezone.now()),
        "can_manage": can_manage_time_off(request.user),
    }
    return render(request, LIST, context)


def _confirmed_ids(request: HttpRequest) -> list[int]:
    return [int(value) for value in request.POST.getlist("visit") if value.isdigit()]


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required(Capability.CALENDAR)
def time_off_new(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST "check": save when no visit is hit, else the confirm page. POST
    "confirm": save, the visits listed left booked (refused when the list changed)."""
    _managing(request)
    if request.method != "POST":
        return render(request, NEW, {"form": TimeOffForm()})
    form = TimeOffForm(request.POST)
    if not form.is_valid():
        return render(request, NEW, {"form": form}, status=400)
    data = form.cleaned_data
    span = {**form.resource_ids(), "start": data["start"], "end": data["end"]}
    confirming = request.POST.get("step") == "confirm"
    hits = time_off_hits(**span)
    if hits and not confirming:
        return _confirm_page(request, form, hits)
    try:
        time_off_save(
            **span,
            reason=data["reason"],
            note=data["note"],
            actor=request.user,
            confirmed_ids=_confirmed_ids(request) if confirming else [],
        )
    except SchedulingError as error:
        return _confirm_page(request, form, hits, error=error.message, status=409)
    messages.success(request, _("The time is blocked."))
    return redirect("scheduling:time_off")


def _confirm_page(
    request: HttpRequest,
    form: TimeOffForm,
    hits: list[Appointment],
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    audit_shown(request, {appointment.patient_id for appointment in hits})
    context: dict[str, Any] = {"form": form, "hits": hits, "error": error}
    return render(request, NEW, context, status=status)


@require_POST
@staff_required(Capability.CALENDAR)
def time_off_remove(request: HttpRequest, block_id: int) -> HttpResponse:
    _managing(request)
    try:
        time_off_delete(block_id)
    except SchedulingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The blocked time was removed."))
    return redirect("scheduling:time_off")
