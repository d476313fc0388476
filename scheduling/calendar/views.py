"""Staff calendar: the day view (a column per room, or per clinician) and the week view (every
room as a sub-column of each day, or a column per day for one room or clinician). Every view
needs Capability.CALENDAR. The appointment pages are in scheduling.calendar.appointment_views;
what a column holds is built in scheduling.calendar.columns.

The calendar pages run a fixed number of queries whatever the number of appointments: opening
hours, closures and extra openings (three), the blocked time (scheduling.calendar.blocks), the
rooms or clinicians, the offered types, the appointments with their patient, type, room and
clinician (one), and the clearance badges (two, in a batch).
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

from propel.http import partial_or_page
from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.availability import TimeSpan, days
from scheduling.calendar.blocks import BlockedSpan, Window, calendar_blocks
from scheduling.calendar.columns import Column, DayHours, fill
from scheduling.calendar.forms import CalendarDateForm, WeekForm
from scheduling.calendar.grid import grid_for
from scheduling.models import (
    Appointment,
    AppointmentType,
    Clinician,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
)
from scheduling.models.spans import id_equals
from scheduling.slots import clinic_today, clinic_tz, utc_range

# --- Loading -----------------------------------------------------------------------------------


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
        extra_spans = [(opens, closes) for opens, closes, _note in extra.get(day, ())]
        spans = sorted([*weekly.get(day.weekday(), ()), *extra_spans])
        reason = next((r for start, end, r in closures if start <= day <= end), None)
        if reason is not None:
            hours[day] = DayHours(day, closure=reason, closed_spans=spans)
            continue
        notes = [note or _("Extra opening") for _o, _c, note in extra.get(day, ())]
        hours[day] = DayHours(day, spans=spans, extra_notes=notes, extra_spans=extra_spans)
    return hours


def _appointments(first: dt.date, last: dt.date, whose: Q) -> list[Appointment]:
    span = utc_range(first, last, clinic_tz())
    return list(
        Appointment.objects.overlapping(span.start, span.end)
        .filter(whose)
        .select_related("patient", "appointment_type", "room", "clinician")
        .order_by("start", "id")
    )


def _types() -> list[AppointmentType]:
    """The offered types, the one an empty room cell pre-fills first for its room's kind."""
    return list(AppointmentType.objects.filter(active=True).order_by("pk"))


# --- Calendar ----------------------------------------------------------------------------------


@dataclass
class AgendaDay:
    """One day of the agenda list shown instead of the grid on a narrow screen."""

    day: dt.date
    blocked: list[BlockedSpan] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)


def _agenda(
    first: dt.date, last: dt.date, appointments: list[Appointment], blocked: list[BlockedSpan]
) -> list[AgendaDay]:
    tz = clinic_tz()
    agenda = {day: AgendaDay(day) for day in days(first, last)}
    for appointment in appointments:
        if (entry := agenda.get(appointment.start.astimezone(tz).date())) is not None:
            entry.appointments.append(appointment)
    for span in blocked:
        for entry in agenda.values():
            if span.start.astimezone(tz).date() <= entry.day < span.end.astimezone(tz).date():
                entry.blocked.append(span)
    return list(agenda.values())


@staff_required(Capability.CALENDAR)
def calendar_day(request: HttpRequest) -> HttpResponse:
    form = CalendarDateForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_valid() else {}
    day = cleaned.get("date") or clinic_today()
    by_clinician = cleaned.get("by") == "clinician"
    hours = _load_hours(day, day)[day]
    blocked = calendar_blocks(Window(day, day))
    grid = grid_for([hours.drawn_spans])
    if by_clinician:
        clinicians = list(Clinician.objects.filter(active=True).order_by("display_name", "pk"))
        columns = [Column(c.display_name, day, hours, key=c.pk, clinician=c) for c in clinicians]
        whose, key_of = Q(clinician__in=clinicians), lambda a: a.clinician_id
    else:
        rooms = list(Room.objects.filter(active=True).order_by("kind", "name"))
        columns = [Column(r.name, day, hours, key=r.pk, room=r) for r in rooms]
        whose, key_of = Q(room__in=rooms), lambda a: a.room_id
    appointments = _appointments(day, day, whose) if grid else []
    fill(columns, grid, appointments, key_of, blocked, _types() if grid else [])
    by = {"by": "clinician"} if by_clinician else {}
    context = {
        "form": form,
        "view": "day",
        "day": day,
        "by_clinician": by_clinician,
        "hours": hours,
        "grid": grid,
        "columns": columns,
        "agenda": _agenda(day, day, appointments, blocked),
        "previous": _url("scheduling:calendar", date=day - dt.timedelta(days=1), **by),
        "next": _url("scheduling:calendar", date=day + dt.timedelta(days=1), **by),
        "today_url": _url("scheduling:calendar", **by),
        "rooms_url": _url("scheduling:calendar", date=day),
        "clinicians_url": _url("scheduling:calendar", date=day, by="clinician"),
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
    room, clinician = cleaned.get("room"), cleaned.get("clinician")
    hours = _load_hours(monday, sunday)
    blocked = calendar_blocks(Window(monday, sunday))
    grid = grid_for(h.drawn_spans for h in hours.values())
    if room is None and clinician is None:
        columns, whose, key_of = _all_rooms_columns(hours)
    else:
        columns, whose, key_of = _owner_columns(hours, room=room, clinician=clinician)
    appointments = _appointments(monday, sunday, whose) if grid else []
    fill(columns, grid, appointments, key_of, blocked, _types() if grid else [])
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
        "agenda": _agenda(monday, sunday, appointments, blocked),
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


def _day_title(day: dt.date) -> str:
    return day.strftime("%a %b %-d")


def _all_rooms_columns(hours: dict[dt.date, DayHours]) -> tuple[list[Column], Q, Any]:
    """Every active room as a sub-column of each day of the week."""
    rooms = list(Room.objects.filter(active=True).order_by("kind", "name"))
    columns = [
        Column(
            room.name,
            day,
            hours[day],
            key=(day, room.pk),
            room=room,
            group=_day_title(day),
            first_of_group=index == 0,
        )
        for day in hours
        for index, room in enumerate(rooms)
    ]
    tz = clinic_tz()
    return columns, Q(room__in=rooms), lambda a: (a.start.astimezone(tz).date(), a.room_id)


def _owner_columns(
    hours: dict[dt.date, DayHours], *, room: Room | None, clinician: Clinician | None
) -> tuple[list[Column], Q, Any]:
    """One column a day for the clinician if one is chosen, else for the room."""
    columns = [
        Column(_day_title(day), day, hours[day], key=day, room=room, clinician=clinician)
        for day in hours
    ]
    owner = (
        id_equals("clinician_id", clinician.pk)
        if clinician is not None
        else id_equals("room_id", room.pk)  # type: ignore[union-attr]
    )
    tz = clinic_tz()
    return columns, owner, lambda a: a.start.astimezone(tz).date()


def _shown(columns: list[Column]) -> set[int]:
    """The patients whose appointments the grid shows (for the read audit)."""
    return {block.appointment.patient_id for column in columns for block in column.blocks}


def _url(name: str, **params: Any) -> str:
    url = reverse(name)
    query = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    return f"{url}?{urlencode(query)}" if query else url
