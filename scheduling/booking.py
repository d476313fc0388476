"""Booking and status changes: the only code that writes appointments.

Guard order, for every booking: inside one transaction, take row locks on the resources the
appointment needs (rooms, then clinicians, then the patient, each by ascending id, so two bookings
can never wait on each other in a cycle) with a short lock timeout; re-check opening hours, working
hours and overlaps against the database as it is now; write. The PostgreSQL exclusion constraints
are the last line: if anything slipped past, the insert fails and becomes the same domain error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import formats, timezone

from intake.clearance import has_valid_clearance
from intake.models import Patient
from propel.audit import audit_record
from scheduling.availability import works_during
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    BookedVia,
    Clinician,
    Closure,
    Room,
)
from scheduling.slots import clinic_tz, load_calendar, load_clinician_hours

LOCK_NOT_AVAILABLE = "55P03"
EXCLUSION_VIOLATION = "23P01"

# Which status may follow which. Anything else is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    AppointmentStatus.BOOKED: frozenset(
        {AppointmentStatus.CHECKED_IN, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}
    ),
    AppointmentStatus.CHECKED_IN: frozenset(
        {AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED}
    ),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
}


def _sqlstate(error: Exception) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)


def _set_lock_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{settings.BOOKING_LOCK_TIMEOUT_MS}ms"])


def _lock_resources(
    *, room_ids: list[int], clinician_ids: list[int], patient_id: int
) -> tuple[list[Room], list[Clinician], Patient]:
    rooms = list(Room.objects.select_for_update().filter(pk__in=room_ids).order_by("pk"))
    clinicians = list(
        Clinician.objects.select_for_update().filter(pk__in=clinician_ids).order_by("pk")
    )
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
    patient_id: int,
    explicit_room: bool,
    explicit_clinician: bool,
) -> tuple[Room, Clinician | None]:
    """Pick the first free room and clinician among the locked ones, or say exactly what clashes."""
    if not rooms:
        raise SchedulingError("no_resource")
    for room in rooms:
        if room.kind != appointment_type.room_kind:
            raise SchedulingError("wrong_room_kind", room=room.name)
        if not room.active:
            raise SchedulingError("room_inactive", room=room.name)
    clashes = list(
        Appointment.objects.active()
        .overlapping(start, end)
        .filter(Q(room__in=rooms) | Q(clinician__in=clinicians) | Q(patient_id=patient_id))
        .values_list("room_id", "clinician_id", "patient_id")
    )
    if any(clash_patient == patient_id for _, _, clash_patient in clashes):
        raise SchedulingError("patient_taken")
    busy_rooms = {room_id for room_id, _, _ in clashes}
    busy_clinicians = {clinician_id for _, clinician_id, _ in clashes}
    free_rooms = [room for room in rooms if room.pk not in busy_rooms]
    if not free_rooms:
        if explicit_room:
            raise SchedulingError("room_taken", room=rooms[0].name)
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
    free_clinicians = [c for c in working if c.pk not in busy_clinicians]
    if not free_clinicians:
        if explicit_clinician:
            raise SchedulingError("clinician_taken", clinician=clinicians[0].display_name)
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
) -> Appointment:
    """Book one appointment, or raise SchedulingError saying why not.

    Without `room_id`/`clinician_id` the first free room of the type's kind and the first free
    working clinician are chosen. Staff bookings may use extra openings (open Saturdays); online
    bookings may not, and only self-bookable types. Locks the candidate rooms, clinicians and the
    patient row (in that order) for the length of the transaction; a lock wait longer than
    BOOKING_LOCK_TIMEOUT_MS raises SchedulingError("busy").
    """
    now = now or timezone.now()
    appointment_type = AppointmentType.objects.filter(pk=appointment_type_id, active=True).first()
    if appointment_type is None:
        raise SchedulingError("type_unavailable")
    if via == BookedVia.ONLINE and not appointment_type.self_bookable:
        raise SchedulingError("not_self_bookable")
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    end = start + appointment_type.duration
    if start <= now:
        raise SchedulingError("in_past")
    if appointment_type.needs_clearance and not has_valid_clearance(patient_id, start):
        raise SchedulingError("needs_clearance")
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
    try:
        with transaction.atomic():
            _set_lock_timeout()
            try:
                rooms, clinicians, _patient = _lock_resources(
                    room_ids=room_ids, clinician_ids=clinician_ids, patient_id=patient_id
                )
            except Patient.DoesNotExist:
                raise SchedulingError("patient_not_found") from None
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
                    )
            except IntegrityError as error:
                raise _error_from_constraint(error, room, clinician) from error
            AppointmentStatusChange.objects.create(
                appointment=appointment, to_status=appointment.status, at=now, by=actor
            )
            audit_record(
                action="appointment.booked",
                actor=actor,
                request=request,
                patient_id=patient_id,
                obj=appointment,
                detail={"type": appointment_type.code, "via": via},
            )
    except OperationalError as error:
        if _sqlstate(error) == LOCK_NOT_AVAILABLE:
            raise SchedulingError("busy") from error
        raise
    return appointment


def appointment_transition(
    *,
    appointment_id: int,
    to_status: str,
    actor: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move an appointment to `to_status` if TRANSITIONS allows it from its current status.

    The change is a conditional UPDATE on the status read, so two staff members acting at once
    cannot both succeed; the loser gets SchedulingError("stale"). Writes history and audit.
    """
    now = now or timezone.now()
    with transaction.atomic():
        appointment = Appointment.objects.filter(pk=appointment_id).first()
        if appointment is None:
            raise SchedulingError("not_found")
        current = appointment.status
        if to_status not in TRANSITIONS.get(current, frozenset()):
            raise SchedulingError(
                "bad_transition",
                current=AppointmentStatus(current).label.lower(),
                target=AppointmentStatus(to_status).label.lower(),
            )
        claimed = Appointment.objects.filter(pk=appointment_id, status=current).update(
            status=to_status, updated_at=now
        )
        if claimed != 1:
            raise SchedulingError("stale")
        AppointmentStatusChange.objects.create(
            appointment=appointment,
            from_status=current,
            to_status=to_status,
            at=now,
            by=actor,
            reason=reason,
        )
        audit_record(
            action=f"appointment.{to_status}",
            actor=actor,
            request=request,
            patient_id=appointment.patient_id,
            obj=appointment,
            detail={"from": current, "reason": reason} if reason else {"from": current},
        )
        appointment.status = to_status
    return appointment
