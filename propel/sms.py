"""SMS sending behind a small backend interface.

Backends: ConsoleBackend (prints), FileBackend (one JSON line per message, for the demo and tests)
and HttpSmsBackend (a generic JSON-over-HTTPS provider, configured by SMS_HTTP_URL,
SMS_HTTP_TOKEN and SMS_FROM_NUMBER; never called in tests).

Every `send` takes an optional `idempotency_key`: a caller that may retry (the reminder dispatch)
passes the same key each time, and a backend that can deduplicate sends the message at most once
per key. Errors: `SmsTransientError` is worth retrying later (network trouble, provider 5xx, rate
limit); `SmsPermanentError` is not (the provider refused this message).

Length (issue 22). A text in the GSM-7 alphabet costs 160 characters a segment (153 each when it
takes several); ONE character outside it (á, í, ó, ú: Spanish's everyday accents are not in it,
though é, ñ, ü, ¿ and ¡ are) sends the whole text as UCS-2, 70 a segment (67 each of several).
So every SMS we send is folded into GSM-7 first (`gsm7_fold`: á -> a, Ó -> O, curly quotes ->
straight ones; what GSM-7 has is kept), and `sms_segments` counts what a text costs, GSM-7
extension characters (€ [ ] { } ~ ^ | \\) counting twice.
"""

from __future__ import annotations

import fcntl
import json
import sys
import unicodedata
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

HTTP_TIMEOUT_SECONDS = 10

# The GSM 03.38 default alphabet, and its extension table (each sent as ESC + character: two).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_SEGMENT, GSM7_CONCATENATED = 160, 153
UCS2_SEGMENT, UCS2_CONCATENATED = 70, 67
# Characters outside GSM-7 whose closest letter is not simply the unaccented one.
GSM7_SUBSTITUTES = {
    "ç": "Ç",
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "º": "o",
    "ª": "a",
}


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _gsm7_char(char: str) -> str:
    if char in GSM7_BASIC or char in GSM7_EXTENSION:
        return char
    if char in GSM7_SUBSTITUTES:
        return GSM7_SUBSTITUTES[char]
    decomposed = unicodedata.normalize("NFD", char)
    base = "".join(part for part in decomposed if not unicodedata.combining(part))
    if base and is_gsm7(base):
        return base
    return char  # nothing close: the text goes as UCS-2


def gsm7_fold(text: str) -> str:
    """`text` with every character GSM-7 lacks replaced by its closest GSM-7 letter ("á" -> "a",
    "Ú" -> "U"); those it has (é, ñ, ü, ¿, ¡) are kept. A character with no close letter stays."""
    return "".join(_gsm7_char(char) for char in text)


def _pack(units: list[int], first: int, each: int) -> int:
    """How many segments `units` (the cost of each character, never split) take."""
    total = sum(units)
    if total <= first:
        return 1 if units else 0
    segments, used = 1, 0
    for cost in units:
        if used + cost > each:
            segments, used = segments + 1, 0
        used += cost
    return segments


def sms_segments(text: str) -> int:
    """How many segments `text` is sent as: GSM-7 (160, or 153 each when concatenated; an
    extension character costs two and is never split), otherwise UCS-2 (70, or 67 each; a
    character outside the BMP costs two)."""
    if is_gsm7(text):
        return _pack(
            [2 if char in GSM7_EXTENSION else 1 for char in text], GSM7_SEGMENT, GSM7_CONCATENATED
        )
    return _pack([2 if ord(char) > 0xFFFF else 1 for char in text], UCS2_SEGMENT, UCS2_CONCATENATED)


class SmsError(Exception):
    """A message could not be sent."""


class SmsTransientError(SmsError):
    """Sending failed for a reason that may pass (network, provider 5xx, rate limit): retry."""


class SmsPermanentError(SmsError):
    """The provider refused this message (4xx) or the backend is not configured: do not retry."""


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str | None = None) -> str:
        """Send one message and return the provider's message id."""


class ConsoleBackend:
    def send(self, *, to: str, body: str, idempotency_key: str | None = None) -> str:
        message_id = uuid.uuid4().hex
        key = f" [key {idempotency_key}]" if idempotency_key else ""
        sys.stdout.write(f"SMS {message_id} to {to}{key}: {body}\n")
        return message_id


class FileBackend:
    """Appends each message as one JSON line to SMS_FILE_PATH/messages.jsonl.

    With an idempotency key, at most one line is written per key (under an exclusive file lock, so
    two workers cannot both write it) and a repeat returns the first message's id.
    """

    def send(self, *, to: str, body: str, idempotency_key: str | None = None) -> str:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "messages.jsonl").open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                if idempotency_key is not None:
                    handle.seek(0)
                    for raw in handle:
                        try:
                            earlier = json.loads(raw)
                        except ValueError:
                            continue
                        if earlier.get("key") == idempotency_key:
                            return str(earlier["id"])
                message_id = uuid.uuid4().hex
                line = {
                    "id": message_id,
                    "to": to,
                    "body": body,
                    "at": timezone.now().isoformat(),
                    "key": idempotency_key,
                }
                handle.seek(0, 2)
                handle.write(json.dumps(line) + "\n")
                handle.flush()
                return message_id
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class HttpSmsBackend:
    """POST {"to", "from", "body"} as JSON to SMS_HTTP_URL with a bearer token.

    The idempotency key travels in the `Idempotency-Key` header, so a provider that honours it
    sends a retried message once. The answer's `id` (or `sid`, `message_id`) is the message id.
    429 and 408 count as transient (rate limit, timeout); other 4xx are permanent; 5xx and network
    errors are transient.
    """

    def __init__(
        self, *, url: str | None = None, token: str | None = None, from_number: str | None = None
    ) -> None:
        self.url = url if url is not None else settings.SMS_HTTP_URL
        self.token = token if token is not None else settings.SMS_HTTP_TOKEN
        self.from_number = from_number if from_number is not None else settings.SMS_FROM_NUMBER

    def build_request(
        self, *, to: str, body: str, idempotency_key: str | None = None
    ) -> urllib.request.Request:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": idempotency_key or uuid.uuid4().hex,
        }
        payload = json.dumps({"to": to, "from": self.from_number, "body": body}).encode()
        # The scheme is checked in send(): only https reaches urlopen.
        return urllib.request.Request(self.url, data=payload, headers=headers, method="POST")  # noqa: S310

    def send(self, *, to: str, body: str, idempotency_key: str | None = None) -> str:
        if not self.url or not self.token:
            raise SmsPermanentError("SMS_HTTP_URL and SMS_HTTP_TOKEN must be set")
        if not self.url.startswith("https://"):
            raise SmsPermanentError("SMS_HTTP_URL must be an https:// address")
        key = idempotency_key or uuid.uuid4().hex
        request = self.build_request(to=to, body=body, idempotency_key=key)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            status = error.code
            if status >= 500 or status in (408, 429):
                raise SmsTransientError(f"SMS provider answered {status}") from error
            raise SmsPermanentError(f"SMS provider refused the message ({status})") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsTransientError(f"SMS provider unreachable: {error}") from error
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        if isinstance(answer, dict):
            for field in ("id", "sid", "message_id"):
                if answer.get(field):
                    return str(answer[field])
        return key


def get_sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
