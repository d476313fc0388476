"""Celery tasks of the scheduling app (thin: ids in, one plain function called) and the plain
functions that build and send the patient emails about online bookings.

Every email carries the minimum (first name, date, time, place, a link) and names no treatment;
the calendar file attached to booking emails comes from scheduling.ics. A task may run twice (acks
late, a worker lost mid-send): the patient then gets the same email twice, which is harmless.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone

from intake.links import patient_link_token
from intake.models import Patient
from propel.emails import send_email
from scheduling.ics import appointments_ics
from scheduling.models import Appointment
from scheduling.online import questionnaire_status, zone_label
from scheduling.slots import clinic_tz

# SMTP hiccups and dropped connections are worth retrying; template or data errors are not.
RETRY: dict[str, Any] = {
    "autoretry_for": (OSError, smtplib.SMTPException),
    "retry_backoff": 60,
    "retry_backoff_max": 900,
    "retry_jitter": True,
    "max_retries": 6,
    "ignore_result": True,
}

# The booking confirmation is a reminder row (scheduling.reminders), sent by the dispatch sweep.
BOOKING_EMAILS = ("rescheduled", "cancelled")


def when(start: dt.datetime) -> dict[str, str]:
    """How a start reads in a patient message, in clinic time."""
    local = start.astimezone(clinic_tz())
    return {
        "day": formats.date_format(local, "l, F j"),
        "date": formats.date_format(local, "l, F j, Y"),
        "time": formats.time_format(local, "g:i A"),
        "zone": zone_label(),
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


def booking_email_send(
    *,
    appointment_id: int,
    kind: str,
    previous_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Email the patient about their appointment: `kind` is "rescheduled" (with the
    cancelled `previous_id`, both entries in the calendar file) or "cancelled"."""
    if kind not in BOOKING_EMAILS:
        raise ValueError(f"unknown booking email {kind!r}")
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("patient", "appointment_type").get(
        pk=appointment_id
    )
    patient = appointment.patient
    entries = [appointment]
    context: dict[str, Any] = {
        "first_name": patient.first_name,
        **when(appointment.start),
        **_clinic(),
        **patient_links(patient),
    }
    if kind == "cancelled":
        context.pop("questionnaire_url", None)
    if previous_id is not None:
        previous = Appointment.objects.select_related("appointment_type").get(
            pk=previous_id, patient_id=patient.pk
        )
        entries.insert(0, previous)
        context["previous"] = when(previous.start)
    send_email(
        name=f"booking_{kind}",
        to=[patient.email],
        context=context,
        attachments=[("appointment.ics", appointments_ics(entries, now=now), "text/calendar")],
    )


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


@shared_task(name="scheduling.tasks.send_booking_rescheduled", **RETRY)
def send_booking_rescheduled(appointment_id: int, previous_id: int) -> None:
    booking_email_send(appointment_id=appointment_id, kind="rescheduled", previous_id=previous_id)


@shared_task(name="scheduling.tasks.send_booking_cancelled", **RETRY)
def send_booking_cancelled(appointment_id: int) -> None:
    booking_email_send(appointment_id=appointment_id, kind="cancelled")


@shared_task(name="scheduling.tasks.send_patient_link", **RETRY)
def send_patient_link(patient_id: int) -> None:
    patient_link_send(patient_id=patient_id)


@shared_task(name="scheduling.tasks.dispatch_reminders", ignore_result=True)
def dispatch_reminders() -> None:
    """Beat, every minute: put rows of dead sends back, then claim due reminders and queue their
    sends (scheduling.dispatch)."""
    from scheduling.dispatch import dispatch_due, recover_stuck

    now = timezone.now()
    recover_stuck(now=now)
    dispatch_due(now=now)


@shared_task(name="scheduling.tasks.send_reminder", ignore_result=True)
def send_reminder(reminder_id: int) -> None:
    """Send one claimed reminder. Retries are the dispatcher's (back-off recorded on the row), not
    Celery's, so a redelivered task is harmless: it finds the row no longer claimed."""
    from scheduling.dispatch import reminder_send

    reminder_send(reminder_id=reminder_id)
