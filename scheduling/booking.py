"""Booking and status changes: the only code that writes appointments.

Guard order, for every booking: inside one transaction, take row locks on the resources the
appointment needs (rooms, then clinicians, then the patient, each by ascending id, so two bookings
can never wait on each other in a cycle) with a short lock timeout; re-check opening hours, working
hours and overlaps against the database as it is now; write. The PostgreSQL exclusion constraints
are the last line: if anything slipped past, the insert fails and becomes the same domain error.

Slot holds (a patient's few-minute claim while filling in the booking form) are written here too,
under the same locks: a live hold is busy for everyone but its holder, in the re-check of every
booking and every other hold.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import formats, timezone

from intake.clearance import clearance_refusal, has_valid_clearance
from intake.models import Patient
from propel.audit import audit_record
from scheduling.availability import works_during
from scheduling.errors import SchedulingError
from scheduling.lifecycle import Action, Facts, When, parties_of, refusals
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    BookedVia,
    Clinician,
    Closure,
    Room,
    SlotHold,
)
from scheduling.policy import spacing_policy
from scheduling.reminders.plan import reminders_replan
from scheduling.slots import clinic_tz, load_calendar, load_clinician_hours, utc_range
from scheduling.spacing import first_too_close, week_is_full, week_of

LOCK_NOT_AVAILABLE = "55P03"
EXCLUSION_VIOLATION = "23P01"


def _sqlstate(error: Exception) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)


def set_lock_timeout() -> None:
    """Make lock waits in this transaction give up after BOOKING_LOCK_TIMEOUT_MS."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{settings.BOOKING_LOCK_TIMEOUT_MS}ms"])


@contextmanager
def booking_transaction() -> Iterator[None]:
    """`atomic()` with the short lock timeout; a lock wait that times out inside it becomes
    SchedulingError("busy") (when nested, only the savepoint is rolled back)."""
    try:
        with transaction.atomic():
            set_lock_timeout()
            yield
    except OperationalError as error:
        if _sqlstate(error) == LOCK_NOT_AVAILABLE:
            raise SchedulingError("busy") from error
        raise


def _lock_resources(
    *, room_ids: list[int], clinician_ids: list[int], patient_id: int | None
) -> tuple[list[Room], list[Clinician], Patient | None]:
    rooms = list(Room.objects.select_for_update().filter(pk__in=room_ids).order_by("pk"))
    clinicians = list(
        Clinician.objects.select_for_update().filter(pk__in=clinician_ids).order_by("pk")
    )
    if patient_id is None:
        return rooms, clinicians, None
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    return rooms, clinicians, patient


def _check_open(start: dt.datetime, end: dt.datetime, *, include_extra: bool) -> None:
    tz = clinic_tz()
    day = start.astimezone(tz).date()
    calendar = load_calendar(day, end.astimezone(tz).date())
    if calendar.is_closed(day):
        reason = (
            Closure.objects.filter(start_date__lte=day, end_date__gte=day)
            .values_list("reason", flat=True)
            .first()
        )
        raise SchedulingError("closed", day=formats.date_format(day, "l, F j"), reason=reason)
    if not calendar.is_open_for(start, end, include_extra=include_extra):
        raise SchedulingError("outside_hours")


def _choose_resources(
    *,
    start: dt.datetime,
    end: dt.datetime,
    appointment_type: AppointmentType,
    rooms: list[Room],
    clinicians: list[Clinician],
    patient_id: int | None,
    explicit_room: bool,
    explicit_clinician: bool,
    now: dt.datetime,
    hold_key: str | None = None,
    exclude_id: int | None = None,
) -> tuple[Room, Clinician | None]:
    """Pick the first free room and clinician among the locked ones, or say exactly what clashes.

    Live slot holds other than `hold_key` make their room and clinician busy. The appointment
    `exclude_id` (one being moved) is not a clash with itself.
    """
    if not rooms:
        raise SchedulingError("no_resource")
    for room in rooms:
        if room.kind != appointment_type.room_kind:
            raise SchedulingError("wrong_room_kind", room=room.name)
        if not room.active:
            raise SchedulingError("room_inactive", room=room.name)
    uses_resources = Q(room__in=rooms) | Q(clinician__in=clinicians)
    clashes = list(
        Appointment.objects.active()
        .overlapping(start, end)
        .filter((uses_resources | Q(patient_id=patient_id)) if patient_id else uses_resources)
        .exclude(pk=exclude_id or 0)
        .values_list("room_id", "clinician_id", "patient_id")
    )
    if patient_id and any(clash_patient == patient_id for _, _, clash_patient in clashes):
        raise SchedulingError("patient_taken")
    held = list(
        SlotHold.objects.live(now)
        .filter(uses_resources, start__lt=end, end__gt=start)
        .exclude(key=hold_key or "")
        .values_list("room_id", "clinician_id")
    )
    busy_rooms = {room_id for room_id, _, _ in clashes}
    busy_clinicians = {clinician_id for _, clinician_id, _ in clashes}
    held_rooms = {room_id for room_id, _ in held}
    held_clinicians = {clinician_id for _, clinician_id in held}
    free_rooms = [room for room in rooms if room.pk not in busy_rooms | held_rooms]
    if not free_rooms:
        if explicit_room and rooms[0].pk in busy_rooms:
            raise SchedulingError("room_taken", room=rooms[0].name)
        if explicit_room:
            raise SchedulingError("held")
        raise SchedulingError("no_resource")
    if not appointment_type.needs_clinician and not clinicians:
        return free_rooms[0], None
    if not clinicians:
        raise SchedulingError("clinician_needed")
    hours = load_clinician_hours(clinician.pk for clinician in clinicians)
    tz = clinic_tz()
    working = [
        c for c in clinicians if c.active and works_during(hours.get(c.pk, {}), start, end, tz)
    ]
    if explicit_clinician and not working:
        raise SchedulingError("clinician_off", clinician=clinicians[0].display_name)
    free_clinicians = [c for c in working if c.pk not in busy_clinicians | held_clinicians]
    if not free_clinicians:
        if explicit_clinician and clinicians[0].pk in busy_clinicians:
            raise SchedulingError("clinician_taken", clinician=clinicians[0].display_name)
        if explicit_clinician:
            raise SchedulingError("held")
        raise SchedulingError("no_resource")
    return free_rooms[0], free_clinicians[0]


def _error_from_constraint(
    error: IntegrityError, room: Room, clinician: Clinician | None
) -> SchedulingError:
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""
    if name == "appointment_room_no_overlap":
        return SchedulingError("room_taken", room=room.name)
    if name == "appointment_clinician_no_overlap" and clinician is not None:
        return SchedulingError("clinician_taken", clinician=clinician.display_name)
    if name == "appointment_patient_no_overlap":
        return SchedulingError("patient_taken")
    raise error


def _needs_clearance_now(appointment_type: AppointmentType) -> bool:
    """The type's clearance policy as committed now. On PostgreSQL the row is read FOR SHARE: an
    admin's change of the policy waits for this booking to commit, and a change committed first
    is seen here (the value loaded before the locks may be stale)."""
    if connection.vendor != "postgresql":
        return AppointmentType.objects.get(pk=appointment_type.pk).needs_clearance
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT needs_clearance FROM scheduling_appointmenttype WHERE id = %s FOR SHARE",
            [appointment_type.pk],
        )
        return bool(cursor.fetchone()[0])


def check_lifecycle(
    action: Action,
    *,
    appointment_type: AppointmentType,
    patient_id: int,
    start: dt.datetime,
    actor: Any,
    as_patient: bool,
    now: dt.datetime,
) -> None:
    """The lifecycle table's word on booking or moving to `start` (scheduling.lifecycle): who may,
    not in the past, and a clearance valid on that day when the type's policy (re-read under the
    booking's locks) needs one. Call inside the booking transaction."""
    treatment = _needs_clearance_now(appointment_type)
    facts = Facts(
        status=None if action == Action.BOOK else AppointmentStatus.BOOKED,
        start=start,
        treatment=treatment,
        clearance=(not treatment) or has_valid_clearance(patient_id, start),
    )
    parties = parties_of(actor, as_patient=as_patient)
    for refusal in refusals(action, facts, parties, now=now, tz=clinic_tz()):
        if refusal.code == When.BEFORE_START:
            raise SchedulingError("in_past")
        if refusal.code == "clearance":
            raise SchedulingError(
                "needs_clearance", why=clearance_refusal(patient_id, start, now=now)
            )
        raise SchedulingError("not_allowed")


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
    `confirm=False` plans the reminders without a booking confirmation (the later sessions of a
    course, whose first session's confirmation covers them).
    """
    now = now or timezone.now()
    if idempotency_key and (existing := _replay(idempotency_key, patient_id)):
        return existing
    appointment_type = AppointmentType.objects.filter(pk=appointment_type_id, active=True).first()
    if appointment_type is None:
        raise SchedulingError("type_unavailable")
    if via == BookedVia.ONLINE and not appointment_type.self_bookable:
        raise SchedulingError("not_self_bookable")
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    # Elapsed minutes, whatever the clock does: aware arithmetic in a local zone is wall-clock.
    start = start.astimezone(dt.UTC)
    end = start + appointment_type.duration
    if start <= now:
        raise SchedulingError("in_past")
    hold = None
    if hold_key and room_id is None and clinician_id is None:
        hold = (
            SlotHold.objects.live(now)
            .filter(key=hold_key, appointment_type=appointment_type, start=start)
            .first()
        )
    if hold is not None:
        room_ids = [hold.room_id]
        clinician_ids = [hold.clinician_id] if hold.clinician_id else []
    else:
        room_ids, clinician_ids = _candidates(
            appointment_type, room_id=room_id, clinician_id=clinician_id
        )
    with booking_transaction():
        try:
            rooms, clinicians, _patient = _lock_resources(
                room_ids=room_ids, clinician_ids=clinician_ids, patient_id=patient_id
            )
        except Patient.DoesNotExist:
            raise SchedulingError("patient_not_found") from None
        if idempotency_key and (existing := _replay(idempotency_key, patient_id)):
            return existing
        check_lifecycle(
            Action.BOOK,
            appointment_type=appointment_type,
            patient_id=patient_id,
            start=start,
            actor=actor,
            as_patient=via == BookedVia.ONLINE,
            now=now,
        )
        if max_online_upcoming is not None:
            _check_online_cap(patient_id, appointment_type, max_online_upcoming, now)
        check_infusion_spacing(appointment_type, patient_id=patient_id, start=start)
        _check_open(start, end, include_extra=via == BookedVia.STAFF)
        room, clinician = _choose_resources(
            start=start,
            end=end,
            appointment_type=appointment_type,
            rooms=rooms,
            clinicians=clinicians,
            patient_id=patient_id,
            explicit_room=room_id is not None,
            explicit_clinician=clinician_id is not None,
            now=now,
            hold_key=hold_key,
        )
        try:
            with transaction.atomic():
                appointment = Appointment.objects.create(
                    patient_id=patient_id,
                    appointment_type=appointment_type,
                    start=start,
                    end=end,
                    room=room,
                    clinician=clinician,
                    booked_via=via,
                    booked_by=actor,
                    idempotency_key=idempotency_key or None,
                    course_id=course_id,
                )
        except IntegrityError as error:
            if idempotency_key and (existing := _replay(idempotency_key, patient_id)):
                return existing
            raise _error_from_constraint(error, room, clinician) from error
        AppointmentStatusChange.objects.create(
            appointment=appointment, to_status=appointment.status, at=now, by=actor
        )
        # Reminder rows in the booking's own transaction: no broker needed
        # (scheduling.reminders.dispatch).
        reminders_replan(appointment_id=appointment.pk, now=now, confirmation=confirm)
        audit_record(
            action="appointment.booked",
            actor=actor,
            request=request,
            patient_id=patient_id,
            obj=appointment,
            detail={"type": appointment_type.code, "via": via},
        )
        if hold_key:
            SlotHold.objects.filter(key=hold_key).delete()
    return appointment


def check_infusion_spacing(
    appointment_type: AppointmentType,
    *,
    patient_id: int,
    start: dt.datetime,
    exclude_id: int | None = None,
) -> None:
    """For treatment visits (types that need clearance), the patient's other active treatment
    visits keep the clinic's spacing (scheduling.spacing, as scheduling.policy sets it): at least
    the minimum gap away, and no more than the weekly cap in one Monday-Sunday clinic week; the
    course rules hold for every infusion, in a course or not. Call under the patient's row lock."""
    if not appointment_type.needs_clearance:
        return
    spacing = spacing_policy()
    gap = spacing.min_gap
    tz = clinic_tz()
    monday = week_of(start, tz)
    week = utc_range(monday, monday + dt.timedelta(days=6), tz)
    starts = list(
        Appointment.objects.active()
        .filter(patient_id=patient_id, appointment_type__needs_clearance=True)
        .filter(
            Q(start__gt=start - gap, start__lt=start + gap)
            | Q(start__gte=week.start, start__lt=week.end)
        )
        .exclude(pk=exclude_id)
        .values_list("start", flat=True)
    )
    if (other := first_too_close(start, starts, spacing)) is not None:
        raise SchedulingError(
            "infusion_too_close",
            hours=f"{gap.total_seconds() / 3600:g}",
            when=formats.date_format(other.astimezone(tz), "D M j, g:i A"),
        )
    if week_is_full(start, starts, spacing, tz):
        raise SchedulingError("infusion_week_full", limit=spacing.max_per_week)


def _replay(idempotency_key: str, patient_id: int) -> Appointment | None:
    existing = Appointment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.patient_id != patient_id:
        raise SchedulingError("key_reused")
    return existing


def _candidates(
    appointment_type: AppointmentType, *, room_id: int | None, clinician_id: int | None
) -> tuple[list[int], list[int]]:
    """The rooms and clinicians a booking may use: the given ones, or every active one."""
    room_ids = (
        [room_id]
        if room_id is not None
        else list(
            Room.objects.filter(kind=appointment_type.room_kind, active=True).values_list(
                "pk", flat=True
            )
        )
    )
    if clinician_id is not None:
        clinician_ids = [clinician_id]
    elif appointment_type.needs_clinician:
        clinician_ids = list(Clinician.objects.filter(active=True).values_list("pk", flat=True))
    else:
        clinician_ids = []
    return room_ids, clinician_ids


def _check_online_cap(
    patient_id: int, appointment_type: AppointmentType, limit: int, now: dt.datetime
) -> None:
    upcoming = (
        Appointment.objects.active()
        .filter(
            patient_id=patient_id,
            appointment_type=appointment_type,
            booked_via=BookedVia.ONLINE,
            start__gt=now,
        )
        .count()
    )
    if upcoming >= limit:
        raise SchedulingError("too_many_upcoming", limit=limit, phone=settings.CLINIC_PHONE)


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
    appointment_type = AppointmentType.objects.filter(pk=appointment_type_id, active=True).first()
    if appointment_type is None:
        raise SchedulingError("type_unavailable")
    if not appointment_type.self_bookable:
        raise SchedulingError("not_self_bookable")
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    start = start.astimezone(dt.UTC)
    if start <= now:
        raise SchedulingError("in_past")
    end = start + appointment_type.duration
    room_ids, clinician_ids = _candidates(appointment_type, room_id=None, clinician_id=None)
    with booking_transaction():
        rooms, clinicians, _ = _lock_resources(
            room_ids=room_ids, clinician_ids=clinician_ids, patient_id=None
        )
        if replaces:
            SlotHold.objects.filter(key=replaces).delete()
        _check_open(start, end, include_extra=False)
        room, clinician = _choose_resources(
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
    so no status history is written.
    """
    now = now or timezone.now()
    if new_start.tzinfo is None:
        raise ValueError("new_start must be an aware datetime")
    new_start = new_start.astimezone(dt.UTC)
    appointment = (
        Appointment.objects.select_related("appointment_type").filter(pk=appointment_id).first()
    )
    if appointment is None:
        raise SchedulingError("not_found")
    if appointment.status != AppointmentStatus.BOOKED:
        raise SchedulingError(
            "not_movable", status=AppointmentStatus(appointment.status).label.lower()
        )
    if new_start <= now or appointment.start <= now:
        raise SchedulingError("in_past")
    appointment_type = appointment.appointment_type
    patient_id = appointment.patient_id
    end = new_start + appointment_type.duration
    room_ids, clinician_ids = _candidates(
        appointment_type, room_id=room_id, clinician_id=clinician_id
    )
    if appointment.clinician_id and clinician_id is None:
        clinician_ids = sorted({*clinician_ids, appointment.clinician_id})
    with booking_transaction():
        rooms, clinicians, _patient = _lock_resources(
            room_ids=room_ids, clinician_ids=clinician_ids, patient_id=patient_id
        )
        current = Appointment.objects.select_for_update().filter(pk=appointment_id).first()
        if (
            current is None
            or current.status != AppointmentStatus.BOOKED
            or current.sequence != appointment.sequence
            or current.start != appointment.start
        ):
            raise SchedulingError("stale")
        check_lifecycle(
            Action.MOVE,
            appointment_type=appointment_type,
            patient_id=patient_id,
            start=new_start,
            actor=actor,
            as_patient=as_patient,
            now=now,
        )
        check_infusion_spacing(
            appointment_type, patient_id=patient_id, start=new_start, exclude_id=appointment.pk
        )
        _check_open(new_start, end, include_extra=True)
        # Prefer the room and clinician the appointment already has.
        rooms.sort(key=lambda room: room.pk != current.room_id)
        clinicians.sort(key=lambda clinician: clinician.pk != current.clinician_id)
        room, clinician = _choose_resources(
            start=new_start,
            end=end,
            appointment_type=appointment_type,
            rooms=rooms,
            clinicians=clinicians,
            patient_id=patient_id,
            explicit_room=room_id is not None,
            explicit_clinician=clinician_id is not None,
            now=now,
            exclude_id=appointment_id,
        )
        try:
            with transaction.atomic():
                claimed = Appointment.objects.filter(
                    pk=appointment_id,
                    status=AppointmentStatus.BOOKED,
                    sequence=current.sequence,
                ).update(
                    start=new_start,
                    end=end,
                    room=room,
                    clinician=clinician,
                    sequence=F("sequence") + 1,
                    updated_at=now,
                )
        except IntegrityError as error:
            raise _error_from_constraint(error, room, clinician) from error
        if claimed != 1:
            raise SchedulingError("stale")
        reminders_replan(appointment_id=appointment_id, now=now)
        audit_record(
            action="appointment.moved",
            actor=actor,
            request=request,
            patient_id=patient_id,
            obj=current,
            detail={
                "from": current.start.isoformat(),
                "to": new_start.astimezone(dt.UTC).isoformat(),
                "room": room.pk,
                "clinician": clinician.pk if clinician else None,
            },
        )
    current.refresh_from_db()
    return current
