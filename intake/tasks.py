"""Celery tasks of the intake app: thin wrappers over intake.alerts, intake.crisis and
intake.information_request, taking ids only. Tasks import services; services queue tasks by name
(propel.tasks_queue.enqueue_on_commit) and never import this module."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.utils import timezone

from intake.alerts import (
    crisis_alert_notify,
    crisis_alert_notify_failed,
    crisis_alerts_unsent,
)
from intake.crisis import crisis_alerts_escalate, crisis_notifications_send
from intake.information_request import information_request_plan

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


def _mail_task(name: str) -> Any:
    """A Celery task that sends one email: bound (it retries itself), MAX_RETRIES retries."""
    return shared_task(name=name, bind=True, ignore_result=True, max_retries=MAX_RETRIES)


def _send_or_retry(
    task: Any, send: Callable[..., object], failed: Callable[..., object], **ids: int
) -> None:
    """`send(**ids)`; a transient mail error is retried with back-off, and once the retries have
    run out it is recorded with `failed(**ids, error=...)` and raised. Other errors are raised at
    once."""
    try:
        send(**ids)
    except TRANSIENT_MAIL_ERRORS as error:
        if task.request.retries >= task.max_retries:
            failed(**ids, error=error)
            raise
        raise task.retry(exc=error, countdown=backoff(task.request.retries)) from error


@_mail_task("intake.tasks.send_crisis_alert")
def send_crisis_alert(self, alert_id: int) -> None:
    """Email the on-call list about one crisis alert; retried with back-off on mail errors."""
    _send_or_retry(self, crisis_alert_notify, crisis_alert_notify_failed, alert_id=alert_id)


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


# Kept for one release: a request queued under this name before information requests became
# outbox rows is written to the outbox (scheduling sends it), not dropped as an unregistered task.
@shared_task(name="intake.tasks.send_information_request", ignore_result=True)
def send_information_request(decision_id: int) -> None:
    information_request_plan(decision_id=decision_id)


@shared_task(name="intake.tasks.send_referral_confirmation", ignore_result=True)
def send_referral_confirmation(referral_id: int) -> None:
    """Queued after a referral's commit: its confirmation to the referring office (once; a mail
    error is retried by the sweep, intake.referrals)."""
    from intake.referrals import referral_confirmation_send

    referral_confirmation_send(referral_id=referral_id)


@shared_task(name="intake.tasks.referral_confirmations_sweep", ignore_result=True)
def referral_confirmations_sweep() -> None:
    """Beat, every minute: the referral confirmations whose task never ran or whose retry is due."""
    from intake.referrals import referral_confirmations_send

    referral_confirmations_send()
