"""Telling the on-call clinicians that a patient's screening needs them now.

The email names no health detail, no patient name and never the word "ketamine": it says that a
chart needs a clinician, how soon (the alert's priority), and where the chart is. Everything else
is behind the staff sign-in. Sending is idempotent: an alert is emailed once (`notified_at`).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from intake.models import CrisisAlert
from propel.audit import audit_record
from propel.emails import send_email

logger = logging.getLogger(__name__)

# An alert still un-notified this long after it was raised is picked up by the sweep.
SWEEP_AFTER = dt.timedelta(minutes=2)


def crisis_alert_notify(*, alert_id: int, now: dt.datetime | None = None) -> bool:
    """Email CLINICIAN_ALERT_EMAILS about one alert; True if this call sent it.

    Locks the alert row while sending, so two workers (a retry and the sweep) never both send; an
    alert already notified is left alone (False). A mail error propagates after rolling back, so
    the caller can retry; `notified_at` is only set once the mail server has accepted the message.
    """
    now = now or timezone.now()
    recipients = list(settings.CLINICIAN_ALERT_EMAILS)
    with transaction.atomic():
        alert = CrisisAlert.objects.select_for_update().get(pk=alert_id)
        if alert.notified_at is not None:
            return False
        if not recipients:
            logger.error(
                "crisis alert %s: CLINICIAN_ALERT_EMAILS is empty; nobody was told", alert_id
            )
            return False
        chart_path = reverse("intake:chart", args=[alert.patient_id])
        send_email(
            name="crisis_alert",
            to=recipients,
            context={
                "alert": alert,
                "priority": alert.get_priority_display(),
                "immediate": alert.priority == "immediate",
                "raised_at": timezone.localtime(alert.raised_at),
                "chart_url": f"{settings.SITE_URL}{chart_path}",
                "patient_number": alert.patient_id,
            },
        )
        alert.notified_at = now
        alert.save(update_fields=["notified_at"])
        audit_record(
            action="crisis_alert.notified",
            patient_id=alert.patient_id,
            obj=alert,
            detail={"recipients": len(recipients)},
        )
    return True


def crisis_alert_notify_failed(*, alert_id: int, error: BaseException) -> None:
    """Record, where staff can see it (the audit log, and the chart's "not yet sent"), that the
    alert email could not be sent after every retry."""
    alert = CrisisAlert.objects.filter(pk=alert_id).first()
    logger.error("crisis alert %s could not be emailed: %r", alert_id, error)
    audit_record(
        action="crisis_alert.notify_failed",
        patient_id=alert.patient_id if alert else None,
        obj=alert,
        detail={"error": type(error).__name__},
    )


def crisis_alerts_unsent(*, now: dt.datetime) -> list[int]:
    """Alerts raised more than SWEEP_AFTER ago and still not emailed, oldest first."""
    return list(
        CrisisAlert.objects.filter(notified_at__isnull=True, raised_at__lte=now - SWEEP_AFTER)
        .order_by("raised_at")
        .values_list("pk", flat=True)
    )
