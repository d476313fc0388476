"""Staff calendar: the day view (a column per room) and the week view (a column per day, for a
room or a clinician). Every view needs Capability.CALENDAR. The appointment pages are in
scheduling.calendar.appointment_views.

The calendar pages run a fixed number of queries whatever the number of appointments: opening
hours, closures and extra openings (three), rooms or the week's resources, the appointments with
their patient, type, room and clinician (one), and the clearance badges (two, in a batch).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from intake.clearance import ClearanceStatus, clearance_statuses
from propel.http import partial_or_page
from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.availability import TimeSpan, days
from scheduling.calendar.forms import CalendarDateForm, WeekForm
from scheduling.calendar.grid import Grid, Placement, grid_for
from scheduling.models import (
    Appointment,
    Clinician,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
)
from scheduling.models.spans import id_equals
from scheduling.slots import clinic_today, clinic_tz, utc_range

# --- Loading -----------------------------------------------------------------------------------


@dataclass
class DayHours:
    """What the clinic does on one date: its open spans, why it is closed, extra-opening notes."""

    day: dt.date
    spans: list[TimeSpan] = field(default_factory=list)
    closure: str | None = None
    extra_notes: list[str] = field(default_factory=list)


def _load_hours(first: dt.date, last: dt.date) -> dict[dt.date, DayHours]:
    """Weekly hours, closures (with reasons) and extra openings (with notes), in three queries."""
    weekly: dict[int, list[TimeSpan]] = defaultdict(list)
    for weekday, opens, closes in OpeningHours.objects.values_list("weekday", "opens", "closes"):
        weekly[weekday].append((opens, closes))
    closures = list(
        Closure.objects.filter(start_date__lte=last, end_date__gte=first).values_list(
            "start_date", "end_date", "reason"
        )
    )
    extra: dict[dt.date, list[tuple[dt.time, dt.time, str]]] = defaultdict(list)
    for row in ExtraOpening.objects.filter(date__range=(first, last)).values_list(
        "date", "opens", "closes", "note"
    ):
        extra[row[0]].append(row[1:])
    hours = {}
    for day in days(first, last):
        reason = next((r for start, end, r in closures if start <= day <= end), None)
        if reason is not None:
            hours[day] = DayHours(day, closure=reason)
            continue
        spans = list(weekly.get(day.weekday(), ()))
        spans.extend((opens, closes) for opens, closes, _note in extra.get(day, ()))
        notes = [note or _("Extra opening") for _o, _c, note in extra.get(day, ())]
        hours[day] = DayHours(day, spans=sorted(spans), extra_notes=notes)
    return hours


@dataclass(frozen=True)
class Block:
    appointment: Appointment
    placement: Placement
    clearance: ClearanceStatus | None


@dataclass
class Column:
    """One column of the grid: a room on a day, or a day for a room or clinician."""

    title: str
    day: dt.date
    hours: DayHours
    open_spans: list[Placement] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


def _fill(
    columns: list[Column],
    keys: list[Any],
    grid: Grid | None,
    appointments: list[Appointment],
    key_of: Any,
) -> None:
    """Put each appointment into the column whose key it has, with its rows and badge."""
    tz = clinic_tz()
    clearances = clearance_statuses({a.patient_id for a in appointments}, today=clinic_today())
    by_key = dict(zip(keys, columns, strict=True))
    for column in columns:
        if grid is not None:
            column.open_spans = [p for s in column.hours.spans if (p := grid.place_span(s))]
    if grid is None:
        return
    for appointment in appointments:
        column = by_key.get(key_of(appointment))
        if column is None:
            continue
        placement = grid.place(appointment.start, appointment.end, day=column.day, tz=tz)
        if placement is not None:
            column.blocks.append(
                Block(appointment, placement, clearances.get(appointment.patient_id))
            )


def _appointments(first: dt.date, last: dt.date, whose: Q) -> list[Appointment]:
    span = utc_range(first, last, clinic_tz())
    return list(
        Appointment.objects.overlapping(span.start, span.end)
        .filter(whose)
        .select_related("patient", "appointment_type", "room", "clinician")
        .order_by("start", "id")
    )


# --- Calendar ----------------------------------------------------------------------------------


@staff_required(Capability.CALENDAR)
def calendar_day(request: HttpRequest) -> HttpResponse:
    form = CalendarDateForm(request.GET or None)
    day = (form.is_valid() and form.cleaned_data["date"]) or clinic_today()
    hours = _load_hours(day, day)[day]
    rooms = list(Room.objects.filter(active=True).order_by("kind", "name"))
    grid = grid_for([hours.spans])
    columns = [Column(room.name, day, hours) for room in rooms]
    appointments = _appointments(day, day, Q(room__in=rooms)) if grid else []
    _fill(columns, [r.pk for r in rooms], grid, appointments, lambda a: a.room_id)
    context = {
        "form": form,
        "view": "day",
        "day": day,
        "hours": hours,
        "grid": grid,
        "columns": columns,
        "previous": _url("scheduling:calendar", date=day - dt.timedelta(days=1)),
        "next": _url("scheduling:calendar", date=day + dt.timedelta(days=1)),
        "today_url": _url("scheduling:calendar"),
        "week_url": _url("scheduling:calendar_week", date=day),
    }
    status = 400 if form.errors else 200
    audit_shown(request, _shown(columns))
    return partial_or_page(
        request, "scheduling/calendar/day.html", "scheduling/calendar/_day.html", context, status
    )


@staff_required(Capability.CALENDAR)
def calendar_week(request: HttpRequest) -> HttpResponse:
    form = WeekForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_valid() else {}
    day = cleaned.get("date") or clinic_today()
    monday = day - dt.timedelta(days=day.weekday())
    sunday = monday + dt.timedelta(days=6)
    room, clinician = _week_owner(cleaned.get("room"), cleaned.get("clinician"))
    grid, columns = _week_columns(monday, sunday, room=room, clinician=clinician)
    params = {"clinician": clinician.pk} if clinician else {"room": room.pk} if room else {}
    context = {
        "form": form,
        "view": "week",
        "day": day,
        "monday": monday,
        "sunday": sunday,
        "room": room if clinician is None else None,
        "clinician": clinician,
        "grid": grid,
        "columns": columns,
        "previous": _url("scheduling:calendar_week", date=monday - dt.timedelta(days=7), **params),
        "next": _url("scheduling:calendar_week", date=monday + dt.timedelta(days=7), **params),
        "today_url": _url("scheduling:calendar_week", **params),
        "day_url": _url("scheduling:calendar", date=day),
    }
    status = 400 if form.errors else 200
    audit_shown(request, _shown(columns))
    return partial_or_page(
        request, "scheduling/calendar/week.html", "scheduling/calendar/_week.html", context, status
    )


def _week_owner(
    room: Room | None, clinician: Clinician | None
) -> tuple[Room | None, Clinician | None]:
    """Whose week to show: the chosen clinician or room, else the first active room."""
    if room is None and clinician is None:
        room = Room.objects.filter(active=True).order_by("kind", "name").first()
    return room, clinician


def _week_columns(
    monday: dt.date, sunday: dt.date, *, room: Room | None, clinician: Clinician | None
) -> tuple[Grid | None, list[Column]]:
    """The week's grid and one column a day, holding the clinician's appointments if one is
    chosen, else the room's."""
    hours = _load_hours(monday, sunday)
    grid = grid_for(h.spans for h in hours.values())
    week = list(days(monday, sunday))
    columns = [Column(d.strftime("%a %b %-d"), d, hours[d]) for d in week]
    if grid is None or (room is None and clinician is None):
        appointments = []
    else:
        owner = (
            id_equals("clinician_id", clinician.pk)
            if clinician is not None
            else id_equals("room_id", room.pk)  # type: ignore[union-attr]
        )
        appointments = _appointments(monday, sunday, owner)
    tz = clinic_tz()
    _fill(columns, week, grid, appointments, lambda a: a.start.astimezone(tz).date())
    return grid, columns


def _shown(columns: list[Column]) -> set[int]:
    """The patients whose appointments the grid shows (for the read audit)."""
    return {block.appointment.patient_id for column in columns for block in column.blocks}


def _url(name: str, **params: Any) -> str:
    url = reverse(name)
    query = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    return f"{url}?{urlencode(query)}" if query else url
