"""SMS sending behind a small backend interface (the real HTTP provider arrives with reminders)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> str:
        """Send one message and return the provider's message id."""


class ConsoleBackend:
    def send(self, *, to: str, body: str) -> str:
        message_id = uuid.uuid4().hex
        sys.stdout.write(f"SMS {message_id} to {to}: {body}\n")
        return message_id


class FileBackend:
    """Appends each message as one JSON line to SMS_FILE_PATH/messages.jsonl."""

    def send(self, *, to: str, body: str) -> str:
        message_id = uuid.uuid4().hex
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        line = {"id": message_id, "to": to, "body": body, "at": timezone.now().isoformat()}
        with (folder / "messages.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
        return message_id


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
