"""Staff calendar (day and week views) and the appointment pages: detail, new, move, cancel,
check in, complete, no-show. Every view needs Capability.CALENDAR; every change goes through a
service in scheduling.booking, which keeps the no-overlap guarantee, writes history and audits.

The calendar pages run a fixed number of queries whatever the number of appointments: opening
hours, closures and extra openings (three), rooms or the week's resources, the appointments with
their patient, type, room and clinician (one), and the clearance badges (two, in a batch).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from intake.clearance import ClearanceStatus, clearance_status, clearance_statuses
from intake.models import Patient
from propel.http import partial_or_page
from propel.roles import Capability, staff_required
from scheduling import booking
from scheduling.availability import TimeSpan, days
from scheduling.calendar.forms import (
    BookingForm,
    CalendarDateForm,
    CancelForm,
    MoveForm,
    PatientSearchForm,
    StatusForm,
    WeekForm,
)
from scheduling.calendar.grid import Grid, Placement, grid_for
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookedVia,
    Clinician,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
    Visit,
)
from scheduling.slots import clinic_today, clinic_tz, find_slots, utc_range
from scheduling.transitions import appointment_transition, offered_actions

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


def _appointments(first: dt.date, last: dt.date, **filters: Any) -> list[Appointment]:
    span = utc_range(first, last, clinic_tz())
    return list(
        Appointment.objects.filter(start__lt=span.end, end__gt=span.start, **filters)
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
    appointments = _appointments(day, day, room__in=rooms) if grid else []
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
    return partial_or_page(
        request, "scheduling/calendar/day.html", "scheduling/calendar/_day.html", context, status
    )


@staff_required(Capability.CALENDAR)
def calendar_week(request: HttpRequest) -> HttpResponse:
    form = WeekForm(request.GET or None)
    valid = form.is_valid()
    cleaned = form.cleaned_data if valid else {}
    day = cleaned.get("date") or clinic_today()
    monday = day - dt.timedelta(days=day.weekday())
    sunday = monday + dt.timedelta(days=6)
    room, clinician = cleaned.get("room"), cleaned.get("clinician")
    if room is None and clinician is None:
        room = Room.objects.filter(active=True).order_by("kind", "name").first()
    hours = _load_hours(monday, sunday)
    grid = grid_for(h.spans for h in hours.values())
    week = list(days(monday, sunday))
    columns = [Column(d.strftime("%a %b %-d"), d, hours[d]) for d in week]
    if grid is None or (room is None and clinician is None):
        appointments = []
    elif clinician is not None:
        appointments = _appointments(monday, sunday, clinician=clinician)
    else:
        appointments = _appointments(monday, sunday, room=room)
    tz = clinic_tz()
    _fill(columns, week, grid, appointments, lambda a: a.start.astimezone(tz).date())
    params = {"room": room.pk} if clinician is None and room else {}
    if clinician is not None:
        params = {"clinician": clinician.pk}
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
    return partial_or_page(
        request, "scheduling/calendar/week.html", "scheduling/calendar/_week.html", context, status
    )


def _url(name: str, **params: Any) -> str:
    url = reverse(name)
    query = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    return f"{url}?{urlencode(query)}" if query else url


# --- Appointments ------------------------------------------------------------------------------


def _appointment_for(user: Any, appointment_id: int) -> Appointment:
    """The appointment, for a user the view's capability check has already let in; 404 if it does
    not exist. Every calendar role sees every appointment, so there is no further filter."""
    return get_object_or_404(
        Appointment.objects.select_related("patient", "appointment_type", "room", "clinician"),
        pk=appointment_id,
    )


def _detail_context(user: Any, appointment: Appointment, **extra: Any) -> dict[str, Any]:
    visit = Visit.objects.filter(appointment=appointment).first()
    return {
        "appointment": appointment,
        # The lifecycle's actions: the same list as the visit screen's (scheduling.visits).
        "visit_actions": offered_actions(appointment, visit, user=user, now=timezone.now()),
        "history": appointment.status_changes.select_related("by"),
        "clearance": clearance_status(appointment.patient_id, today=clinic_today()),
        "status_form": StatusForm(),
        "cancel_form": CancelForm(),
        "move_form": None,
        "slots": [],
        **extra,
    }


@staff_required(Capability.CALENDAR)
def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for(request.user, appointment_id)
    context = _detail_context(request.user, appointment)
    return render(request, "scheduling/calendar/appointment.html", context)


def _refused(
    request: HttpRequest, appointment: Appointment, error: SchedulingError, **extra: Any
) -> HttpResponse:
    """409 with the refusal on the appointment page: a lifecycle refusal lists each missing step
    with a link to where it is done; nothing was changed."""
    missing = getattr(error, "missing", None)
    if missing is None:
        messages.error(request, error.message)
    context = _detail_context(
        request.user,
        appointment,
        error="" if missing else error.message,
        lifecycle_error=missing,
        **extra,
    )
    return render(request, "scheduling/calendar/appointment.html", context, status=409)


@require_POST
@staff_required(Capability.CALENDAR)
def appointment_status(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for(request.user, appointment_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request.user, appointment, status_form=form)
        return render(request, "scheduling/calendar/appointment.html", context, status=400)
    try:
        appointment_transition(
            appointment_id=appointment.pk,
            to_status=form.cleaned_data["status"],
            actor=request.user,
            request=request,
        )
    except SchedulingError as error:
        return _refused(request, appointment, error)
    label = AppointmentStatus(form.cleaned_data["status"]).label
    messages.success(request, _("Marked %(status)s.") % {"status": str(label).lower()})
    return redirect("scheduling:appointment", appointment_id=appointment.pk)


@require_POST
@staff_required(Capability.CALENDAR)
def appointment_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for(request.user, appointment_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request.user, appointment, cancel_form=form)
        return render(request, "scheduling/calendar/appointment.html", context, status=400)
    try:
        appointment_transition(
            appointment_id=appointment.pk,
            to_status=AppointmentStatus.CANCELLED,
            reason=form.cleaned_data["reason"],
            actor=request.user,
            request=request,
        )
    except SchedulingError as error:
        return _refused(request, appointment, error, cancel_form=form)
    messages.success(request, _("The appointment was cancelled."))
    return redirect("scheduling:appointment", appointment_id=appointment.pk)


@dataclass(frozen=True)
class SlotChoice:
    start: dt.datetime
    rooms: list[Room]
    clinicians: list[Clinician]


def _slot_choices(
    appointment_type: AppointmentType, day: dt.date, *, patient_id: int | None
) -> list[SlotChoice]:
    """Free times on `day` for the type, with the rooms and clinicians free at each. Staff may book
    open Saturdays, so extra openings are included."""
    slots = find_slots(
        appointment_type=appointment_type,
        start_date=day,
        end_date=day,
        include_extra_openings=True,
        patient_id=patient_id,
        not_before=timezone.now(),
    )
    rooms = Room.objects.in_bulk()
    clinicians = Clinician.objects.in_bulk()
    tz = clinic_tz()
    return [
        SlotChoice(
            start=slot.start.astimezone(tz),
            rooms=[rooms[pk] for pk in slot.room_ids],
            clinicians=[clinicians[pk] for pk in slot.clinician_ids],
        )
        for slot in slots
    ]


@staff_required(Capability.CALENDAR)
def appointment_move(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """GET ?date= lists free times that day; POST moves (the service re-checks everything)."""
    appointment = _appointment_for(request.user, appointment_id)
    if request.method == "POST":
        form = MoveForm(request.POST)
    else:
        form = MoveForm(request.GET or None, require_time=False)
    slots: list[SlotChoice] = []
    if form.is_valid():
        slots = _slot_choices(
            appointment.appointment_type, form.cleaned_data["date"], patient_id=None
        )
    if request.method != "POST":
        context = _detail_context(request.user, appointment, move_form=form, slots=slots)
        return render(request, "scheduling/calendar/move.html", context)
    if not form.is_valid():
        context = _detail_context(request.user, appointment, move_form=form, slots=slots)
        return render(request, "scheduling/calendar/move.html", context, status=400)
    room, clinician = form.cleaned_data["room"], form.cleaned_data["clinician"]
    try:
        booking.appointment_move(
            appointment_id=appointment.pk,
            new_start=form.cleaned_data["start"],
            room_id=room.pk if room else None,
            clinician_id=clinician.pk if clinician else None,
            actor=request.user,
            request=request,
        )
    except SchedulingError as error:
        form.add_error(None, error.message)
        context = _detail_context(request.user, appointment, move_form=form, slots=slots)
        return render(request, "scheduling/calendar/move.html", context, status=409)
    messages.success(request, _("The appointment was moved."))
    return redirect("scheduling:appointment", appointment_id=appointment.pk)


@staff_required(Capability.CALENDAR)
def appointment_new(request: HttpRequest) -> HttpResponse:
    """Step 1: find the patient (?q=). Step 2 (?patient=): type and date, then a free time.
    POST books through appointment_book, as staff (open Saturdays allowed)."""
    search = PatientSearchForm(request.GET if "q" in request.GET else None)
    patients = list(search.matches()) if search.is_valid() else []
    data = request.POST if request.method == "POST" else request.GET
    patient = _chosen_patient(data.get("patient"))
    if request.method == "POST":
        form = BookingForm(request.POST)
    elif patient is not None and "date" in request.GET:
        form = BookingForm(request.GET, require_time=False)
    elif patient is not None:
        form = BookingForm(initial={"patient": patient.pk, "date": clinic_today()})
    else:
        form = None
    slots: list[SlotChoice] = []
    if form is not None and form.is_valid():
        slots = _slot_choices(
            form.cleaned_data["appointment_type"],
            form.cleaned_data["date"],
            patient_id=form.cleaned_data["patient"].pk,
        )
    context: dict[str, Any] = {
        "search": search,
        "patients": patients,
        "form": form,
        "slots": slots,
        "patient": patient,
    }
    if request.method != "POST":
        status = 400 if (form is not None and form.errors) or search.errors else 200
        return render(request, "scheduling/calendar/new.html", context, status=status)
    assert form is not None
    if not form.is_valid():
        return render(request, "scheduling/calendar/new.html", context, status=400)
    room, clinician = form.cleaned_data["room"], form.cleaned_data["clinician"]
    try:
        appointment = booking.appointment_book(
            patient_id=form.cleaned_data["patient"].pk,
            appointment_type_id=form.cleaned_data["appointment_type"].pk,
            start=form.cleaned_data["start"],
            room_id=room.pk if room else None,
            clinician_id=clinician.pk if clinician else None,
            via=BookedVia.STAFF,
            actor=request.user,
            request=request,
        )
    except SchedulingError as error:
        form.add_error(None, error.message)
        return render(request, "scheduling/calendar/new.html", context, status=409)
    messages.success(request, _("The appointment was booked."))
    return redirect("scheduling:appointment", appointment_id=appointment.pk)


def _chosen_patient(value: str | None) -> Patient | None:
    if not value or not value.isdigit():
        return None
    return Patient.objects.filter(pk=int(value)).first()
