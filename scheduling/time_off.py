"""Staff time off and blocked time (issue 20, item 3): a clinician off (vacation, training, sick)
or a room out of use (maintenance) from one instant to another.

Availability treats blocked time as busy: the slot pickers (scheduling.slots.load_busy) never
offer a blocked clinician or room, and a booking, a move or a course refuses one it names, with
the blocked span (scheduling.booking_facts, scheduling.blocked). The slot page's cache moves on
when blocked time changes (the availability-version triggers, migration 0014).

Blocking time over booked visits never cancels them: `time_off_hits` lists them first, and
`time_off_save` saves only when the list the person confirmed is still the list; the desk then
moves them through the usual doors. Front desk and admin manage blocked time; clinicians see it
(`can_manage_time_off`). `time_off_blocks` gives the calendar the spans of a window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from propel.roles import Role, roles_of
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, BlockedReason, BlockedTime, Clinician, Room

MANAGERS = frozenset({Role.FRONT_DESK, Role.ADMIN})


def can_manage_time_off(user: Any) -> bool:
    """Front desk and admin add and remove blocked time; clinicians only see it."""
    return bool(roles_of(user) & MANAGERS)


@dataclass(frozen=True)
class TimeOffSpan:
    """One blocked span for the calendar: exactly one of `room_id` and `clinician_id` is set."""

    start: dt.datetime
    end: dt.datetime
    label: str
    room_id: int | None
    clinician_id: int | None


def _label(block: BlockedTime) -> str:
    reason = str(BlockedReason(block.reason).label)
    return f"{reason}: {block.note}" if block.note else reason


def time_off_blocks(start: dt.datetime, end: dt.datetime) -> list[TimeOffSpan]:
    """Every blocked span overlapping [start, end), in start order: one query."""
    rows = BlockedTime.objects.overlapping(start, end).order_by("start", "pk")
    return [
        TimeOffSpan(block.start, block.end, _label(block), block.room_id, block.clinician_id)
        for block in rows
    ]


def upcoming_time_off(now: dt.datetime) -> list[BlockedTime]:
    """Blocked time not yet over at `now`, soonest first, with its clinician or room: one query."""
    return list(
        BlockedTime.objects.filter(end__gt=now)
        .select_related("clinician", "room", "created_by")
        .order_by("start", "pk")
    )


def time_off_hits(
    *, clinician_id: int | None, room_id: int | None, start: dt.datetime, end: dt.datetime
) -> list[Appointment]:
    """The active visits the blocked time would hit, in time order, each with its patient, type,
    room and clinician: one query."""
    rows = Appointment.objects.active().overlapping(start, end)
    if clinician_id is not None:
        rows = rows.filter(clinician_id=clinician_id)
    elif room_id is not None:
        rows = rows.filter(room_id=room_id)
    else:
        return []
    return list(
        rows.select_related("patient", "appointment_type", "room", "clinician").order_by(
            "start", "pk"
        )
    )


def _check(
    clinician_id: int | None, room_id: int | None, start: dt.datetime, end: dt.datetime
) -> None:
    if (clinician_id is None) == (room_id is None):
        raise SchedulingError("time_off_resource")
    if not start < end:
        raise SchedulingError("time_off_dates")


@transaction.atomic
def time_off_save(
    *,
    clinician_id: int | None,
    room_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
    note: str,
    actor: Any,
    confirmed_ids: Collection[int],
) -> BlockedTime:
    """Block the clinician's or the room's time from `start` to `end`. `confirmed_ids`: the
    visits the person was shown (time_off_hits); when the visits it hits now differ (one was
    booked or moved meanwhile), SchedulingError("time_off_visits_changed") and nothing is
    saved. The resource's row is locked first, as a booking locks it (scheduling.locking), so
    no booking slips in between the check and the save."""
    _check(clinician_id, room_id, start, end)
    if clinician_id is not None:
        Clinician.objects.select_for_update().filter(pk=clinician_id).first()
    elif room_id is not None:
        Room.objects.select_for_update().filter(pk=room_id).first()
    hits = time_off_hits(clinician_id=clinician_id, room_id=room_id, start=start, end=end)
    if {hit.pk for hit in hits} != set(confirmed_ids):
        raise SchedulingError("time_off_visits_changed")
    return BlockedTime.objects.create(
        clinician_id=clinician_id,
        room_id=room_id,
        start=start,
        end=end,
        reason=reason,
        note=note,
        created_by=actor,
    )


def time_off_delete(block_id: int) -> None:
    """Remove blocked time (its clinician or room is free again at once)."""
    deleted, _ = BlockedTime.objects.filter(pk=block_id).delete()
    if not deleted:
        raise SchedulingError("time_off_not_found")
