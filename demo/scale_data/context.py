"""What the plan and the writer read from the database before they start."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from demo.scale_data.errors import ScaleSeedError
from demo.scale_data.grid import _Grid, _minutes, _Type
from demo.scale_data.parameters import FUTURE_WEEKS, PAST_WEEKS
from propel.roles import Role
from scheduling.models import Appointment, AppointmentType, Clinician, Room, RoomKind
from scheduling.slots import clinic_tz, load_calendar, load_clinician_hours, utc_range


@dataclass
class _Context:
    """What the plan and the writer read from the database: the grid with the existing
    appointments marked busy, the types, the clinicians and the staff who act."""

    now: dt.datetime
    tz: ZoneInfo
    today: dt.date
    grid: _Grid
    types: dict[str, AppointmentType]
    kinds: dict[str, _Type]
    clinicians: list[Clinician]
    clinician_users: list[int]
    front_desk: int | None
    usernames: dict[int, str]

    @classmethod
    def load(cls, *, types: dict[str, AppointmentType], now: dt.datetime) -> _Context:
        tz = clinic_tz()
        today = now.astimezone(tz).date()
        first = today - dt.timedelta(weeks=PAST_WEEKS)
        last = today + dt.timedelta(weeks=FUTURE_WEEKS)
        days, spans = _open_days(first, last)
        clinicians = list(Clinician.objects.filter(active=True).order_by("pk"))
        hours = load_clinician_hours(c.pk for c in clinicians)
        clinicians = [c for c in clinicians if c.pk in hours]
        rooms = {
            kind: list(
                Room.objects.filter(kind=kind, active=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for kind in RoomKind.values
        }
        if not days or not clinicians or not all(rooms.values()):
            raise ScaleSeedError(
                "The clinic needs opening hours, a clinician with working hours and a room of "
                "each kind: run manage.py seed_demo first."
            )
        cell = math.gcd(30, *(t.duration_minutes for t in types.values()))
        grid = _Grid(
            days=days,
            spans=spans,
            tz=tz,
            cell=cell,
            hours=[hours[c.pk] for c in clinicians],
            rooms=rooms,
        )
        _occupy_booked(grid, clinicians, utc_range(first, last, tz))
        clinician_login, front_desk, usernames = _staff_logins()
        return cls(
            now=now,
            tz=tz,
            today=today,
            grid=grid,
            types=types,
            kinds=_kinds(types, cell),
            clinicians=clinicians,
            clinician_users=[c.user_id or clinician_login for c in clinicians],
            front_desk=front_desk,
            usernames=usernames,
        )


def _open_days(first: dt.date, last: dt.date) -> tuple[list[dt.date], list[Any]]:
    """The clinic's open days from `first` to `last` and their opening spans."""
    calendar = load_calendar(first, last)
    days, spans = [], []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        if day_spans := calendar.spans(day, include_extra=False):
            days.append(day)
            spans.append(day_spans)
    return days, spans


def _occupy_booked(grid: _Grid, clinicians: list[Clinician], window: Any) -> None:
    """Mark the rooms and clinicians of the appointments already booked in `window` busy."""
    tz, cell = grid.tz, grid.cell
    position = {c.pk: i for i, c in enumerate(clinicians)}
    busy = Appointment.objects.active().overlapping(window.start, window.end)
    for room, clinician, start, end in busy.values_list("room_id", "clinician_id", "start", "end"):
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        if (day := grid.index.get(local_start.date())) is None:
            continue
        stop = _minutes(local_end) if local_end.date() == local_start.date() else 24 * 60
        grid.occupy(
            day=day,
            lo=_minutes(local_start) // cell,
            hi=-(-stop // cell),
            room=room,
            clinician=position.get(clinician),
        )


def _kinds(types: dict[str, AppointmentType], cell: int) -> dict[str, _Type]:
    kinds = {
        code: _Type(code, t.duration_minutes, t.room_kind, t.needs_clearance)
        for code, t in types.items()
    }
    for kind in kinds.values():
        kind.cells = kind.minutes // cell
    return kinds


def _staff_logins() -> tuple[int, int | None, dict[int, str]]:
    """The first clinician login (who records decisions and visits), the first front desk login
    (or None) and every active user's username by id."""
    staff = User.objects.filter(is_active=True).order_by("pk")
    clinician_login = staff.filter(groups__name=Role.CLINICIAN.value).first()
    if clinician_login is None:
        raise ScaleSeedError("No clinician login exists to record decisions and visits.")
    front_desk = staff.filter(groups__name=Role.FRONT_DESK.value).first()
    usernames = dict(staff.values_list("pk", "username"))
    return clinician_login.pk, front_desk.pk if front_desk else None, usernames
