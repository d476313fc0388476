"""Which room and clinician a booking or a hold gets, under the booking's locks
(scheduling.locking): the candidates (as filters, so locking them is one query each), the check of
opening hours, the choice of the first free room and working clinician (or exactly what clashes),
and the exclusion constraints' names mapped to the same domain errors when something slipped past
the checks.

Everything but `bookable_type` and `candidates` is a pure function over what the booking loaded
under its locks (scheduling.booking_facts): the clinic's calendar, the clinicians' working hours,
and the appointments and live holds in the booking's window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db import IntegrityError
from django.db.models import Exists, Q

from propel import formatting
from scheduling.availability import ClinicCalendar, WeeklyHours, works_during
from scheduling.errors import SchedulingError
from scheduling.locking import with_lock_timeout
from scheduling.models import AppointmentType, Clinician, Room, SlotHold

R = TypeVar("R", Room, Clinician)  # a resource: a room or a clinician


def bookable_type(
    appointment_type_id: int, *, self_booked: bool, sets_lock_timeout: bool = False
) -> AppointmentType:
    """The active appointment type, or SchedulingError("type_unavailable"); a patient booking
    themselves (`self_booked`) may only have a self-bookable one ("not_self_bookable").
    `sets_lock_timeout`: the read is the booking transaction's first (locking.with_lock_timeout)."""
    types = AppointmentType.objects.filter(pk=appointment_type_id, active=True)
    if sets_lock_timeout:
        types = with_lock_timeout(types)
    appointment_type = types.first()
    if appointment_type is None:
        raise SchedulingError("type_unavailable")
    if self_booked and not appointment_type.self_bookable:
        raise SchedulingError("not_self_bookable")
    return appointment_type


@dataclass(frozen=True)
class Candidates:
    """The rooms and clinicians a booking may use, as filters for scheduling.locking
    (`clinicians=None`: the type needs none and none was named)."""

    rooms: Q
    clinicians: Q | None


def candidates(
    appointment_type: AppointmentType,
    *,
    room_id: int | None,
    clinician_id: int | None,
    hold: tuple[str, dt.datetime, dt.datetime] | None = None,
) -> Candidates:
    """The given room and clinician, or every active room of the type's kind and every active
    clinician (none when the type needs none). `hold` = (key, start, now): when no room or
    clinician is given and that hold is live at `now` for this type and start, its room and its
    clinician (if any) instead; the choice is made by the lock queries themselves."""
    rooms = (
        Q(pk=room_id) if room_id is not None else Q(kind=appointment_type.room_kind, active=True)
    )
    clinicians: Q | None
    if clinician_id is not None:
        clinicians = Q(pk=clinician_id)
    elif appointment_type.needs_clinician:
        clinicians = Q(active=True)
    else:
        clinicians = None
    if hold is None or room_id is not None or clinician_id is not None:
        return Candidates(rooms, clinicians)
    key, start, now = hold
    held = SlotHold.objects.live(now).filter(
        key=key, appointment_type=appointment_type, start=start
    )
    no_hold = Q(~Exists(held))
    return Candidates(
        rooms=Q(pk__in=held.values("room_id")) | (no_hold & rooms),
        clinicians=Q(pk__in=held.values("clinician_id"))
        | (no_hold & (clinicians if clinicians is not None else Q(pk__in=[]))),
    )


@dataclass(frozen=True)
class Closed:
    """A closure as the booking shows it: its first and last day and its reason."""

    first: dt.date
    last: dt.date
    reason: str


def check_open(
    start: dt.datetime,
    end: dt.datetime,
    *,
    include_extra: bool,
    calendar: ClinicCalendar,
    closures: Iterable[Closed],
) -> None:
    """SchedulingError("closed") on a closure day, ("outside_hours") outside the opening hours
    (extra openings count only with `include_extra`)."""
    day = start.astimezone(calendar.tz).date()
    if calendar.is_closed(day):
        reason = next((c.reason for c in closures if c.first <= day <= c.last), None)
        raise SchedulingError("closed", day=formatting.local_date(day), reason=reason)
    if not calendar.is_open_for(start, end, include_extra=include_extra):
        raise SchedulingError("outside_hours")


@dataclass(frozen=True)
class Taken:
    """One appointment or live hold in a booking's window: what it occupies and when
    (`patient_id` is None for a hold)."""

    room_id: int | None
    clinician_id: int | None
    patient_id: int | None
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Busy:
    """The rooms and clinicians taken by appointments (`*_booked`) and by live holds (`*_held`)."""

    rooms_booked: set[int]
    clinicians_booked: set[int]
    rooms_held: set[int]
    clinicians_held: set[int]


def busy_at(
    start: dt.datetime,
    end: dt.datetime,
    *,
    booked: Iterable[Taken],
    held: Iterable[Taken],
    patient_id: int | None,
) -> Busy:
    """What overlaps [start, end) among the appointments and live holds loaded for the window;
    SchedulingError("patient_taken") when the patient is booked then."""
    clashes = [row for row in booked if row.start < end and start < row.end]
    if patient_id and any(row.patient_id == patient_id for row in clashes):
        raise SchedulingError("patient_taken")
    holds = [row for row in held if row.start < end and start < row.end]
    return Busy(
        rooms_booked={row.room_id for row in clashes if row.room_id is not None},
        clinicians_booked={row.clinician_id for row in clashes if row.clinician_id is not None},
        rooms_held={row.room_id for row in holds if row.room_id is not None},
        clinicians_held={row.clinician_id for row in holds if row.clinician_id is not None},
    )


def _check_rooms(rooms: list[Room], appointment_type: AppointmentType) -> None:
    if not rooms:
        raise SchedulingError("no_resource")
    for room in rooms:
        if room.kind != appointment_type.room_kind:
            raise SchedulingError("wrong_room_kind", room=room.name)
        if not room.active:
            raise SchedulingError("room_inactive", room=room.name)


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
    hours: dict[int, WeeklyHours],
    calendar: ClinicCalendar,
    explicit: bool,
) -> Clinician:
    if not clinicians:
        raise SchedulingError("clinician_needed")
    working = [
        c
        for c in clinicians
        if c.active and works_during(hours.get(c.pk, {}), start, end, calendar.tz)
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


@dataclass(frozen=True)
class Choice:
    """What choose_resources picks from: the locked rooms and clinicians (in preference order),
    whether staff named them, and the clinicians' working hours."""

    rooms: list[Room]
    clinicians: list[Clinician]
    explicit_room: bool
    explicit_clinician: bool
    hours: dict[int, WeeklyHours]


def choose_resources(
    *,
    start: dt.datetime,
    end: dt.datetime,
    appointment_type: AppointmentType,
    choice: Choice,
    calendar: ClinicCalendar,
    booked: Iterable[Taken],
    held: Iterable[Taken],
    patient_id: int | None,
) -> tuple[Room, Clinician | None]:
    """Pick the first free room and working clinician among the locked ones, or say exactly what
    clashes: appointments (`booked`) and live holds (`held`, the booking's own hold left out)
    make their room and clinician busy, and the patient's appointments make the patient busy."""
    _check_rooms(choice.rooms, appointment_type)
    busy = busy_at(start, end, booked=booked, held=held, patient_id=patient_id)
    room = _free_room(choice.rooms, busy, explicit=choice.explicit_room)
    if not appointment_type.needs_clinician and not choice.clinicians:
        return room, None
    clinician = _free_clinician(
        choice.clinicians,
        busy,
        start=start,
        end=end,
        hours=choice.hours,
        calendar=calendar,
        explicit=choice.explicit_clinician,
    )
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
