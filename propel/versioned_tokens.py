"""Signed tokens that name one row and the version of its addresses: a patient's links, a
clinician's calendar feed. Bumping the row's version revokes every token handed out so far.

The payload is `{key: pk, "v": version}`, signed with the site's secret and the caller's salt
(and timestamped, as every django.core.signing value). versioned_token_read reads a token that
fails any check as None; versioned_token_inspect tells a good signature that is too old apart
from a bad one, for pages that answer the two differently (intake.links).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core import signing


@dataclass(frozen=True)
class TokenRead:
    pk: int
    version: int
    expired: bool  # signature good, but older than the max_age asked for


def versioned_token(*, key: str, pk: int, version: int, salt: str, compress: bool = False) -> str:
    return signing.dumps({key: pk, "v": version}, salt=salt, compress=compress)


def versioned_token_inspect(
    token: str, *, key: str, salt: str, max_age: dt.timedelta | None = None
) -> TokenRead | None:
    """What a token with a good signature and payload names, and whether it is older than
    `max_age`; None when the signature or the payload is bad."""
    expired = False
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        # Raised only once the signature has checked out; read the payload without the age.
        expired = True
        payload = signing.loads(token, salt=salt)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    pk, version = payload.get(key), payload.get("v")
    if not isinstance(pk, int) or not isinstance(version, int):
        return None
    return TokenRead(pk=pk, version=version, expired=expired)


def versioned_token_read(
    token: str, *, key: str, salt: str, max_age: dt.timedelta | None = None
) -> tuple[int, int] | None:
    """(pk, version) from a valid token (younger than `max_age` when given), else None."""
    read = versioned_token_inspect(token, key=key, salt=salt, max_age=max_age)
    if read is None or read.expired:
        return None
    return read.pk, read.version
