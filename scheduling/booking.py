"""Booking and moving appointments: the only code that writes them.

Guard order, for every booking: inside one transaction, take row locks on the resources the
appointment needs (rooms, then clinicians, then the patient, each by ascending id, so two bookings
can never wait on each other in a cycle) with a short lock timeout (scheduling.locking); re-check
opening hours, working hours and overlaps against the database as it is now; write. A booking is
a batch of one session (scheduling.batch_booking, which a course's sessions share): the checks
read what they need once, in a fixed number of queries, and the writes are one INSERT per table.
The PostgreSQL exclusion constraints are the last line: if anything slipped past, the insert
fails and becomes the same domain error.

Slot holds (a patient's few-minute claim while filling in the booking form) are written under the
same locks (scheduling.holds): a live hold is busy for everyone but its holder, in the re-check of
every booking and every other hold.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from scheduling.audit import audit_patient_event
from scheduling.batch_booking import (
    Batch,
    Locked,
    SessionRefused,
    aware_utc,
    batch_book,
    batch_lock,
    batch_place,
)
from scheduling.errors import SchedulingError
from scheduling.holds import slot_hold_create, slot_hold_extend
from scheduling.lifecycle import Action
from scheduling.locking import booking_transaction, set_lock_timeout
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BookedVia,
    Clinician,
    ReminderKind,
    Room,
    status_word,
)
from scheduling.notices import DEFAULT, ChangeNotice, change_notice_plan
from scheduling.queries import appointment_with_type
from scheduling.rechecks import check_infusion_spacing, check_lifecycle
from scheduling.reminder_plan import reminders_replan
from scheduling.resources import bookable_type, error_from_constraint
from scheduling.waitlist.hooks import slot_freed_on_commit

# Imported from here by the online, visit and course services and the tests: the lock helper,
# holds and re-checks moved to their own modules (locking, holds, rechecks) and kept this address.
__all__ = [
    "appointment_book",
    "appointment_book_in_transaction",
    "appointment_move",
    "aware_utc",
    "booking_transaction",
    "check_infusion_spacing",
    "check_lifecycle",
    "set_lock_timeout",
    "slot_hold_create",
    "slot_hold_extend",
]


def appointment_book(
    *,
    patient_id: int,
    appointment_type_id: int,
    start: dt.datetime,
    room_id: int | None = None,
    clinician_id: int | None = None,
    via: str = BookedVia.STAFF,
    actor: Any = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
    hold_key: str | None = None,
    idempotency_key: str | None = None,
    max_online_upcoming: int | None = None,
    confirm: bool = True,
    confirm_batch: uuid.UUID | None = None,
    course_id: int | None = None,
) -> Appointment:
    """Book one appointment, or raise SchedulingError saying why not.

    Without `room_id`/`clinician_id` the first free room of the type's kind and the first free
    working clinician are chosen. Staff bookings may use extra openings (open Saturdays); online
    bookings may not, and only self-bookable types. Locks the candidate rooms, clinicians and the
    patient row (in that order) for the length of the transaction; a lock wait longer than
    BOOKING_LOCK_TIMEOUT_MS raises SchedulingError("busy").

    Live slot holds are busy, except the one `hold_key` names: when that hold is live and is for
    this type and start, its room and clinician are booked, and the hold is released on success.
    With `idempotency_key`, booking again with the same key returns the appointment it made
    (checked before and under the locks, and after a unique-constraint race); the same key for
    another patient raises SchedulingError("key_reused"). `max_online_upcoming` caps, under the
    patient's lock, how many future appointments of this type booked online the patient may have.
    `course_id` links the appointment to an InfusionCourse (scheduling.courses.services).
    `confirm=False` plans the reminders without a booking confirmation (a patient's online move,
    announced by its own notice); `confirm_batch` puts the confirmation in that batch (one
    message for every appointment of one action: a course's sessions, scheduling.reminder_plan).

    A batch of one session (scheduling.batch_booking): 12 queries for a consultation booked by
    the front desk (tests/scheduling/test_booking_queries.py counts them).
    """
    now = now or timezone.now()
    key = idempotency_key or None
    if key and (existing := _replay(key, patient_id)):
        return existing
    try:
        # The type is read first in the transaction, setting its lock timeout, and before any
        # lock: the clearance policy is read again under the locks (scheduling.rechecks).
        with booking_transaction(set_timeout=False):
            appointment_type = bookable_type(
                appointment_type_id, self_booked=via == BookedVia.ONLINE, sets_lock_timeout=True
            )
            batch = Batch(
                patient_id=patient_id,
                appointment_type=appointment_type,
                starts=(aware_utc(start, name="start"),),
                now=now,
                via=via,
                as_patient=via == BookedVia.ONLINE,
                actor=actor,
                request=request,
                room_id=room_id,
                clinician_id=clinician_id,
                hold_key=hold_key,
                idempotency_key=key,
                max_online_upcoming=max_online_upcoming,
                confirm=confirm,
                confirm_batch=confirm_batch,
                course_id=course_id,
            )
            return _book_one(batch, replay=(lambda _: _replay(key, patient_id)) if key else None)
    except IntegrityError:
        # The key's unique constraint: the same booking won a race past both checks.
        if key and (existing := _replay(key, patient_id)):
            return existing
        raise


def appointment_book_in_transaction(batch: Batch) -> Appointment:
    """appointment_book for a caller that holds its own booking transaction
    (scheduling.locking.booking_transaction) and has made appointment_book's own checks: the type
    loaded (active; self-bookable when the patient books) and the idempotency key looked up
    under a lock of its own (scheduling.online.guards.serialise_on). `batch` has the one session
    (scheduling.batch_booking.Batch). The same locks, re-checks and writes, in the caller's
    transaction with no savepoint: after a SchedulingError the caller's transaction must roll
    back. The key is looked up again with the patient's lock (a booking with it that committed
    meanwhile is returned; SchedulingError("key_reused") when it was for another patient)."""
    return _book_one(batch, replay=_keyed)


def _book_one(
    batch: Batch, *, replay: Callable[[Locked], Appointment | None] | None
) -> Appointment:
    """Lock, then return what `replay` finds under the locks (a booking already made with the
    same idempotency key), else book the batch's one session; a refusal is raised as the
    SchedulingError itself. Call inside a booking transaction."""
    try:
        locked = batch_lock(batch)
        if replay is not None and (existing := replay(locked)) is not None:
            return existing
        return batch_book(batch, locked)[0]
    except SessionRefused as refused:
        raise refused.error from refused.error.__cause__


def _keyed(locked: Locked) -> Appointment | None:
    """The booking made with the batch's key, read with the patient's lock (batch_lock)."""
    if locked.keyed is None or locked.patient is None:
        return None
    appointment_id, patient_id = locked.keyed
    if patient_id != locked.patient.pk:
        raise SchedulingError("key_reused")
    return Appointment.objects.get(pk=appointment_id)


def _replay(idempotency_key: str, patient_id: int) -> Appointment | None:
    existing = Appointment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.patient_id != patient_id:
        raise SchedulingError("key_reused")
    return existing


def appointment_move(
    *,
    appointment_id: int,
    new_start: dt.datetime,
    actor: Any = None,
    as_patient: bool = False,
    room_id: int | None = None,
    clinician_id: int | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
    notice: ChangeNotice = DEFAULT,
) -> Appointment:
    """Move a booked appointment to `new_start` (same type and length), or raise SchedulingError.

    The same guard as a booking: locks the candidate rooms, clinicians and the patient (in that
    order), then the appointment row, and re-checks opening hours (extra openings allowed: staff
    move appointments), working hours and overlaps, not counting the appointment itself. Keeps
    its room and clinician when they are free, else takes another of the same kind, unless
    `room_id`/`clinician_id` name the ones to use. The lifecycle table decides who may move it
    (the patient through their link: `as_patient`) and needs a clearance valid on the new date
    when the type's policy, re-read under the locks, does. The update is conditional on the
    status and `sequence` read under the lock (SchedulingError("stale") otherwise) and bumps
    `sequence`; an "appointment.moved" audit event records both times. The status is unchanged,
    so no status history is written. Unless the patient moved it (`as_patient`), the patient's
    notice of the move (with the old start and `notice`'s reason and batch) is planned in the
    same transaction (scheduling.notices).

    A move to where the appointment already is (same start, and the named room and clinician
    are the ones it has: a form sent twice) changes nothing and returns it: no second notice.
    """
    now = now or timezone.now()
    new_start = aware_utc(new_start, name="new_start")
    appointment = _movable(appointment_id, new_start=new_start, now=now)
    if _already_there(appointment, new_start, room_id=room_id, clinician_id=clinician_id):
        return appointment
    batch = Batch(
        patient_id=appointment.patient_id,
        appointment_type=appointment.appointment_type,
        starts=(new_start,),
        now=now,
        action=Action.MOVE,
        as_patient=as_patient,
        actor=actor,
        request=request,
        room_id=room_id,
        clinician_id=clinician_id,
        exclude_id=appointment.pk,
    )
    with booking_transaction():
        current, locked = _lock_for_move(batch, appointment)
        try:
            placement = batch_place(batch, locked)[0]
        except SessionRefused as refused:
            raise refused.error from refused.error.__cause__
        room, clinician = placement.room, placement.clinician
        _claim_move(
            current, start=new_start, end=placement.end, room=room, clinician=clinician, now=now
        )
        reminders_replan(appointment_id=appointment_id, now=now)
        change_notice_plan(
            appointment_id=appointment_id,
            kind=ReminderKind.RESCHEDULED_NOTICE,
            notice=notice,
            as_patient=as_patient,
            now=now,
            previous_start=current.start,
        )
        _audit_move(current, new_start, room, clinician, actor=actor, request=request)
        slot_freed_on_commit(current)
    current.refresh_from_db()
    return current


def _lock_for_move(batch: Batch, appointment: Appointment) -> tuple[Appointment, Locked]:
    """The batch's locks (the appointment's own clinician among the candidates unless another is
    named), then the appointment row, unchanged since it was read; the rooms and clinicians the
    appointment already has are preferred."""
    try:
        locked = batch_lock(
            batch, also_clinician_id=None if batch.clinician_id else appointment.clinician_id
        )
    except SessionRefused as refused:
        raise refused.error from refused.error.__cause__
    current = _locked_unchanged(appointment)
    locked.rooms.sort(key=lambda room: room.pk != current.room_id)
    locked.clinicians.sort(key=lambda clinician: clinician.pk != current.clinician_id)
    return current, locked


def _movable(appointment_id: int, *, new_start: dt.datetime, now: dt.datetime) -> Appointment:
    """The appointment (its type loaded) when it is booked and both times are still ahead."""
    appointment = appointment_with_type(appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        raise SchedulingError("not_movable", status=status_word(appointment.status))
    if new_start <= now or appointment.start <= now:
        raise SchedulingError("in_past")
    return appointment


def _already_there(
    appointment: Appointment,
    new_start: dt.datetime,
    *,
    room_id: int | None,
    clinician_id: int | None,
) -> bool:
    return (
        appointment.start == new_start
        and room_id in (None, appointment.room_id)
        and clinician_id in (None, appointment.clinician_id)
    )


def _locked_unchanged(appointment: Appointment) -> Appointment:
    """The appointment row locked, or SchedulingError("stale") when it changed since it was read."""
    current = Appointment.objects.select_for_update().filter(pk=appointment.pk).first()
    if (
        current is None
        or current.status != AppointmentStatus.BOOKED
        or current.sequence != appointment.sequence
        or current.start != appointment.start
    ):
        raise SchedulingError("stale")
    return current


def _claim_move(
    current: Appointment,
    *,
    start: dt.datetime,
    end: dt.datetime,
    room: Room,
    clinician: Clinician | None,
    now: dt.datetime,
) -> None:
    """The conditional update (status and sequence as read under the lock), bumping `sequence`;
    SchedulingError("stale") when it claims nothing, the constraint's error when it overlaps."""
    try:
        with transaction.atomic():
            claimed = Appointment.objects.filter(
                pk=current.pk,
                status=AppointmentStatus.BOOKED,
                sequence=current.sequence,
            ).update(
                start=start,
                end=end,
                room=room,
                clinician=clinician,
                sequence=F("sequence") + 1,
                updated_at=now,
            )
    except IntegrityError as error:
        raise error_from_constraint(error, room, clinician) from error
    if claimed != 1:
        raise SchedulingError("stale")


def _audit_move(
    current: Appointment,
    new_start: dt.datetime,
    room: Room,
    clinician: Clinician | None,
    *,
    actor: Any,
    request: HttpRequest | None,
) -> None:
    audit_patient_event(
        current,
        "appointment.moved",
        actor=actor,
        request=request,
        detail={
            "from": current.start.isoformat(),
            "to": new_start.astimezone(dt.UTC).isoformat(),
            "room": room.pk,
            "clinician": clinician.pk if clinician else None,
        },
    )
