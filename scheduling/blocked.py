"""Blocked time as a booking sees it (pure): the rows scheduling.booking_facts loads, the
refusal that names the blocked clinician or room and the blocked span, and the rows as busy
intervals for choosing a free room and clinician (scheduling.resources)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from propel import formatting
from scheduling.errors import SchedulingError
from scheduling.models import BlockedReason, Clinician, Room
from scheduling.resources import Taken


@dataclass(frozen=True)
class Blocked:
    """One clinician's time off or one room's blocked time (exactly one of the ids is set)."""

    room_id: int | None
    clinician_id: int | None
    reason: str
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        return str(BlockedReason(self.reason).label) if self.reason in BlockedReason else ""


def span_text(start: dt.datetime, end: dt.datetime) -> str:
    """ "Tue, Dec 8, 2026, 9:00 a.m. to Wed, Dec 9, 2026, 5:00 p.m." in clinic time."""
    return f"{formatting.local_datetime(start)} to {formatting.local_datetime(end)}"


def _refusal(row: Blocked, name: str) -> SchedulingError:
    code = "room_blocked" if row.room_id is not None else "clinician_blocked"
    return SchedulingError(
        code, name=name, reason=row.label.lower(), span=span_text(row.start, row.end)
    )


def blocked_refusal(
    start: dt.datetime,
    end: dt.datetime,
    blocked: Iterable[Blocked],
    *,
    rooms: Sequence[Room],
    clinicians: Sequence[Clinician],
) -> SchedulingError | None:
    """The refusal for the first of `rooms`, then of `clinicians`, blocked during [start, end),
    or None when none is."""
    hits = [row for row in blocked if row.start < end and start < row.end]
    for room in rooms:
        for row in hits:
            if row.room_id == room.pk:
                return _refusal(row, room.name)
    for clinician in clinicians:
        for row in hits:
            if row.clinician_id == clinician.pk:
                return _refusal(row, clinician.display_name)
    return None


def as_taken(blocked: Iterable[Blocked]) -> list[Taken]:
    """The blocked rows as busy rows for choosing a free room and clinician."""
    return [Taken(row.room_id, row.clinician_id, None, row.start, row.end) for row in blocked]
