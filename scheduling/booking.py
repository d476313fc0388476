"""Booking and moving appointments: the only code that writes them.

Guard order, for every booking: inside one transaction, take row locks on the resources the
appointment needs (rooms, then clinicians, then the patient, each by ascending id, so two bookings
can never wait on each other in a cycle) with a short lock timeout (scheduling.locking); re-check
opening hours, working hours and overlaps against the database as it is now
(scheduling.resources); write. The PostgreSQL exclusion constraints are the last line: if anything
slipped past, the insert fails and becomes the same domain error.

Slot holds (a patient's few-minute claim while filling in the booking form) are written under the
same locks (scheduling.holds): a live hold is busy for everyone but its holder, in the re-check of
every booking and every other hold.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from intake.models import Patient
from scheduling.audit import audit_patient_event
from scheduling.errors import SchedulingError
from scheduling.holds import slot_hold_create, slot_hold_extend
from scheduling.lifecycle import Action
from scheduling.locking import booking_transaction, lock_resources, set_lock_timeout
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    BookedVia,
    Clinician,
    ReminderKind,
    Room,
    SlotHold,
    status_word,
)
from scheduling.notices import DEFAULT, ChangeNotice, change_notice_plan
from scheduling.queries import appointment_with_type
from scheduling.rechecks import check_infusion_spacing, check_lifecycle, check_online_cap
from scheduling.reminder_plan import reminders_replan
from scheduling.resources import (
    bookable_type,
    candidates,
    check_open,
    choose_resources,
    error_from_constraint,
)

# Imported from here by the online, visit and course services and the tests: the lock helper,
# holds and re-checks moved to their own modules (locking, holds, rechecks) and kept this address.
__all__ = [
    "appointment_book",
    "appointment_move",
    "booking_transaction",
    "check_infusion_spacing",
    "check_lifecycle",
    "set_lock_timeout",
    "slot_hold_create",
    "slot_hold_extend",
]


def aware_utc(moment: dt.datetime, *, name: str) -> dt.datetime:
    """`moment` in UTC; ValueError for a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    # Elapsed minutes, whatever the clock does: aware arithmetic in a local zone is wall-clock.
    return moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class _Booking:
    """One appointment_book call: its arguments, the type loaded and the start in UTC."""

    patient_id: int
    appointment_type: AppointmentType
    start: dt.datetime
    room_id: int | None
    clinician_id: int | None
    via: str
    actor: Any
    request: HttpRequest | None
    now: dt.datetime
    hold_key: str | None
    idempotency_key: str | None
    max_online_upcoming: int | None
    confirm: bool
    confirm_batch: uuid.UUID | None
    course_id: int | None

    @property
    def end(self) -> dt.datetime:
        return self.start + self.appointment_type.duration


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
    """
    now = now or timezone.now()
    if idempotency_key and (existing := _replay(idempotency_key, patient_id)):
        return existing
    appointment_type = bookable_type(appointment_type_id, self_booked=via == BookedVia.ONLINE)
    booking = _Booking(
        patient_id=patient_id,
        appointment_type=appointment_type,
        start=aware_utc(start, name="start"),
        room_id=room_id,
        clinician_id=clinician_id,
        via=via,
        actor=actor,
        request=request,
        now=now,
        hold_key=hold_key,
        idempotency_key=idempotency_key,
        max_online_upcoming=max_online_upcoming,
        confirm=confirm,
        confirm_batch=confirm_batch,
        course_id=course_id,
    )
    room_ids, clinician_ids = _booking_candidates(booking)
    with booking_transaction():
        return _book_under_locks(booking, room_ids=room_ids, clinician_ids=clinician_ids)


def _booking_candidates(booking: _Booking) -> tuple[list[int], list[int]]:
    """SchedulingError("in_past") for a start already gone; else the held room and clinician when
    `hold_key` names a live hold for this type and start (and no room or clinician is given), or
    the candidates (scheduling.resources)."""
    if booking.start <= booking.now:
        raise SchedulingError("in_past")
    hold = None
    if booking.hold_key and booking.room_id is None and booking.clinician_id is None:
        hold = (
            SlotHold.objects.live(booking.now)
            .filter(
                key=booking.hold_key,
                appointment_type=booking.appointment_type,
                start=booking.start,
            )
            .first()
        )
    if hold is not None:
        return [hold.room_id], [hold.clinician_id] if hold.clinician_id else []
    return candidates(
        booking.appointment_type, room_id=booking.room_id, clinician_id=booking.clinician_id
    )


def _book_under_locks(
    booking: _Booking, *, room_ids: list[int], clinician_ids: list[int]
) -> Appointment:
    """Lock, re-check, write: the body of appointment_book's transaction."""
    try:
        rooms, clinicians, _patient = lock_resources(
            room_ids=room_ids, clinician_ids=clinician_ids, patient_id=booking.patient_id
        )
    except Patient.DoesNotExist:
        raise SchedulingError("patient_not_found") from None
    key = booking.idempotency_key
    if key and (existing := _replay(key, booking.patient_id)):
        return existing
    _check_booking(booking)
    room, clinician = choose_resources(
        start=booking.start,
        end=booking.end,
        appointment_type=booking.appointment_type,
        rooms=rooms,
        clinicians=clinicians,
        patient_id=booking.patient_id,
        explicit_room=booking.room_id is not None,
        explicit_clinician=booking.clinician_id is not None,
        now=booking.now,
        hold_key=booking.hold_key,
    )
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                patient_id=booking.patient_id,
                appointment_type=booking.appointment_type,
                start=booking.start,
                end=booking.end,
                room=room,
                clinician=clinician,
                booked_via=booking.via,
                booked_by=booking.actor,
                idempotency_key=key or None,
                course_id=booking.course_id,
            )
    except IntegrityError as error:
        if key and (existing := _replay(key, booking.patient_id)):
            return existing
        raise error_from_constraint(error, room, clinician) from error
    _record_booking(booking, appointment)
    return appointment


def _check_booking(booking: _Booking) -> None:
    """The re-checks under the locks, before resources are chosen: lifecycle (who, when,
    clearance), the online cap, infusion spacing, opening hours."""
    check_lifecycle(
        Action.BOOK,
        appointment_type=booking.appointment_type,
        patient_id=booking.patient_id,
        start=booking.start,
        actor=booking.actor,
        as_patient=booking.via == BookedVia.ONLINE,
        now=booking.now,
    )
    if booking.max_online_upcoming is not None:
        check_online_cap(
            booking.patient_id, booking.appointment_type, booking.max_online_upcoming, booking.now
        )
    check_infusion_spacing(
        booking.appointment_type, patient_id=booking.patient_id, start=booking.start
    )
    check_open(booking.start, booking.end, include_extra=booking.via == BookedVia.STAFF)


def _record_booking(booking: _Booking, appointment: Appointment) -> None:
    """History, reminders and audit for a new appointment, in its transaction; the hold used is
    released."""
    AppointmentStatusChange.objects.create(
        appointment=appointment, to_status=appointment.status, at=booking.now, by=booking.actor
    )
    # Reminder rows in the booking's own transaction: no broker needed
    # (scheduling.reminders.dispatch).
    reminders_replan(
        appointment_id=appointment.pk,
        now=booking.now,
        confirmation=booking.confirm,
        batch=booking.confirm_batch,
    )
    audit_patient_event(
        appointment,
        "appointment.booked",
        actor=booking.actor,
        request=booking.request,
        detail={"type": booking.appointment_type.code, "via": booking.via},
    )
    if booking.hold_key:
        SlotHold.objects.filter(key=booking.hold_key).delete()


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
    room_ids, clinician_ids = _move_candidates(
        appointment, room_id=room_id, clinician_id=clinician_id
    )
    with booking_transaction():
        rooms, clinicians, _patient = lock_resources(
            room_ids=room_ids, clinician_ids=clinician_ids, patient_id=appointment.patient_id
        )
        current = _locked_unchanged(appointment)
        check_lifecycle(
            Action.MOVE,
            appointment_type=appointment.appointment_type,
            patient_id=appointment.patient_id,
            start=new_start,
            actor=actor,
            as_patient=as_patient,
            now=now,
        )
        room, clinician = _resources_for_move(
            current,
            appointment.appointment_type,
            new_start=new_start,
            rooms=rooms,
            clinicians=clinicians,
            explicit_room=room_id is not None,
            explicit_clinician=clinician_id is not None,
            now=now,
        )
        end = new_start + appointment.appointment_type.duration
        _claim_move(current, start=new_start, end=end, room=room, clinician=clinician, now=now)
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
    current.refresh_from_db()
    return current


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


def _move_candidates(
    appointment: Appointment, *, room_id: int | None, clinician_id: int | None
) -> tuple[list[int], list[int]]:
    """The candidates (scheduling.resources), the appointment's own clinician among them unless
    another is named."""
    room_ids, clinician_ids = candidates(
        appointment.appointment_type, room_id=room_id, clinician_id=clinician_id
    )
    if appointment.clinician_id and clinician_id is None:
        clinician_ids = sorted({*clinician_ids, appointment.clinician_id})
    return room_ids, clinician_ids


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


def _resources_for_move(
    current: Appointment,
    appointment_type: AppointmentType,
    *,
    new_start: dt.datetime,
    rooms: list[Room],
    clinicians: list[Clinician],
    explicit_room: bool,
    explicit_clinician: bool,
    now: dt.datetime,
) -> tuple[Room, Clinician | None]:
    """After the lifecycle check: spacing, opening hours, then the room and clinician, preferring
    the ones the appointment already has. `appointment_type` is the one loaded before the locks
    (`current`, read under them, has no related rows loaded)."""
    end = new_start + appointment_type.duration
    check_infusion_spacing(
        appointment_type, patient_id=current.patient_id, start=new_start, exclude_id=current.pk
    )
    check_open(new_start, end, include_extra=True)
    rooms.sort(key=lambda room: room.pk != current.room_id)
    clinicians.sort(key=lambda clinician: clinician.pk != current.clinician_id)
    return choose_resources(
        start=new_start,
        end=end,
        appointment_type=appointment_type,
        rooms=rooms,
        clinicians=clinicians,
        patient_id=current.patient_id,
        explicit_room=explicit_room,
        explicit_clinician=explicit_clinician,
        now=now,
        exclude_id=current.pk,
    )


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
