"""Celery tasks of the intake app: thin wrappers over intake.alerts and intake.decisions, taking
ids only."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)

# Transient: the mail server refused or could not be reached. Anything else is a bug and is
# raised at once rather than retried.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)
MAX_RETRIES = 8
BACKOFF_SECONDS = 30
BACKOFF_MAX_SECONDS = 600


def backoff(retries: int) -> int:
    """30 s, 60 s, 120 s ... capped at 10 minutes."""
    return min(BACKOFF_SECONDS * 2**retries, BACKOFF_MAX_SECONDS)


@shared_task(
    name="intake.tasks.send_crisis_alert",
    bind=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def send_crisis_alert(self, alert_id: int) -> None:
    """Email the on-call list about one crisis alert; retried with back-off on mail errors."""
    from intake.alerts import crisis_alert_notify, crisis_alert_notify_failed

    try:
        crisis_alert_notify(alert_id=alert_id)
    except TRANSIENT_MAIL_ERRORS as error:
        if self.request.retries >= self.max_retries:
            crisis_alert_notify_failed(alert_id=alert_id, error=error)
            raise
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error


@shared_task(name="intake.tasks.crisis_alerts_sweep", ignore_result=True)
def crisis_alerts_sweep() -> None:
    """Send any alert whose email was never queued or never got through (a broker outage at
    submission, retries exhausted). Meant for beat, every minute."""
    from intake.alerts import crisis_alert_notify, crisis_alerts_unsent

    for alert_id in crisis_alerts_unsent(now=timezone.now()):
        try:
            crisis_alert_notify(alert_id=alert_id)
        except TRANSIENT_MAIL_ERRORS:
            logger.exception("crisis alert %s: email failed again; will retry", alert_id)


@shared_task(
    name="intake.tasks.send_information_request",
    bind=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def send_information_request(self, decision_id: int) -> None:
    """Email the patient that the care team needs more information (intake.decisions); retried
    with back-off on mail errors, recorded in the audit log when retries run out."""
    from intake.decisions import information_request_failed, information_request_send

    try:
        information_request_send(decision_id=decision_id)
    except TRANSIENT_MAIL_ERRORS as error:
        if self.request.retries >= self.max_retries:
            information_request_failed(decision_id=decision_id, error=error)
            raise
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error
