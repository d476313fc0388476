"""Slot holds: a patient's few-minute claim on a room and clinician while filling in the online
booking form, written under the same locks as a booking (scheduling.locking). A live hold is busy
for everyone but its holder, in the re-check of every booking and every other hold
(scheduling.resources)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone

from scheduling.errors import SchedulingError
from scheduling.locking import booking_transaction, lock_resources
from scheduling.models import SlotHold
from scheduling.resources import bookable_type, candidates, check_open, choose_resources


def slot_hold_create(
    *,
    appointment_type_id: int,
    start: dt.datetime,
    minutes: int,
    replaces: str | None = None,
    now: dt.datetime | None = None,
) -> SlotHold:
    """Hold the first free room and clinician at `start` for `minutes`, for a patient booking
    online; raise SchedulingError like appointment_book when nothing is free.

    The same guard as a booking: locks the type's rooms, then its clinicians (no patient yet), and
    re-checks opening hours (no staff-only openings), appointments and other live holds. The
    holder's previous hold (`replaces`) is released in the same transaction. Holds expired for a
    day are swept here, so the table stays small without a periodic task.
    """
    now = now or timezone.now()
    appointment_type = bookable_type(appointment_type_id, self_booked=True)
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    start = start.astimezone(dt.UTC)
    if start <= now:
        raise SchedulingError("in_past")
    end = start + appointment_type.duration
    room_ids, clinician_ids = candidates(appointment_type, room_id=None, clinician_id=None)
    with booking_transaction():
        rooms, clinicians, _ = lock_resources(
            room_ids=room_ids, clinician_ids=clinician_ids, patient_id=None
        )
        if replaces:
            SlotHold.objects.filter(key=replaces).delete()
        check_open(start, end, include_extra=False)
        room, clinician = choose_resources(
            start=start,
            end=end,
            appointment_type=appointment_type,
            rooms=rooms,
            clinicians=clinicians,
            patient_id=None,
            explicit_room=False,
            explicit_clinician=False,
            now=now,
        )
        SlotHold.objects.filter(expires_at__lt=now - dt.timedelta(days=1)).delete()
        return SlotHold.objects.create(
            key=secrets.token_urlsafe(24),
            appointment_type=appointment_type,
            start=start,
            end=end,
            room=room,
            clinician=clinician,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
