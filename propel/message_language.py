"""The language a message is written in: the patient's, whatever the staff member's or the
request's (issue 22).

`message_language(code)` turns a stored preference (Patient.preferred_language,
BookingRequest.language) into one of settings.LANGUAGES, English when it is blank or unknown.
`in_language(code)` is the context manager every rendering of a patient message runs in
(translation.override), so gettext, Django's month and day names and `LANGUAGE_CODE` in the
templates (`<html lang>`) all follow the patient. Messages to staff and offices stay English
(`STAFF_LANGUAGE`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import translation

STAFF_LANGUAGE = "en"


def message_language(code: str | None) -> str:
    """`code` when the site offers it (its base language for "es-mx"), else English."""
    offered = {language for language, _name in settings.LANGUAGES}
    if code:
        base = code.lower().split("-")[0]
        if base in offered:
            return base
    return STAFF_LANGUAGE


def active_language() -> str:
    """The language the current request runs in (LocaleMiddleware's choice), as stored."""
    return message_language(translation.get_language())


@contextmanager
def in_language(code: str | None) -> Iterator[str]:
    language = message_language(code)
    with translation.override(language):
        yield language
