# STUB(issue23): helper F1's scheduling/fhir/ids.py replaces this stand-in (same interface:
# fhir_ids, fhir_id, resolve).
"""Stable FHIR ids that are not the database id (stand-in: pk plus a keyed MAC)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from django.conf import settings

_ID = re.compile(r"^([0-9a-z]{1,13})-([0-9a-f]{20})$")


def _mac(resource_type: str, pk: int) -> str:
    key = hashlib.sha256(f"propel.fhir.id:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{resource_type}:{pk}".encode(), hashlib.sha256).hexdigest()[:20]


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def fhir_ids(resource_type: str, pks: Iterable[int]) -> dict[int, str]:
    return {int(pk): fhir_id(resource_type, int(pk)) for pk in pks}


def fhir_id(resource_type: str, pk: int) -> str:
    return f"{_base36(pk)}-{_mac(resource_type, pk)}"


def resolve(resource_type: str, value: str) -> int | None:
    match = _ID.match(value)
    if match is None:
        return None
    pk = int(match.group(1), 36)
    if pk > 2**63 - 1 or not hmac.compare_digest(match.group(2), _mac(resource_type, pk)):
        return None
    return pk
