"""Celery tasks of the scheduling app (thin: ids in, one plain function called).

Every message to a patient (the confirmation, reminders, the notices of an online move or
cancellation, a fresh link, a request for more information, a booking request's confirmation
link) is a reminder row sent by `dispatch_reminders` and `send_reminders` (a chunk of messages)
or `send_reminder` (one), exactly once and never lost to a broker outage
(scheduling.reminders.dispatch). Beat's sweep also purges expired holds and booking requests
(scheduling.holds).
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from intake.models import Patient
from scheduling.fhir import tasks as fhir_tasks  # noqa: F401  (registers its tasks)
from scheduling.holds import holds_purge
from scheduling.models import ReminderKind
from scheduling.reminder_plan import patient_message_plan, reminder_notice_plan
from scheduling.reminders.dispatch import (
    dispatch_due,
    recover_stuck,
    reminder_chunk_send,
    reminder_send,
)
from scheduling.waitlist import tasks as waitlist_tasks  # noqa: F401  (registers its tasks)


# Kept for one release: messages queued under these names before the notices became reminder
# rows must not be dropped as unregistered tasks. Each plans the notice (idempotent) instead of
# sending it, so a change that already has its notice row gets no second email.
@shared_task(name="scheduling.tasks.send_booking_rescheduled", ignore_result=True)
def send_booking_rescheduled(appointment_id: int, previous_id: int) -> None:
    reminder_notice_plan(appointment_id=appointment_id, kind=ReminderKind.RESCHEDULED_NOTICE)


@shared_task(name="scheduling.tasks.send_booking_cancelled", ignore_result=True)
def send_booking_cancelled(appointment_id: int) -> None:
    reminder_notice_plan(appointment_id=appointment_id, kind=ReminderKind.CANCELLED_NOTICE)


@shared_task(name="scheduling.tasks.send_patient_link", ignore_result=True)
def send_patient_link(patient_id: int) -> None:
    """Kept for one release (a link asked for before links became outbox rows): writes the row."""
    if Patient.objects.filter(pk=patient_id).exists():
        patient_message_plan(patient_id=patient_id, kind=ReminderKind.PATIENT_LINK)


@shared_task(name="scheduling.tasks.dispatch_reminders", ignore_result=True)
def dispatch_reminders() -> None:
    """Beat, every minute: put rows of dead sends back, then claim due reminders in chunks and
    queue their sends (scheduling.reminders.dispatch; a full chunk's task claims the next, so a
    backlog does not wait for the next minute); delete expired holds and booking requests."""
    now = timezone.now()
    recover_stuck(now=now)
    dispatch_due(now=now)
    holds_purge(now=now)


@shared_task(name="scheduling.tasks.send_reminder", ignore_result=True)
def send_reminder(reminder_id: int) -> None:
    """Send one claimed reminder. Retries are the dispatcher's (back-off recorded on the row), not
    Celery's, so a redelivered task is harmless: it finds the row no longer claimed."""
    reminder_send(reminder_id=reminder_id)


@shared_task(name="scheduling.tasks.send_reminders", ignore_result=True)
def send_reminders(reminder_ids: list[int]) -> None:
    """Send a chunk of claimed messages (the leads the sweep claimed together), then claim the
    next chunk if this one was full. Retries are the dispatcher's, as for send_reminder."""
    reminder_chunk_send(reminder_ids=reminder_ids)
