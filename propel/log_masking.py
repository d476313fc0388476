"""The second line of defence for addresses that are their own secret: every log line has its
token-shaped text masked before a handler writes it.

The first line is design: a patient's link swaps its token for a session at once
(intake.link_pages) and token pages keep their path out of Django's log
(propel.secret_addresses). What is still written, a request line in gunicorn's access log, a
"Not Found" for an address no view matched, is masked here:

- a path segment of 20 or more characters of [A-Za-z0-9_.:-] (our signed values are
  django.core.signing output, base64 parts joined by ':'; hold keys, receipts, feed tokens),
  except all-lowercase names with a dot and no ':' (static files such as
  "bootstrap.bundle.min.js", which no token looks like: tokens carry no dot, or carry ':');
- the value of a query parameter named token, key, receipt or hold;
- a django.core.signing value anywhere (parts joined by ':', the last a 40+ character signature).

TokenMaskFilter is installed on every handler in settings.LOGGING and on gunicorn's handlers
(gunicorn.conf.py); a handler's filter sees records propagated from every logger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

MASK = "[masked]"

SIGNED = re.compile(r"[A-Za-z0-9_\-.]+(?::[A-Za-z0-9_\-]+)*:[A-Za-z0-9_\-]{40,}")
SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_.:\-]{20,}(?=[/?#\s\"'<>]|$)")
QUERY_VALUE = re.compile(r"(?i)((?:^|[?&;\s])(?:token|key|receipt|hold)=)[^&#\s\"'<>]+")


def _segment(match: re.Match[str]) -> str:
    segment = match.group(0)
    if "." in segment and ":" not in segment and segment == segment.lower():
        return segment  # a file name, not a token
    return MASK


def mask_tokens(text: str) -> str:
    """`text` with every token-shaped path segment and token query value replaced by MASK."""
    text = SIGNED.sub(MASK, text)
    return QUERY_VALUE.sub(rf"\g<1>{MASK}", SEGMENT.sub(_segment, text))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_tokens(value)
    if value is None or isinstance(value, (int, float)):
        return value
    # Any other object is formatted with %s: mask what it would print, if anything is masked.
    text = str(value)
    masked = mask_tokens(text)
    return masked if masked != text else value


class TokenMaskFilter(logging.Filter):
    """Masks token-shaped text in a record's message and arguments (a tuple, or one mapping as
    gunicorn's access logger passes: masked in place, so its type and defaults stay). Never
    drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_tokens(record.msg)
        args = record.args
        if isinstance(args, MutableMapping):
            for name, value in list(args.items()):
                args[name] = _masked(value)
        elif isinstance(args, tuple):
            record.args = tuple(_masked(value) for value in args)
        return True
