"""A clinician acknowledges one day-of item on the visit screen (scheduling.visits.items).

Same access as the other visit steps (scheduling.visits.visit_views): Capability.CALENDAR to
reach it, then the clinician's role (403 for anyone else; the service checks again). A form error
answers 400 and a domain refusal (already acknowledged, not today, the infusion started) 409, each
with the reason on the visit screen, or, for an htmx request, in the day-of items section alone.
Success redirects back to the visit (post/redirect/get).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from propel.roles import Capability, roles_of, staff_required
from scheduling.errors import SchedulingError
from scheduling.models import Appointment
from scheduling.visits.common import CLINICAL_ROLES
from scheduling.visits.forms import ItemAcknowledgeForm
from scheduling.visits.items import items_context, visit_acknowledge_item
from scheduling.visits.screen import render_visit


def _refused(
    request: HttpRequest, appointment: Appointment, form: ItemAcknowledgeForm, *, status: int
) -> HttpResponse:
    errors = [str(e) for e in form.non_field_errors()] + [str(e) for e in form["reason"].errors]
    errors += [str(e) for e in form["item"].errors]
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        appointment = get_object_or_404(_appointments(), pk=appointment.pk)
        context = {
            "appointment": appointment,
            **items_context(
                appointment, getattr(appointment, "visit", None), request.user, timezone.now()
            ),
            "day_of_items_errors": errors,
            "day_of_items_failed": form.data.get("item", ""),
        }
        response = render(request, "scheduling/day/_day_of_items.html", context, status=status)
    else:
        for error in errors:
            messages.error(request, error)
        response = render_visit(
            request, get_object_or_404(_appointments(), pk=appointment.pk), status=status
        )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related(
        "patient", "appointment_type", "room", "clinician", "visit"
    )


@require_POST
@staff_required(Capability.CALENDAR)
def visit_item_acknowledge(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_object_or_404(_appointments(), pk=appointment_id)
    if not roles_of(request.user) & CLINICAL_ROLES:
        raise PermissionDenied
    form = ItemAcknowledgeForm(request.POST)
    if not form.is_valid():
        return _refused(request, appointment, form, status=400)
    try:
        visit_acknowledge_item(
            appointment_id=appointment.pk,
            item=form.cleaned_data["item"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            request=request,
        )
    except SchedulingError as error:
        form.add_error(None, error.message)
        return _refused(request, appointment, form, status=409)
    messages.success(request, _("Acknowledged: this item no longer blocks the infusion."))
    return redirect("scheduling:visit", appointment_id=appointment_id)
