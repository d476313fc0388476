"""Blocked time for tests (scheduling.time_off)."""

from __future__ import annotations

import datetime as dt

from scheduling.models import BlockedReason, BlockedTime


def block(
    start: dt.datetime,
    end: dt.datetime,
    *,
    clinician=None,
    room=None,
    reason: str = BlockedReason.VACATION,
    note: str = "",
) -> BlockedTime:
    return BlockedTime.objects.create(
        clinician=clinician, room=room, start=start, end=end, reason=reason, note=note
    )
