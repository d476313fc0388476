"""Staff pages about reminders: what was sent, when, through which channel, and what failed,
overall and per appointment, with a resend action for a failed reminder (Capability.CALENDAR).

The pages show who a message went to and its kind, never its text. Resending puts the failed row
back to pending, due now, with its attempts reset; the dispatch sweep sends it on its next run.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from propel.audit import audit_record
from propel.roles import Capability, staff_required
from scheduling.models import Appointment, Reminder, ReminderChannel, ReminderKind, ReminderState

PAGE_SIZE = 100


def _rows(queryset: QuerySet[Reminder]) -> QuerySet[Reminder]:
    """Failed first, then the most recently due."""
    return queryset.select_related(
        "appointment__patient", "appointment__appointment_type"
    ).order_by(
        Case(
            When(state=ReminderState.FAILED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "-due_at",
        "-id",
    )


@require_GET
@staff_required(Capability.CALENDAR)
def reminder_list(request: HttpRequest) -> HttpResponse:
    reminders = Reminder.objects.all()
    state = request.GET.get("state", "")
    channel = request.GET.get("channel", "")
    kind = request.GET.get("kind", "")
    if state in ReminderState.values:
        reminders = reminders.filter(state=state)
    if channel in ReminderChannel.values:
        reminders = reminders.filter(channel=channel)
    if kind in ReminderKind.values:
        reminders = reminders.filter(kind=kind)
    page = Paginator(_rows(reminders), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "scheduling/reminders/list.html",
        {
            "page": page,
            "reminders": page.object_list,
            "filters": {"state": state, "channel": channel, "kind": kind},
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
    reminder = get_object_or_404(Reminder.objects.select_related("appointment"), pk=reminder_id)
    now = timezone.now()
    with transaction.atomic():
        # Conditional on the state, so a row the sweep touched meanwhile is never reset.
        reset = Reminder.objects.filter(pk=reminder.pk, state=ReminderState.FAILED).update(
            state=ReminderState.PENDING,
            due_at=now,
            attempts=0,
            claimed_at=None,
            last_error="",
            updated_at=now,
        )
        if reset:
            audit_record(
                action="reminder.resent",
                request=request,
                patient_id=reminder.appointment.patient_id,
                obj=reminder,
                detail={
                    "kind": reminder.kind,
                    "channel": reminder.channel,
                    "appointment_id": reminder.appointment_id,
                },
            )
    if reset:
        messages.success(request, _("The message will be sent again shortly."))
    else:
        messages.error(request, _("Only a failed message can be sent again."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = ""
    return redirect(target or "scheduling:reminders")
