"""The visit screen and its steps: front desk checks a patient in, a clinician takes them through
the vital-signs gate, the infusion and discharge, or defers the visit and rebooks it.

Access: every page needs Capability.CALENDAR. Each step then belongs to one role
(scheduling.visits.screen.Step): check-in is front desk's; vitals, sign-off, start, end, discharge
and defer are the clinician's. The view refuses the wrong role with 403 and the service in
scheduling.visits checks again (scheduling.visits.ARRIVAL_ROLES, CLINICAL_ROLES). Admins may act as
front desk (check in) because the service allows it and small clinics need cover at the desk; they
never see the clinical forms. Rebooking a deferred visit is ordinary staff booking
(appointment_book), open to every calendar role.

Each step is a POST that checks the role, binds its form, calls one service (an `_act_*` function
returning the success message) and redirects back to the visit; what the screen shows is built in
scheduling.visits.screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from propel import formatting
from propel.roles import Capability, staff_required
from scheduling import booking, visits
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentStatus, BookedVia, GateOutcome
from scheduling.visits.forms import (
    CheckInForm,
    DeferForm,
    DischargeForm,
    RebookForm,
    SignOffForm,
    VitalsForm,
)
from scheduling.visits.screen import (
    Stage,
    Step,
    appointment_for,
    render_visit,
    require_step,
    when,
)

DomainErrors = (visits.VisitError, SchedulingError)

# An `_act_*` function calls one service for the step and returns the success message.
Act = Callable[[HttpRequest, Appointment, dict[str, Any]], str]


@staff_required(Capability.CALENDAR)
def visit_page(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for(request.user, appointment_id)
    return render_visit(request, appointment)


# Binds a step's form to the POST: (request, appointment_id) -> the bound form.
Bind = Callable[[HttpRequest, int], forms.Form]


def _step(
    request: HttpRequest,
    appointment_id: int,
    *,
    step: Step,
    bind: Bind | None,
    form_key: str,
    act: Act,
) -> HttpResponse:
    """Check the role, bind the form, call the service through `act` (which returns the success
    message), and redirect back to the visit; a domain error becomes a form error (409)."""
    appointment = appointment_for(request.user, appointment_id)
    require_step(request.user, step)
    form = bind(request, appointment_id) if bind is not None else None
    if form is not None and not form.is_valid():
        return render_visit(request, appointment, status=400, **{form_key: form})
    try:
        message = act(request, appointment, form.cleaned_data if form is not None else {})
    except DomainErrors as error:
        return _refused(request, appointment_id, error, form, form_key)
    messages.success(request, message)
    return redirect("scheduling:visit", appointment_id=appointment_id)


def _posted(form_class: type[forms.Form]) -> Bind:
    """`form_class` bound to the POST."""
    return lambda request, _appointment_id: form_class(request.POST)


def _step_view(
    step: Step, act: Act, *, bind: Bind | None = None, form_key: str = ""
) -> Callable[[HttpRequest, int], HttpResponse]:
    """The POST view of one step: `_step` with the step's role, form and service."""

    @require_POST
    @staff_required(Capability.CALENDAR)
    def view(request: HttpRequest, appointment_id: int) -> HttpResponse:
        return _step(request, appointment_id, step=step, bind=bind, form_key=form_key, act=act)

    return view


def _refused(
    request: HttpRequest,
    appointment_id: int,
    error: SchedulingError,
    form: forms.Form | None,
    form_key: str,
) -> HttpResponse:
    """The visit screen again (409) with the service's refusal: on the form when the step has
    one, else as a message."""
    fresh = appointment_for(request.user, appointment_id)
    # A lifecycle refusal lists each missing step with a link to where it is done.
    missing = getattr(error, "missing", None)
    if form is None:
        if missing is None:
            messages.error(request, error.message)
        return render_visit(request, fresh, status=409, lifecycle_error=missing)
    form.add_error(None, error.message)
    return render_visit(request, fresh, status=409, lifecycle_error=missing, **{form_key: form})


# --- Steps (each POST: role, form, one service, PRG) ---------------------------------------------


def _act_check_in(request: HttpRequest, appointment: Appointment, data: dict[str, Any]) -> str:
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


def _bind_check_in(request: HttpRequest, appointment_id: int) -> CheckInForm:
    """CheckInForm bound to the POST, knowing the patient's own answers."""
    appointment = appointment_for(request.user, appointment_id)
    answers = visits.check_in_answers(appointment, timezone.now())
    return CheckInForm(request.POST, patient_answers=answers)


def _act_vitals(request: HttpRequest, appointment: Appointment, data: dict[str, Any]) -> str:
    stage = Stage.of(appointment, getattr(appointment, "visit", None))
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


def _act_sign_off(request: HttpRequest, appointment: Appointment, data: dict[str, Any]) -> str:
    visits.visit_sign_off(
        appointment_id=appointment.pk, actor=request.user, note=data["note"], request=request
    )
    return _("Signed off: the infusion may start.")


def _act_start(request: HttpRequest, appointment: Appointment, data: dict[str, Any]) -> str:
    visits.visit_start(appointment_id=appointment.pk, actor=request.user, request=request)
    return _("Infusion started.")


def _act_end(request: HttpRequest, appointment: Appointment, data: dict[str, Any]) -> str:
    visits.visit_end_infusion(appointment_id=appointment.pk, actor=request.user, request=request)
    return _("Infusion ended. Record a reading and the discharge checklist before they leave.")


def _act_discharge(request: HttpRequest, appointment: Appointment, data: dict[str, Any]) -> str:
    visits.visit_discharge(
        appointment_id=appointment.pk,
        actor=request.user,
        alert=data["alert"],
        vitals_near_baseline=data["vitals_near_baseline"],
        escort_present=data["escort_present"],
        request=request,
    )
    return _("%(patient)s is discharged.") % {"patient": appointment.patient}


def _act_defer(request: HttpRequest, appointment: Appointment, data: dict[str, Any]) -> str:
    visits.visit_defer(
        appointment_id=appointment.pk,
        actor=request.user,
        reason=data["reason"],
        request=request,
        notice_reason=data.get("notice_reason") or "",
    )
    return _("The visit was deferred. Offer the patient one of the times below.")


# --- The step views: the step's role, its form (bound to the POST, under its key) and service ---

visit_check_in = _step_view(
    Step.CHECK_IN, _act_check_in, bind=_bind_check_in, form_key="check_in_form"
)
visit_vitals = _step_view(
    Step.CLINICAL, _act_vitals, bind=_posted(VitalsForm), form_key="vitals_form"
)
visit_sign_off = _step_view(
    Step.CLINICAL, _act_sign_off, bind=_posted(SignOffForm), form_key="sign_off_form"
)
visit_start = _step_view(Step.CLINICAL, _act_start)
visit_end = _step_view(Step.CLINICAL, _act_end)
visit_discharge = _step_view(
    Step.CLINICAL, _act_discharge, bind=_posted(DischargeForm), form_key="discharge_form"
)
visit_defer = _step_view(Step.DEFER, _act_defer, bind=_posted(DeferForm), form_key="defer_form")


@require_POST
@staff_required(Capability.CALENDAR)
def visit_rebook(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Book the deferred visit's patient into the same type at a start rebooking_options offered;
    appointment_book re-checks everything (spacing, clearance, overlaps)."""
    appointment = appointment_for(request.user, appointment_id)
    require_step(request.user, Step.REBOOK)
    form = RebookForm(request.POST)
    if not form.is_valid():
        return render_visit(request, appointment, status=400, rebook_form=form)
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
        return render_visit(request, appointment, status=409, rebook_form=form)
    rebooked = _("Rebooked for %(when)s.") % {"when": when(new.start)}
    messages.success(request, formatting.end_sentence(rebooked))
    return redirect("scheduling:visit", appointment_id=appointment_id)
