"""Slot holds: a patient's few-minute claim on a room and clinician while filling in the online
booking form, written under the same locks as a booking (scheduling.locking). A live hold is busy
for everyone but its holder, in the re-check of every booking and every other hold
(scheduling.resources)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from scheduling.errors import SchedulingError
from scheduling.locking import booking_transaction, lock_resources
from scheduling.models import BookingRequest, SlotHold
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
    holder's previous hold (`replaces`) is released in the same transaction. Expired holds and
    booking requests are purged here too (holds_purge), as well as by beat's sweep.
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
        holds_purge(now=now)
        return SlotHold.objects.create(
            key=secrets.token_urlsafe(24),
            appointment_type=appointment_type,
            start=start,
            end=end,
            room=room,
            clinician=clinician,
            expires_at=now + dt.timedelta(minutes=minutes),
        )


def slot_hold_extend(*, key: str, until: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Keep the live hold `key` until `until` (never shortened); False when it is no longer live
    (the caller holds the time afresh, re-checked like any hold)."""
    now = now or timezone.now()
    extended = SlotHold.objects.filter(key=key, expires_at__gt=now).update(
        expires_at=Greatest(F("expires_at"), Value(until))
    )
    return extended == 1


def holds_purge(*, now: dt.datetime | None = None) -> None:
    """Delete holds expired for a day, and online booking requests past their time that were
    never confirmed (what the person typed is not kept), with their outbox rows. A confirmed
    request is deleted a day after it expired: its details live in the patient's record."""
    now = now or timezone.now()
    SlotHold.objects.filter(expires_at__lt=now - dt.timedelta(days=1)).delete()
    BookingRequest.objects.filter(expires_at__lt=now, appointment__isnull=True).delete()
    BookingRequest.objects.filter(expires_at__lt=now - dt.timedelta(days=1)).delete()
