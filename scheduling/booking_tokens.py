"""The signed token in an online booking request's confirmation link (/book/confirm/<token>/).

Part of scheduling's core: the reminders wing signs it into the email at send time, the online
wing reads it when the link is opened. Only the request's id travels, signed with its own salt;
nothing secret is stored in the database.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing

BOOKING_CONFIRM_SALT = "propel.booking-confirm.v1"


def booking_confirm_token(booking_request_id: int) -> str:
    return signing.dumps(booking_request_id, salt=BOOKING_CONFIRM_SALT)


def booking_request_id_from_token(token: str) -> int | None:
    """The request id a valid, unexpired token names; None otherwise."""
    max_age = dt.timedelta(minutes=settings.BOOKING_CONFIRM_MINUTES)
    try:
        # django-stubs says int or timedelta; Django accepts a timedelta.
        value = signing.loads(token, salt=BOOKING_CONFIRM_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
