"""The staff appointment pages: detail, new, move, cancel, check in, complete, no-show. Every view
needs Capability.CALENDAR; every change goes through a service: scheduling.booking for a booking
or a move (which keeps the no-overlap guarantee), the lifecycle door (scheduling.transitions) for
every status change. Each writes history and audits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from intake.clearance import clearance_status
from intake.models import Patient
from propel.roles import Capability, staff_required
from scheduling import booking
from scheduling.audit import audit_shown
from scheduling.calendar.forms import (
    BookingForm,
    CancelForm,
    MoveForm,
    PatientSearchForm,
    StatusForm,
)
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookedVia,
    Clinician,
    Room,
    Visit,
    status_word,
)
from scheduling.notices import DEFAULT, ChangeNotice
from scheduling.slots import clinic_today, clinic_tz, staff_slots
from scheduling.transitions import appointment_transition, offered_actions

DETAIL = "scheduling/calendar/appointment.html"
MOVE = "scheduling/calendar/move.html"
NEW = "scheduling/calendar/new.html"


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


def _page(
    request: HttpRequest, template: str, appointment: Appointment, status: int = 200, **extra: Any
) -> HttpResponse:
    """An appointment page (`template`) with `extra` over the detail context."""
    context = _detail_context(request.user, appointment, **extra)
    audit_shown(request, [appointment.patient_id])
    return render(request, template, context, status=status)


@staff_required(Capability.CALENDAR)
def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    return _page(request, DETAIL, _appointment_for(request.user, appointment_id))


def _refused(
    request: HttpRequest, appointment: Appointment, error: SchedulingError, **extra: Any
) -> HttpResponse:
    """409 with the refusal on the appointment page: a lifecycle refusal lists each missing step
    with a link to where it is done; nothing was changed."""
    missing = getattr(error, "missing", None)
    if missing is None:
        messages.error(request, error.message)
    error_text = "" if missing else error.message
    return _page(
        request, DETAIL, appointment, 409, error=error_text, lifecycle_error=missing, **extra
    )


def _transition(
    request: HttpRequest,
    appointment: Appointment,
    *,
    to_status: str,
    done: str,
    reason: str = "",
    notice: ChangeNotice = DEFAULT,
    **extra: Any,
) -> HttpResponse:
    """Move the appointment to `to_status` through the lifecycle door, then back to its page with
    `done`; a refusal shows the page (409) with `extra` over its context."""
    try:
        appointment_transition(
            appointment_id=appointment.pk,
            to_status=to_status,
            reason=reason,
            actor=request.user,
            request=request,
            notice=notice,
        )
    except SchedulingError as error:
        return _refused(request, appointment, error, **extra)
    messages.success(request, done)
    return redirect("scheduling:appointment", appointment_id=appointment.pk)


@require_POST
@staff_required(Capability.CALENDAR)
def appointment_status(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for(request.user, appointment_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _page(request, DETAIL, appointment, 400, status_form=form)
    status = form.cleaned_data["status"]
    done = _("Marked %(status)s.") % {"status": status_word(status)}
    return _transition(request, appointment, to_status=status, done=done)


@require_POST
@staff_required(Capability.CALENDAR)
def appointment_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for(request.user, appointment_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _page(request, DETAIL, appointment, 400, cancel_form=form)
    return _transition(
        request,
        appointment,
        to_status=AppointmentStatus.CANCELLED,
        reason=form.cleaned_data["reason"],
        notice=form.notice(),
        done=_("The appointment was cancelled."),
        cancel_form=form,
    )


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
    slots = staff_slots(appointment_type, day, day, now=timezone.now(), patient_id=patient_id)
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
    posted = request.method == "POST"
    form = MoveForm(request.POST) if posted else MoveForm(request.GET or None, require_time=False)
    slots: list[SlotChoice] = []
    if form.is_valid():
        kind, day = appointment.appointment_type, form.cleaned_data["date"]
        slots = _slot_choices(kind, day, patient_id=None)
    if not (posted and form.is_valid()):
        return _page(
            request,
            MOVE,
            appointment,
            400 if posted else 200,
            move_form=form,
            slots=slots,
            requested=_requested(form, slots),
        )
    try:
        booking.appointment_move(
            appointment_id=appointment.pk,
            new_start=form.cleaned_data["start"],
            **form.resource_ids(),
            actor=request.user,
            request=request,
            notice=form.notice(),
        )
    except SchedulingError as error:
        form.add_error(None, error.message)
        return _page(request, MOVE, appointment, 409, move_form=form, slots=slots)
    messages.success(request, _("The appointment was moved."))
    return redirect("scheduling:appointment", appointment_id=appointment.pk)


def _requested(form: MoveForm, slots: list[SlotChoice]) -> dt.datetime | None:
    """A time asked for in the address (a visit dropped on the calendar) that is not among the
    free times: offered as it is, so pressing Move lets the service say why it is refused."""
    start = form.cleaned_data.get("start") if form.is_valid() else None
    if start is None or any(slot.start == start for slot in slots):
        return None
    return start.astimezone(clinic_tz())


@staff_required(Capability.CALENDAR)
def appointment_new(request: HttpRequest) -> HttpResponse:
    """Step 1: find the patient (?q=). Step 2 (?patient=): type and date, then a free time.
    POST books through appointment_book, as staff (open Saturdays allowed)."""
    search = PatientSearchForm(request.GET if "q" in request.GET else None)
    data = request.POST if request.method == "POST" else request.GET
    patient = _chosen_patient(data.get("patient"))
    form = _booking_form(request, patient)
    context: dict[str, Any] = {
        "search": search,
        "patients": list(search.matches()) if search.is_valid() else [],
        "form": form,
        "slots": _booking_slots(form),
        "patient": patient,
        "prefill": (prefill := _prefill(request)),
        "prefill_query": urlencode(prefill),
    }
    shown = [p.pk for p in context["patients"]] + ([patient.pk] if patient else [])
    audit_shown(request, shown)
    if request.method != "POST":
        status = 400 if (form is not None and form.errors) or search.errors else 200
        return render(request, NEW, context, status=status)
    assert form is not None  # a POST always binds the booking form
    return _book(request, form, context)


PREFILL = ("appointment_type", "date", "time", "room", "clinician")


def _prefill(request: HttpRequest) -> list[tuple[str, str]]:
    """What a click on an empty calendar cell filled in (type, date, time, room, clinician),
    carried through the patient search to step 2, whose form validates it."""
    if request.method != "GET":
        return []
    return [(name, request.GET[name][:40]) for name in PREFILL if request.GET.get(name)]


def _chosen_patient(value: str | None) -> Patient | None:
    if not value or not value.isdigit():
        return None
    return Patient.objects.filter(pk=int(value)).first()


def _booking_form(request: HttpRequest, patient: Patient | None) -> BookingForm | None:
    """Step 2's form: bound to a POST, or to ?date= (a time not yet needed), or started for the
    chosen patient on today's date; None until a patient is chosen."""
    if request.method == "POST":
        return BookingForm(request.POST)
    if patient is not None and "date" in request.GET:
        return BookingForm(request.GET, require_time=False)
    if patient is not None:
        return BookingForm(initial={"patient": patient.pk, "date": clinic_today()})
    return None


def _booking_slots(form: BookingForm | None) -> list[SlotChoice]:
    if form is None or not form.is_valid():
        return []
    data = form.cleaned_data
    return _slot_choices(data["appointment_type"], data["date"], patient_id=data["patient"].pk)


def _book(request: HttpRequest, form: BookingForm, context: dict[str, Any]) -> HttpResponse:
    """The POST of "new appointment": book as staff, or show the page again with the refusal."""
    if not form.is_valid():
        return render(request, NEW, context, status=400)
    try:
        appointment = booking.appointment_book(
            patient_id=form.cleaned_data["patient"].pk,
            appointment_type_id=form.cleaned_data["appointment_type"].pk,
            start=form.cleaned_data["start"],
            **form.resource_ids(),
            via=BookedVia.STAFF,
            actor=request.user,
            request=request,
        )
    except SchedulingError as error:
        form.add_error(None, error.message)
        return render(request, NEW, context, status=409)
    messages.success(request, _("The appointment was booked."))
    return redirect("scheduling:appointment", appointment_id=appointment.pk)
