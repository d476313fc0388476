"""Phone numbers as Patient.mobile stores them (E.164), read from what someone typed or what the
SMS provider sends. US numbers unless the text says otherwise."""

from __future__ import annotations

import re

import phonenumbers

REGION = "US"
# Fewer digits than this is a date, a year or a name with a digit in it, never a phone.
MIN_DIGITS = 7


def _e164(text: str, *, valid: bool) -> str | None:
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return None
    accept = phonenumbers.is_valid_number if valid else phonenumbers.is_possible_number
    if not accept(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def possible_phone(text: str) -> str | None:
    """The number in E.164 if `text` could be a phone number (for a search box: the right length
    and at least MIN_DIGITS digits, whether or not the number is assigned)."""
    if len(re.sub(r"\D", "", text)) < MIN_DIGITS:
        return None
    return _e164(text, valid=False)


def valid_phone(text: str) -> str | None:
    """The number in E.164 if `text` is a valid, assignable number (for a provider's sender)."""
    return _e164(text, valid=True)
