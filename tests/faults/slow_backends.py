"""Test-only email and SMS backends that take their time, so a fault test can kill a Celery worker
while a send is in flight. Configured in the worker's environment (EMAIL_BACKEND, SMS_BACKEND);
FAULTS_SEND_DELAY_SECONDS sets the pause. Each writes a marker file under PROPEL_VAR_DIR/inflight
when it reaches its pause, which is what the test waits for before it kills the worker.

- SlowEmailBackend pauses BEFORE handing the message over (a slow SMTP server): a kill then means
  nothing was delivered.
- SlowSmsBackend pauses AFTER the provider accepted the message (propel.sms.FileBackend wrote it):
  a kill then is the window "accepted, but not recorded", which the idempotency key must cover.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.filebased import EmailBackend

from propel.sms import FileBackend


def _delay() -> float:
    return float(os.environ.get("FAULTS_SEND_DELAY_SECONDS", "1"))


def _mark(name: str) -> None:
    folder = Path(settings.VAR_DIR) / "inflight"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()


class SlowEmailBackend(EmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            message_id = message.extra_headers.get("Message-ID", "none").strip("<>")
            _mark(f"email-sending-{message_id}")
        time.sleep(_delay())
        return super().send_messages(email_messages)


class SlowSmsBackend(FileBackend):
    def send(self, *, to: str, body: str, idempotency_key: str | None = None) -> str:
        message_id = super().send(to=to, body=body, idempotency_key=idempotency_key)
        _mark(f"sms-accepted-{idempotency_key}")
        time.sleep(_delay())
        return message_id
