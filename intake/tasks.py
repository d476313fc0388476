"""Celery tasks of the intake app: thin wrappers over intake.alerts, intake.crisis and
intake.information_request, taking ids only. Tasks import services; services queue tasks by name
(propel.tasks_queue.enqueue_on_commit) and never import this module."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.utils import timezone

from intake.alerts import (
    crisis_alert_notify,
    crisis_alert_notify_failed,
    crisis_alerts_unsent,
)
from intake.crisis import crisis_alerts_escalate, crisis_notifications_send
from intake.information_request import information_request_failed, information_request_send

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
    try:
        crisis_alert_notify(alert_id=alert_id)
    except TRANSIENT_MAIL_ERRORS as error:
        if self.request.retries >= self.max_retries:
            crisis_alert_notify_failed(alert_id=alert_id, error=error)
            raise
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error


@shared_task(name="intake.tasks.crisis_alerts_sweep", ignore_result=True)
def crisis_alerts_sweep() -> None:
    """Meant for beat, every minute: send any alert whose email was never queued or never got
    through (a broker outage at submission, retries exhausted); plan the escalation steps that
    are due (intake.crisis); send the on-call texts and escalation messages that are due
    (including the calls queued overnight for the clinic's opening)."""
    now = timezone.now()
    for alert_id in crisis_alerts_unsent(now=now):
        try:
            crisis_alert_notify(alert_id=alert_id)
        except TRANSIENT_MAIL_ERRORS:
            logger.exception("crisis alert %s: email failed again; will retry", alert_id)
    crisis_alerts_escalate(now=now)
    crisis_notifications_send(now=now)


@shared_task(name="intake.tasks.send_crisis_notifications", ignore_result=True)
def send_crisis_notifications() -> None:
    """Send the crisis texts and emails that are due now (queued after the commit that wrote
    them; the sweep sends whatever this misses)."""
    crisis_notifications_send()


@shared_task(
    name="intake.tasks.send_information_request",
    bind=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def send_information_request(self, decision_id: int) -> None:
    """Email the patient that the care team needs more information (intake.decisions); retried
    with back-off on mail errors, recorded in the audit log when retries run out."""
    try:
        information_request_send(decision_id=decision_id)
    except TRANSIENT_MAIL_ERRORS as error:
        if self.request.retries >= self.max_retries:
            information_request_failed(decision_id=decision_id, error=error)
            raise
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error
