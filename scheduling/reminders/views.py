"""Staff pages about reminders: what was sent, when, through which channel, and what failed,
overall and per appointment, with a resend action for a failed reminder (Capability.CALENDAR).

The pages show who a message went to and its kind, never its text. Resending puts the failed row
back to pending, due now, with its attempts reset (scheduling.reminder_requeue); the dispatch sweep
sends it on its next run.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, Reminder, ReminderChannel, ReminderKind, ReminderState
from scheduling.reminder_requeue import reminder_requeue

PAGE_SIZE = 100
# The list's filters: each query parameter and the choices it must be one of (else ignored).
FILTERS = {"state": ReminderState, "channel": ReminderChannel, "kind": ReminderKind}


def _rows(queryset: QuerySet[Reminder]) -> QuerySet[Reminder]:
    """Failed first, then the most recently due."""
    return queryset.select_related(
        "appointment__patient", "appointment__appointment_type", "patient"
    ).order_by(
        Case(
            When(state=ReminderState.FAILED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "-due_at",
        "-id",
    )


def _patients_shown(reminders: Iterable[Reminder]) -> list[int]:
    """The patients the list names: an appointment's, or the patient a message is about (a
    booking request not yet confirmed names no patient)."""
    ids = (
        reminder.appointment.patient_id if reminder.appointment is not None else reminder.patient_id
        for reminder in reminders
    )
    return [patient_id for patient_id in ids if patient_id is not None]


@require_GET
@staff_required(Capability.CALENDAR)
def reminder_list(request: HttpRequest) -> HttpResponse:
    filters = {name: request.GET.get(name, "") for name in FILTERS}
    chosen = {name: value for name, value in filters.items() if value in FILTERS[name].values}
    reminders = Reminder.objects.filter(**chosen)
    page = Paginator(_rows(reminders), PAGE_SIZE).get_page(request.GET.get("page"))
    # Evaluates the page's rows once; the template reads the same (cached) rows.
    audit_shown(request, _patients_shown(page.object_list))
    return render(
        request,
        "scheduling/reminders/list.html",
        {
            "page": page,
            "reminders": page.object_list,
            "filters": filters,
            "states": ReminderState.choices,
            "channels": ReminderChannel.choices,
            "kinds": ReminderKind.choices,
        },
    )


@require_GET
@staff_required(Capability.CALENDAR)
def appointment_reminders(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_object_or_404(
        Appointment.objects.select_related("patient", "appointment_type"), pk=appointment_id
    )
    audit_shown(request, [appointment.patient_id])
    return render(
        request,
        "scheduling/reminders/appointment.html",
        {
            "appointment": appointment,
            "reminders": list(_rows(appointment.reminders.all())),
        },
    )


@require_POST
@staff_required(Capability.CALENDAR)
def reminder_resend(request: HttpRequest, reminder_id: int) -> HttpResponse:
    try:
        resent = reminder_requeue(reminder_id=reminder_id, request=request)
    except Reminder.DoesNotExist:
        raise Http404 from None
    except SchedulingError as error:
        messages.error(request, error.message)
    else:
        if resent:
            messages.success(request, _("The message will be sent again shortly."))
        else:
            messages.info(
                request,
                _(
                    "Only a failed message can be sent again; this one is already on its way or "
                    "was sent, so nothing more was done."
                ),
            )
    return redirect(_safe_next(request) or "scheduling:reminders")


def _safe_next(request: HttpRequest) -> str:
    """The page the form came from, if it is on this site; otherwise ""."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""
