"""Celery tasks of the propel app: thin wrappers over plain functions."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from propel.account_lock import account_lock_emails_sweep, account_locked_email_send
from propel.health import heartbeat_record


@shared_task(name="propel.tasks.heartbeat", bind=True, ignore_result=True)
def heartbeat(self: Task[Any, Any]) -> None:
    """Beat sends this every 30 s; the worker that runs it records itself for /healthz."""
    heartbeat_record(worker=self.request.hostname or "unknown", now=timezone.now())


@shared_task(name="propel.tasks.send_account_locked_email", ignore_result=True)
def send_account_locked_email(lock_id: int) -> None:
    """Tell a locked account's owner (propel.account_lock), once per lock."""
    account_locked_email_send(lock_id=lock_id)


@shared_task(name="propel.tasks.account_lock_emails_sweep", ignore_result=True)
def account_lock_emails_sweep_task() -> None:
    """Beat, every 5 minutes: the lock emails a broker outage kept from being queued."""
    account_lock_emails_sweep()
