"""Celery tasks of the scheduling app (thin: ids in, one plain function called) and the plain
function that sends a patient a fresh link.

Messages about appointments (the confirmation, reminders, the notices of an online move or
cancellation) are reminder rows sent by `dispatch_reminders` and `send_reminder`, exactly once and
never lost to a broker outage (scheduling.reminders.dispatch). The link email is queued here after
commit; it may run twice (acks late, a worker lost mid-send), which is harmless.
"""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from intake.links import patient_link_token
from intake.models import Patient
from intake.selectors import questionnaire_status
from propel.emails import send_email
from scheduling.models import ReminderKind
from scheduling.reminder_plan import reminder_notice_plan
from scheduling.reminders.dispatch import dispatch_due, recover_stuck, reminder_send

# SMTP hiccups and dropped connections are worth retrying; template or data errors are not.
RETRY: dict[str, Any] = {
    "autoretry_for": (OSError, smtplib.SMTPException),
    "retry_backoff": 60,
    "retry_backoff_max": 900,
    "retry_jitter": True,
    "max_retries": 6,
    "ignore_result": True,
}


def patient_links(patient: Patient) -> dict[str, str]:
    """The patient's page, and the questionnaire while it is not yet sent, as absolute URLs."""
    token = patient_link_token(patient)
    links = {"manage_url": settings.SITE_URL + reverse("scheduling:patient_home", args=[token])}
    if questionnaire_status(patient.pk) != "submitted":
        links["questionnaire_url"] = settings.SITE_URL + reverse("intake:start", args=[token])
    return links


def _clinic() -> dict[str, str]:
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_phone": settings.CLINIC_PHONE,
    }


def patient_link_send(*, patient_id: int) -> None:
    """Email the patient a fresh link to their page. A patient removed meanwhile gets nothing."""
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        return
    context = {
        "first_name": patient.first_name,
        "valid_days": settings.PATIENT_LINK_MAX_AGE.days,
        **_clinic(),
        **patient_links(patient),
    }
    send_email(name="patient_link", to=[patient.email], context=context)


# Kept for one release: messages queued under these names before the notices became reminder
# rows must not be dropped as unregistered tasks. Each plans the notice (idempotent) instead of
# sending it, so a change that already has its notice row gets no second email.
@shared_task(name="scheduling.tasks.send_booking_rescheduled", ignore_result=True)
def send_booking_rescheduled(appointment_id: int, previous_id: int) -> None:
    reminder_notice_plan(appointment_id=appointment_id, kind=ReminderKind.RESCHEDULED_NOTICE)


@shared_task(name="scheduling.tasks.send_booking_cancelled", ignore_result=True)
def send_booking_cancelled(appointment_id: int) -> None:
    reminder_notice_plan(appointment_id=appointment_id, kind=ReminderKind.CANCELLED_NOTICE)


@shared_task(name="scheduling.tasks.send_patient_link", **RETRY)
def send_patient_link(patient_id: int) -> None:
    patient_link_send(patient_id=patient_id)


@shared_task(name="scheduling.tasks.dispatch_reminders", ignore_result=True)
def dispatch_reminders() -> None:
    """Beat, every minute: put rows of dead sends back, then claim due reminders and queue their
    sends (scheduling.reminders.dispatch)."""
    now = timezone.now()
    recover_stuck(now=now)
    dispatch_due(now=now)


@shared_task(name="scheduling.tasks.send_reminder", ignore_result=True)
def send_reminder(reminder_id: int) -> None:
    """Send one claimed reminder. Retries are the dispatcher's (back-off recorded on the row), not
    Celery's, so a redelivered task is harmless: it finds the row no longer claimed."""
    reminder_send(reminder_id=reminder_id)
