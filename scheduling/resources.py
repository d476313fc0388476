"""Which room and clinician a booking or a hold gets, under the booking's locks
(scheduling.locking): the candidates, the re-check of opening hours, the choice of the first free
room and working clinician (or exactly what clashes), and the exclusion constraints' names mapped
to the same domain errors when something slipped past the re-check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import IntegrityError
from django.db.models import Q
from django.utils import formats

from scheduling.availability import works_during
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentType, Clinician, Closure, Room, SlotHold
from scheduling.slots import clinic_tz, load_calendar, load_clinician_hours

R = TypeVar("R", Room, Clinician)  # a resource: a room or a clinician


def bookable_type(appointment_type_id: int, *, self_booked: bool) -> AppointmentType:
    """The active appointment type, or SchedulingError("type_unavailable"); a patient booking
    themselves (`self_booked`) may only have a self-bookable one ("not_self_bookable")."""
    appointment_type = AppointmentType.objects.filter(pk=appointment_type_id, active=True).first()
    if appointment_type is None:
        raise SchedulingError("type_unavailable")
    if self_booked and not appointment_type.self_bookable:
        raise SchedulingError("not_self_bookable")
    return appointment_type


def candidates(
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


def check_open(start: dt.datetime, end: dt.datetime, *, include_extra: bool) -> None:
    """SchedulingError("closed") on a closure day, ("outside_hours") outside the opening hours
    (extra openings count only with `include_extra`)."""
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


@dataclass(frozen=True)
class Busy:
    """The rooms and clinicians taken by appointments (`*_booked`) and by live holds (`*_held`)."""

    rooms_booked: set[int]
    clinicians_booked: set[int]
    rooms_held: set[int]
    clinicians_held: set[int]


def _check_rooms(rooms: list[Room], appointment_type: AppointmentType) -> None:
    if not rooms:
        raise SchedulingError("no_resource")
    for room in rooms:
        if room.kind != appointment_type.room_kind:
            raise SchedulingError("wrong_room_kind", room=room.name)
        if not room.active:
            raise SchedulingError("room_inactive", room=room.name)


def _busy(
    *,
    start: dt.datetime,
    end: dt.datetime,
    rooms: list[Room],
    clinicians: list[Clinician],
    patient_id: int | None,
    now: dt.datetime,
    hold_key: str | None,
    exclude_id: int | None,
) -> Busy:
    """What overlaps [start, end); SchedulingError("patient_taken") when the patient is booked."""
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
    return Busy(
        rooms_booked={room_id for room_id, _, _ in clashes},
        clinicians_booked={clinician_id for _, clinician_id, _ in clashes},
        rooms_held={room_id for room_id, _ in held},
        clinicians_held={clinician_id for _, clinician_id in held},
    )


def _first_free(
    candidates: list[R],
    *,
    asked: R,
    booked: set[int],
    held: set[int],
    explicit: bool,
    taken: Callable[[R], SchedulingError],
) -> R:
    """The first candidate neither booked nor held. None free: for a resource staff named
    (`explicit`, `asked` the one named) `taken(asked)` when it is booked, else "held";
    otherwise "no_resource"."""
    free = [candidate for candidate in candidates if candidate.pk not in booked | held]
    if free:
        return free[0]
    if explicit and asked.pk in booked:
        raise taken(asked)
    if explicit:
        raise SchedulingError("held")
    raise SchedulingError("no_resource")


def _free_room(rooms: list[Room], busy: Busy, *, explicit: bool) -> Room:
    return _first_free(
        rooms,
        asked=rooms[0],
        booked=busy.rooms_booked,
        held=busy.rooms_held,
        explicit=explicit,
        taken=lambda room: SchedulingError("room_taken", room=room.name),
    )


def _free_clinician(
    clinicians: list[Clinician],
    busy: Busy,
    *,
    start: dt.datetime,
    end: dt.datetime,
    explicit: bool,
) -> Clinician:
    if not clinicians:
        raise SchedulingError("clinician_needed")
    hours = load_clinician_hours(clinician.pk for clinician in clinicians)
    tz = clinic_tz()
    working = [
        c for c in clinicians if c.active and works_during(hours.get(c.pk, {}), start, end, tz)
    ]
    if explicit and not working:
        raise SchedulingError("clinician_off", clinician=clinicians[0].display_name)
    return _first_free(
        working,
        asked=clinicians[0],
        booked=busy.clinicians_booked,
        held=busy.clinicians_held,
        explicit=explicit,
        taken=lambda c: SchedulingError("clinician_taken", clinician=c.display_name),
    )


def choose_resources(
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
    _check_rooms(rooms, appointment_type)
    busy = _busy(
        start=start,
        end=end,
        rooms=rooms,
        clinicians=clinicians,
        patient_id=patient_id,
        now=now,
        hold_key=hold_key,
        exclude_id=exclude_id,
    )
    room = _free_room(rooms, busy, explicit=explicit_room)
    if not appointment_type.needs_clinician and not clinicians:
        return room, None
    clinician = _free_clinician(clinicians, busy, start=start, end=end, explicit=explicit_clinician)
    return room, clinician


def error_from_constraint(
    error: IntegrityError, room: Room, clinician: Clinician | None
) -> SchedulingError:
    """The domain error for an exclusion constraint's refusal; other integrity errors re-raise."""
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""
    if name == "appointment_room_no_overlap":
        return SchedulingError("room_taken", room=room.name)
    if name == "appointment_clinician_no_overlap" and clinician is not None:
        return SchedulingError("clinician_taken", clinician=clinician.display_name)
    if name == "appointment_patient_no_overlap":
        return SchedulingError("patient_taken")
    raise error
