"""Signed tokens that name one row and the version of its addresses: a patient's links, a
clinician's calendar feed. Bumping the row's version revokes every token handed out so far.

The payload is `{key: pk, "v": version}`, signed with the site's secret and the caller's salt
(and timestamped, as every django.core.signing value). A token that fails any check reads as
None, so the page that asked answers the same 404 whichever check failed.
"""

from __future__ import annotations

import datetime as dt

from django.core import signing


def versioned_token(*, key: str, pk: int, version: int, salt: str, compress: bool = False) -> str:
    return signing.dumps({key: pk, "v": version}, salt=salt, compress=compress)


def versioned_token_read(
    token: str, *, key: str, salt: str, max_age: dt.timedelta | None = None
) -> tuple[int, int] | None:
    """(pk, version) from a valid token (younger than `max_age` when given), else None."""
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # also covers SignatureExpired
        return None
    if not isinstance(payload, dict):
        return None
    pk, version = payload.get(key), payload.get("v")
    if not isinstance(pk, int) or not isinstance(version, int):
        return None
    return pk, version
