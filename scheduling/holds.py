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

from scheduling.batch_booking import Batch, SessionRefused, aware_utc, batch_lock, batch_place
from scheduling.locking import booking_transaction
from scheduling.models import BookedVia, BookingRequest, SlotHold
from scheduling.resources import bookable_type


def slot_hold_create(
    *,
    appointment_type_id: int,
    start: dt.datetime,
    minutes: int,
    replaces: str | None = None,
    now: dt.datetime | None = None,
    room_id: int | None = None,
    clinician_id: int | None = None,
    self_booked: bool = True,
) -> SlotHold:
    """Hold the first free room and clinician at `start` for `minutes`, for a patient booking
    online; raise SchedulingError like appointment_book when nothing is free.

    The same guard as a booking (scheduling.batch_booking, a batch of one session without a
    patient): locks the type's rooms, then its clinicians, and re-checks opening hours (no
    staff-only openings), appointments and other live holds. The
    holder's previous hold (`replaces`) is released in the same transaction. Expired holds and
    booking requests are purged here too (holds_purge), as well as by beat's sweep.
    """
    now = now or timezone.now()
    appointment_type = bookable_type(appointment_type_id, self_booked=self_booked)
    batch = Batch(
        patient_id=None,
        appointment_type=appointment_type,
        starts=(aware_utc(start, name="start"),),
        now=now,
        action=None,
        via=BookedVia.ONLINE,
        room_id=room_id,
        clinician_id=clinician_id,
    )
    with booking_transaction():
        try:
            locked = batch_lock(batch)
            if replaces:
                SlotHold.objects.filter(key=replaces).delete()
            placement = batch_place(batch, locked)[0]
        except SessionRefused as refused:
            raise refused.error from refused.error.__cause__
        holds_purge(now=now)
        return SlotHold.objects.create(
            key=secrets.token_urlsafe(24),
            appointment_type=appointment_type,
            start=placement.start,
            end=placement.end,
            room=placement.room,
            clinician=placement.clinician,
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
