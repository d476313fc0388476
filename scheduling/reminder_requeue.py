"""Putting a reminder row back in the outbox: pending, due at a given time, as if it had never been
tried. Staff resend a failed message this way (scheduling.reminders.views); the dispatch sweep
sends the row on its next run, with the same idempotency key as before."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from propel.audit import audit_record
from scheduling.models import Reminder, ReminderState


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


def reminder_requeue(
    *, reminder_id: int, request: HttpRequest | None = None, now: dt.datetime | None = None
) -> bool:
    """Send a failed reminder again: the row goes back to pending, due now, its attempts reset.

    Conditional on the row still being failed, so a row the sweep touched meanwhile is never
    reset; audited ("reminder.resent") in the same transaction. Returns whether the row was put
    back (False, and nothing written, when it had not failed). Raises Reminder.DoesNotExist for an
    unknown id.
    """
    now = now or timezone.now()
    reminder = Reminder.objects.select_related("appointment").get(pk=reminder_id)
    with transaction.atomic():
        reset = Reminder.objects.filter(pk=reminder.pk, state=ReminderState.FAILED).update(
            **pending_again(due=now, now=now)
        )
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
