"""The day sheet and the visit screen: front desk checks a patient in, a clinician takes them
through the vital-signs gate, the infusion and discharge, or defers the visit and rebooks it.

Access: every page needs Capability.CALENDAR. Each step then belongs to one role (the issue: "front
desk and clinician may do only their own steps"): check-in is front desk's; vitals, sign-off,
start, end, discharge and defer are the clinician's. The view refuses the wrong role with 403 and
the service in scheduling.visits checks again (scheduling.visits.ARRIVAL_ROLES, CLINICAL_ROLES).
Admins may act as front desk (check in) because the service allows it and small clinics need
cover at the desk; they never see the clinical forms. Rebooking a deferred visit is ordinary staff
booking (appointment_book), open to every calendar role.

The day sheet runs a fixed number of queries whatever the number of appointments: the
appointments with their patient, type, room, clinician and visit (one), clearance badges (two, in a
batch) and pre-infusion check-ins with their round's status (one).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from intake.clearance import ClearanceStatus, clearance_status, clearance_statuses
from intake.models import SubmissionStatus
from propel.roles import Capability, can, roles_of, staff_required
from scheduling import booking, visits, vitals
from scheduling.calendar.views import _partial_or_page, clinic_today
from scheduling.errors import SchedulingError
from scheduling.lifecycle import Action
from scheduling.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    BookedVia,
    GateOutcome,
    PreInfusionCheckIn,
    ReadingPhase,
    Visit,
    VitalReading,
)
from scheduling.slots import clinic_tz, utc_range
from scheduling.visits.forms import (
    NO,
    YES,
    CheckInForm,
    DayForm,
    DeferForm,
    DischargeForm,
    RebookForm,
    SignOffForm,
    VitalsForm,
)
from scheduling.visits.items import items_context

DomainErrors = (visits.VisitError, SchedulingError)


# --- Who does which step -------------------------------------------------------------------------


class Step(enum.StrEnum):
    CHECK_IN = "check_in"
    CLINICAL = "clinical"  # vitals, sign-off, start, end, discharge
    DEFER = "defer"
    REBOOK = "rebook"


# The same role sets the services check, so the page never offers a form the service refuses.
STEP_ROLES = {
    Step.CHECK_IN: visits.ARRIVAL_ROLES,
    Step.CLINICAL: visits.CLINICAL_ROLES,
    Step.DEFER: visits.DEFER_ROLES,
}


def may(user: Any, step: Step) -> bool:
    if step == Step.REBOOK:
        return can(user, Capability.CALENDAR)
    return bool(roles_of(user) & STEP_ROLES[step])


def _require(user: Any, step: Step) -> None:
    if not may(user, step):
        raise PermissionDenied


# --- Day sheet -----------------------------------------------------------------------------------


class CheckInDone(enum.StrEnum):
    NOT_NEEDED = "not_needed"
    NOT_STARTED = "not_started"
    STARTED = "started"
    SENT = "sent"


class Escort(enum.StrEnum):
    NOT_NEEDED = "not_needed"
    CONFIRMED = "confirmed"
    ON_FILE = "on_file"
    MISSING = "missing"


@dataclass(frozen=True)
class DayRow:
    appointment: Appointment
    visit: Visit | None
    clearance: ClearanceStatus | None
    check_in: CheckInDone
    escort: Escort
    escort_name: str


def _escort(appointment: Appointment, visit: Visit | None) -> tuple[Escort, str]:
    if not appointment.appointment_type.needs_clearance:
        return Escort.NOT_NEEDED, ""
    if visit is not None and visit.escort_confirmed_at is not None:
        return Escort.CONFIRMED, visit.escort_name
    if appointment.patient.escort_name:
        return Escort.ON_FILE, appointment.patient.escort_name
    return Escort.MISSING, ""


def _check_ins(appointments: list[Appointment]) -> dict[int, CheckInDone]:
    ids = [a.pk for a in appointments if a.appointment_type.needs_clearance]
    states = dict.fromkeys(ids, CheckInDone.NOT_STARTED)
    if ids:
        links = PreInfusionCheckIn.objects.filter(appointment_id__in=ids).values_list(
            "appointment_id", "submission__status"
        )
        for appointment_id, status in links:
            states[appointment_id] = (
                CheckInDone.SENT if status == SubmissionStatus.SUBMITTED else CheckInDone.STARTED
            )
    return states


def day_rows(day: dt.date) -> list[DayRow]:
    """Every appointment on the clinic-local `day` with its badges, in four queries."""
    span = utc_range(day, day, clinic_tz())
    appointments = list(
        Appointment.objects.filter(start__gte=span.start, start__lt=span.end)
        .select_related("patient", "appointment_type", "room", "clinician", "visit")
        .order_by("start", "room__name")
    )
    visits_by_id = {
        v.appointment_id: v for a in appointments if (v := getattr(a, "visit", None)) is not None
    }
    clearances = clearance_statuses({a.patient_id for a in appointments}, today=day)
    check_ins = _check_ins(appointments)
    rows = []
    for appointment in appointments:
        visit = visits_by_id.get(appointment.pk)
        escort, escort_name = _escort(appointment, visit)
        rows.append(
            DayRow(
                appointment=appointment,
                visit=visit,
                clearance=clearances.get(appointment.patient_id),
                check_in=check_ins.get(appointment.pk, CheckInDone.NOT_NEEDED),
                escort=escort,
                escort_name=escort_name,
            )
        )
    return rows


@staff_required(Capability.CALENDAR)
def day_sheet(request: HttpRequest) -> HttpResponse:
    form = DayForm(request.GET or None)
    day = (form.is_valid() and form.cleaned_data["date"]) or clinic_today()
    query = urlencode({"date": day.isoformat()})
    context = {
        "form": form,
        "day": day,
        "rows": day_rows(day),
        "refresh_url": f"{reverse('scheduling:day_sheet')}?{query}",
        "refreshed_at": timezone.now().astimezone(clinic_tz()),
    }
    return _partial_or_page(
        request,
        "scheduling/day/sheet.html",
        "scheduling/day/_table.html",
        context,
        status=400 if form.errors else 200,
    )


# --- Visit screen --------------------------------------------------------------------------------


def _appointment_for(user: Any, appointment_id: int) -> Appointment:
    """The appointment, for a user the view's capability check has let in; 404 if it does not
    exist. Every calendar role sees every visit; what they may do is decided per step."""
    return get_object_or_404(
        Appointment.objects.select_related(
            "patient", "appointment_type", "room", "clinician", "visit"
        ),
        pk=appointment_id,
    )


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    title: str
    detail: str = ""
    by: Any = None
    outcome: str = ""


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else (_("yes") if value else _("no"))


def _reading_events(readings: list[VitalReading]) -> list[Event]:
    """Each reading with its own assessment (the gate itself counts the lower of a repeat pair and
    shows as the visit's outcome badge)."""
    thresholds = visits.thresholds_from_settings()
    labels = dict(vitals.SYMPTOMS)
    events = []
    for reading in readings:
        assessment = vitals.assess(reading, thresholds)
        detail = _("%(bp)s mmHg, heart rate %(hr)s, SpO₂ %(spo2)s%%") % {
            "bp": f"{reading.systolic}/{reading.diastolic}",
            "hr": reading.heart_rate,
            "spo2": reading.spo2,
        }
        if reading.weight_lb:
            detail += _(", weight %(weight)s lb") % {"weight": reading.weight_lb}
        if reading.symptoms:
            detail += " · " + ", ".join(str(labels.get(s, s)) for s in reading.symptoms)
        if assessment.reasons:
            detail += " · " + " ".join(str(r) for r in assessment.reasons)
        events.append(
            Event(
                reading.taken_at,
                _("Reading (%(phase)s)") % {"phase": ReadingPhase(reading.phase).label.lower()},
                detail,
                reading.taken_by,
                str(GateOutcome(assessment.outcome).label),
            )
        )
    return events


def timeline(visit: Visit | None, readings: list[VitalReading]) -> list[Event]:
    """What happened on the day, oldest first."""
    if visit is None:
        return []
    events = []
    if visit.identity_confirmed_at:
        detail = _(
            "Escort: %(escort)s · alcohol or drugs: %(alcohol)s · ate as instructed: %(food)s · "
            "new medicines: %(meds)s"
        ) % {
            "escort": " ".join(filter(None, [visit.escort_name, str(visit.escort_phone or "")]))
            or "—",
            "alcohol": _yes_no(visit.alcohol_or_drugs),
            "food": _yes_no(visit.food_as_instructed),
            "meds": _yes_no(visit.new_medicines),
        }
        if visit.new_medicines_detail:
            detail += f" ({visit.new_medicines_detail})"
        events.append(
            Event(
                visit.identity_confirmed_at,
                _("Arrived and checked in"),
                detail,
                visit.identity_confirmed_by,
            )
        )
    events.extend(_reading_events(readings))
    if visit.signed_off_at:
        events.append(
            Event(visit.signed_off_at, _("Signed off"), visit.gate_note, visit.signed_off_by)
        )
    if visit.started_at:
        events.append(Event(visit.started_at, _("Infusion started"), by=visit.started_by))
    if visit.ended_at:
        events.append(Event(visit.ended_at, _("Infusion ended")))
    if visit.discharged_at:
        events.append(Event(visit.discharged_at, _("Discharged"), by=visit.discharged_by))
    if visit.deferred_at:
        events.append(Event(visit.deferred_at, _("Deferred"), visit.deferred_reason))
    if visit.gate_outcome and not visit.deferred_at:
        first = next((r for r in readings if r.phase == ReadingPhase.BEFORE), None)
        if first is not None:
            events.append(
                Event(
                    first.taken_at,
                    _("Gate decided"),
                    outcome=str(GateOutcome(visit.gate_outcome).label),
                )
            )
    return sorted(events, key=lambda e: e.at)


def _check_in_initial(appointment: Appointment, visit: Visit | None) -> dict[str, Any]:
    """Escort from the visit or the patient's file; alcohol and medicines from the patient's
    pre-infusion check-in when they sent it (front desk still asks them again)."""
    patient = appointment.patient
    initial: dict[str, Any] = {
        "escort_name": (visit and visit.escort_name) or patient.escort_name,
        "escort_phone": (visit and visit.escort_phone) or patient.escort_phone,
    }
    # The service's own reading of the round, so the form offers exactly what the service would
    # accept: the alcohol answer only when sent within CHECK_IN_ABSTINENCE_HOURS.
    answers = visits.check_in_answers(appointment, timezone.now())
    for key in ("alcohol_or_drugs", "new_medicines"):
        if key in answers:
            initial[key] = YES if answers[key] else NO
    if answers.get("new_medicines"):
        initial["new_medicines_detail"] = answers.get("new_medicines_detail", "")
    return initial


@dataclass(frozen=True)
class Stage:
    """Which forms the visit's state allows, before asking who is signed in."""

    checked_in: bool
    closed: bool  # deferred, discharged, cancelled, no-show or completed
    started: bool
    ended: bool

    @classmethod
    def of(cls, appointment: Appointment, visit: Visit | None) -> Stage:
        closed = appointment.status not in OPEN_STATUSES or bool(
            visit and (visit.deferred_at or visit.discharged_at)
        )
        return cls(
            checked_in=bool(visit and visit.identity_confirmed_at),
            closed=closed,
            started=bool(visit and visit.started_at),
            ended=bool(visit and visit.ended_at),
        )

    @property
    def reading_phase(self) -> str:
        if not self.started:
            return ReadingPhase.BEFORE
        return ReadingPhase.DISCHARGE if self.ended else ReadingPhase.DURING


def _visit_context(
    request: HttpRequest, appointment: Appointment, **forms_given: forms.Form | None
) -> dict[str, Any]:
    visit = getattr(appointment, "visit", None)
    readings = (
        list(visit.readings.select_related("taken_by").order_by("taken_at", "id")) if visit else []
    )
    stage = Stage.of(appointment, visit)
    now = timezone.now()
    front_desk = may(request.user, Step.CHECK_IN)
    clinician = may(request.user, Step.CLINICAL)
    # Which forms show follows the lifecycle table (scheduling.lifecycle): the same actions the
    # calendar offers this user, each form where its action is done.
    actions = visits.offered_actions(appointment, visit, user=request.user, now=now)
    offered = {item.action: item for item in actions}
    shown: dict[str, Any] = {"visit_actions": actions}
    if Action.CHECK_IN in offered:
        shown["check_in_form"] = CheckInForm(
            initial=_check_in_initial(appointment, visit),
            patient_answers=visits.check_in_answers(appointment, now),
        )
    if Action.DEFER in offered:
        reason = _defer_reason(visit) if visit is not None else ""
        shown["defer_form"] = DeferForm(initial={"reason": reason})
    repeat_at = None
    if clinician and visit is not None:
        if Action.RECORD_VITALS in offered and (stage.started or not visit.gate_outcome):
            shown["vitals_form"] = VitalsForm()
            if not stage.started:
                repeat_at = _repeat_due(readings)
        if (
            Action.SIGN_OFF in offered
            and visit.gate_outcome == GateOutcome.SIGN_OFF
            and not visit.signed_off_at
        ):
            shown["sign_off_form"] = SignOffForm()
        if Action.START in offered:
            shown["start_reasons"] = [m.message for m in offered[Action.START].missing]
        if Action.END_INFUSION in offered and not stage.ended:
            shown["end_button"] = True
        if Action.COMPLETE in offered and stage.ended:
            shown["discharge_form"] = DischargeForm()
    # A bound form that failed keeps its input and errors in place of the empty one.
    shown.update({k: v for k, v in forms_given.items() if v is not None})
    deferred = appointment.status == AppointmentStatus.DEFERRED
    options: list[RebookChoice] = []
    if deferred and may(request.user, Step.REBOOK):
        options = _rebooking_options(appointment.pk, now=now)
    return {
        "appointment": appointment,
        "visit": visit,
        "events": timeline(visit, readings),
        **items_context(appointment, visit, request.user, now),
        "stage": stage,
        "clearance": clearance_status(appointment.patient_id, today=clinic_today()),
        "is_front_desk": front_desk,
        "is_clinician": clinician,
        "may_rebook": may(request.user, Step.REBOOK),
        "emergency": bool(visit and visit.gate_outcome == GateOutcome.EMERGENCY),
        "deferred": deferred,
        "next_step": visits.next_step_for(visit) if deferred and visit else "",
        "rebooking_options": options,
        "rebook_form": forms_given.get("rebook_form") or RebookForm(),
        "repeat_at": repeat_at,
        "reading_phase": ReadingPhase(stage.reading_phase).label,
        **shown,
    }


def _repeat_due(readings: list[VitalReading]) -> dt.datetime | None:
    """When the repeat pre-infusion reading may be taken. Called only while the gate is open: one
    reading and no outcome means the first crossed a flag line and visit_record_vitals waits for
    the repeat."""
    before = [r for r in readings if r.phase == ReadingPhase.BEFORE]
    if len(before) != 1:
        return None
    return before[0].taken_at + dt.timedelta(minutes=settings.VITALS_REPEAT_MINUTES)


def _defer_reason(visit: Visit) -> str:
    """The gate's reasons, offered as the deferral reason when the readings say defer."""
    if visit.gate_outcome not in (GateOutcome.DEFER, GateOutcome.EMERGENCY):
        return ""
    assessment = visits.gate_assessment(visit)
    return " ".join(str(r) for r in assessment.reasons) if assessment else ""


@dataclass(frozen=True)
class RebookChoice:
    start: dt.datetime
    value: str
    label: str


def _when(at: dt.datetime) -> str:
    local = at.astimezone(clinic_tz())
    return f"{formats.date_format(local, 'l, F j')}, {formats.time_format(local, 'g:i A')}"


def _rebooking_options(appointment_id: int, *, now: dt.datetime) -> list[RebookChoice]:
    tz = clinic_tz()
    choices = []
    for option in visits.rebooking_options(appointment_id, now=now):
        start = option.astimezone(tz)
        choices.append(RebookChoice(start, start.strftime("%Y-%m-%dT%H:%M:%S%z"), _when(start)))
    return choices


def _render_visit(
    request: HttpRequest, appointment: Appointment, *, status: int = 200, **forms_given: Any
) -> HttpResponse:
    context = _visit_context(request, appointment, **forms_given)
    return render(request, "scheduling/day/visit.html", context, status=status)


@staff_required(Capability.CALENDAR)
def visit_page(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment_for(request.user, appointment_id)
    return _render_visit(request, appointment)


# --- Steps (each POST: role, form, one service, PRG) ---------------------------------------------


def _step(
    request: HttpRequest,
    appointment_id: int,
    *,
    step: Step,
    form_class: Callable[[Any], forms.Form] | None,
    form_key: str,
    act: Callable[[Appointment, dict[str, Any]], str],
) -> HttpResponse:
    """Check the role, bind the form, call the service through `act` (which returns the success
    message), and redirect back to the visit; a domain error becomes a form error (409)."""
    appointment = _appointment_for(request.user, appointment_id)
    _require(request.user, step)
    form = form_class(request.POST) if form_class is not None else None
    if form is not None and not form.is_valid():
        return _render_visit(request, appointment, status=400, **{form_key: form})
    try:
        message = act(appointment, form.cleaned_data if form is not None else {})
    except DomainErrors as error:
        fresh = _appointment_for(request.user, appointment_id)
        # A lifecycle refusal lists each missing step with a link to where it is done.
        missing = getattr(error, "missing", None)
        if form is None:
            if missing is None:
                messages.error(request, error.message)
            return _render_visit(request, fresh, status=409, lifecycle_error=missing)
        form.add_error(None, error.message)
        return _render_visit(
            request, fresh, status=409, lifecycle_error=missing, **{form_key: form}
        )
    messages.success(request, message)
    return redirect("scheduling:visit", appointment_id=appointment_id)


@require_POST
@staff_required(Capability.CALENDAR)
def visit_check_in(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def act(appointment: Appointment, data: dict[str, Any]) -> str:
        visits.visit_check_in(
            appointment_id=appointment.pk,
            actor=request.user,
            identity_confirmed=data["identity_confirmed"],
            escort_name=data["escort_name"],
            escort_phone=str(data["escort_phone"] or ""),
            alcohol_or_drugs=data["alcohol_or_drugs"],
            food_as_instructed=data["food_as_instructed"],
            new_medicines=data["new_medicines"],
            new_medicines_detail=data["new_medicines_detail"],
            request=request,
        )
        appointment.refresh_from_db(fields=["status"])
        if appointment.status == AppointmentStatus.DEFERRED:
            return _("The visit was deferred: the patient cannot be treated today.")
        return _("%(patient)s is checked in.") % {"patient": appointment.patient}

    return _step(
        request,
        appointment_id,
        step=Step.CHECK_IN,
        form_class=lambda data: CheckInForm(
            data,
            patient_answers=visits.check_in_answers(
                _appointment_for(request.user, appointment_id), timezone.now()
            ),
        ),
        form_key="check_in_form",
        act=act,
    )


@require_POST
@staff_required(Capability.CALENDAR)
def visit_vitals(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def act(appointment: Appointment, data: dict[str, Any]) -> str:
        visit = getattr(appointment, "visit", None)
        stage = Stage.of(appointment, visit)
        _reading, assessment, needs_repeat = visits.visit_record_vitals(
            appointment_id=appointment.pk,
            actor=request.user,
            systolic=data["systolic"],
            diastolic=data["diastolic"],
            heart_rate=data["heart_rate"],
            spo2=data["spo2"],
            weight_lb=data["weight_lb"],
            symptoms=tuple(data["symptoms"]),
            phase=stage.reading_phase,
            request=request,
        )
        message = _("Reading recorded: %(outcome)s.") % {
            "outcome": GateOutcome(assessment.outcome).label
        }
        if needs_repeat:
            message += " " + _("Repeat the blood pressure after five minutes' rest.")
        return message

    return _step(
        request,
        appointment_id,
        step=Step.CLINICAL,
        form_class=VitalsForm,
        form_key="vitals_form",
        act=act,
    )


@require_POST
@staff_required(Capability.CALENDAR)
def visit_sign_off(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def act(appointment: Appointment, data: dict[str, Any]) -> str:
        visits.visit_sign_off(
            appointment_id=appointment.pk, actor=request.user, note=data["note"], request=request
        )
        return _("Signed off: the infusion may start.")

    return _step(
        request,
        appointment_id,
        step=Step.CLINICAL,
        form_class=SignOffForm,
        form_key="sign_off_form",
        act=act,
    )


@require_POST
@staff_required(Capability.CALENDAR)
def visit_start(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def act(appointment: Appointment, data: dict[str, Any]) -> str:
        visits.visit_start(appointment_id=appointment.pk, actor=request.user, request=request)
        return _("Infusion started.")

    return _step(request, appointment_id, step=Step.CLINICAL, form_class=None, form_key="", act=act)


@require_POST
@staff_required(Capability.CALENDAR)
def visit_end(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def act(appointment: Appointment, data: dict[str, Any]) -> str:
        visits.visit_end_infusion(
            appointment_id=appointment.pk, actor=request.user, request=request
        )
        return _("Infusion ended. Record a reading and the discharge checklist before they leave.")

    return _step(request, appointment_id, step=Step.CLINICAL, form_class=None, form_key="", act=act)


@require_POST
@staff_required(Capability.CALENDAR)
def visit_discharge(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def act(appointment: Appointment, data: dict[str, Any]) -> str:
        visits.visit_discharge(
            appointment_id=appointment.pk,
            actor=request.user,
            alert=data["alert"],
            vitals_near_baseline=data["vitals_near_baseline"],
            escort_present=data["escort_present"],
            request=request,
        )
        return _("%(patient)s is discharged.") % {"patient": appointment.patient}

    return _step(
        request,
        appointment_id,
        step=Step.CLINICAL,
        form_class=DischargeForm,
        form_key="discharge_form",
        act=act,
    )


@require_POST
@staff_required(Capability.CALENDAR)
def visit_defer(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def act(appointment: Appointment, data: dict[str, Any]) -> str:
        visits.visit_defer(
            appointment_id=appointment.pk,
            actor=request.user,
            reason=data["reason"],
            request=request,
        )
        return _("The visit was deferred. Offer the patient one of the times below.")

    return _step(
        request,
        appointment_id,
        step=Step.DEFER,
        form_class=DeferForm,
        form_key="defer_form",
        act=act,
    )


@require_POST
@staff_required(Capability.CALENDAR)
def visit_rebook(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Book the deferred visit's patient into the same type at a start rebooking_options offered;
    appointment_book re-checks everything (spacing, clearance, overlaps)."""
    appointment = _appointment_for(request.user, appointment_id)
    _require(request.user, Step.REBOOK)
    form = RebookForm(request.POST)
    if not form.is_valid():
        return _render_visit(request, appointment, status=400, rebook_form=form)
    try:
        new = booking.appointment_book(
            patient_id=appointment.patient_id,
            appointment_type_id=appointment.appointment_type_id,
            start=form.cleaned_data["start"],
            via=BookedVia.STAFF,
            actor=request.user,
            request=request,
            course_id=appointment.course_id,
        )
    except DomainErrors as error:
        form.add_error(None, error.message)
        return _render_visit(request, appointment, status=409, rebook_form=form)
    messages.success(request, _("Rebooked for %(when)s.") % {"when": _when(new.start)})
    return redirect("scheduling:appointment", appointment_id=new.pk)
