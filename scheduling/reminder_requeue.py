"""Putting a reminder row back in the outbox: pending, due at a given time, as if it had never been
tried. Staff resend a failed message this way (scheduling.reminders.views, the staff patient
page); the dispatch sweep sends the row on its next run, with the same idempotency key as before.

A message about a visit is not resent once it is pointless (`resend_refusal`): a reminder about a
visit that is no longer booked, or any message about a visit whose time has passed (the
follow-up after a visit excepted: it is meant to go after). The notice of a cancellation is the
one message about a cancelled visit that may go again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from propel.audit import audit_record
from scheduling.errors import SchedulingError
from scheduling.models import AppointmentStatus, Reminder, ReminderKind, ReminderState

# Messages that report a change already made (the visit may be cancelled) or come after the visit.
ABOUT_A_CHANGE = frozenset({ReminderKind.RESCHEDULED_NOTICE, ReminderKind.CANCELLED_NOTICE})
AFTER_THE_VISIT = frozenset({ReminderKind.FOLLOW_UP_NEXT_DAY})


def pending_again(*, due: dt.datetime, now: dt.datetime) -> dict[str, Any]:
    """The fields that put a row back to pending, due at `due`, with no attempt, claim or error:
    for a conditional `Reminder.objects.filter(...).update(**pending_again(...))`."""
    return {
        "state": ReminderState.PENDING,
        "due_at": due,
        "attempts": 0,
        "claimed_at": None,
        "last_error": "",
        "updated_at": now,
    }


def resend_refusal(
    *, kind: str, status: str | None, start: dt.datetime | None, now: dt.datetime
) -> str | None:
    """Why a failed message of `kind` about a visit (its `status` and `start`; None for a message
    about no visit) may not be sent again at `now`, as a SchedulingError code; None when it may."""
    if status is None or start is None:
        return None
    if kind in AFTER_THE_VISIT:
        return "resend_visit_cancelled" if status == AppointmentStatus.CANCELLED else None
    if start <= now:
        return "resend_visit_past"
    if kind not in ABOUT_A_CHANGE and status != AppointmentStatus.BOOKED:
        return "resend_visit_cancelled" if status == AppointmentStatus.CANCELLED else "resend_off"
    return None


def _batch_mates(reminder: Reminder, *, now: dt.datetime) -> list[int]:
    """The other failed rows of the reminder's batch on its channel that may be sent again: they
    failed as one message with it, so they go again as one message (the dispatcher claims a batch
    whole)."""
    if reminder.batch is None:
        return []
    mates = (
        Reminder.objects.filter(
            batch=reminder.batch, channel=reminder.channel, state=ReminderState.FAILED
        )
        .exclude(pk=reminder.pk)
        .select_related("appointment")
    )
    return [
        mate.pk
        for mate in mates
        if resend_refusal(
            kind=mate.kind,
            status=mate.appointment.status if mate.appointment is not None else None,
            start=mate.appointment.start if mate.appointment is not None else None,
            now=now,
        )
        is None
    ]


def reminder_requeue(
    *, reminder_id: int, request: HttpRequest | None = None, now: dt.datetime | None = None
) -> bool:
    """Send a failed reminder again: the row goes back to pending, due now, its attempts reset;
    so do the failed rows of its batch on its channel that may still be sent (one message again).

    Conditional on the row still being failed, so a row the sweep touched meanwhile is never
    reset; audited ("reminder.resent") in the same transaction. Returns whether the row was put
    back (False, and nothing written, when it had not failed: a second click of the same button
    finds the row pending and resends nothing). Raises SchedulingError (`resend_refusal`) for a
    message about a visit that is cancelled or past, Reminder.DoesNotExist for an unknown id.
    """
    now = now or timezone.now()
    reminder = Reminder.objects.select_related("appointment").get(pk=reminder_id)
    appointment = reminder.appointment
    refusal = resend_refusal(
        kind=reminder.kind,
        status=appointment.status if appointment is not None else None,
        start=appointment.start if appointment is not None else None,
        now=now,
    )
    if refusal is not None and reminder.state == ReminderState.FAILED:
        raise SchedulingError(refusal)
    with transaction.atomic():
        reset = Reminder.objects.filter(
            pk__in=[reminder.pk, *_batch_mates(reminder, now=now)], state=ReminderState.FAILED
        ).update(**pending_again(due=now, now=now))
        if reset:
            audit_record(
                action="reminder.resent",
                request=request,
                patient_id=(
                    reminder.appointment.patient_id
                    if reminder.appointment is not None
                    else reminder.patient_id
                ),
                obj=reminder,
                detail={
                    "kind": reminder.kind,
                    "channel": reminder.channel,
                    "appointment_id": reminder.appointment_id,
                },
            )
    return bool(reset)
