"""The visit screen, read: who may do which step, what happened on the day (the timeline), which
forms the visit's state and the lifecycle table offer this user, and the rebooking choices after a
deferral. The views in scheduling.visits.visit_views (and item_views) render it with
`render_visit`.

Each step belongs to one role (the issue: "front desk and clinician may do only their own steps"):
check-in is front desk's; vitals, sign-off, start, end, discharge and defer are the clinician's
(`Step`, `may`). The role sets are the ones the services check, so the page never offers a form
the service refuses.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.clearance import clearance_status
from propel import formatting
from propel.roles import Capability, can, roles_of
from scheduling import visits, vitals
from scheduling.audit import audit_shown
from scheduling.lifecycle import Action
from scheduling.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    GateOutcome,
    ReadingPhase,
    Visit,
    VitalReading,
)
from scheduling.slots import clinic_today, clinic_tz
from scheduling.transitions import offered_actions, paperwork_missing
from scheduling.visits.forms import (
    NO,
    YES,
    CheckInForm,
    DeferForm,
    DischargeForm,
    RebookForm,
    SignOffForm,
    VitalsForm,
)
from scheduling.visits.items import items_context

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


def require_step(user: Any, step: Step) -> None:
    if not may(user, step):
        raise PermissionDenied


# --- The visit screen ---------------------------------------------------------------------------


def appointment_for(user: Any, appointment_id: int) -> Appointment:
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


def visit_context(
    request: HttpRequest, appointment: Appointment, **forms_given: forms.Form | None
) -> dict[str, Any]:
    """Everything visit.html needs. A bound form in `forms_given` that failed keeps its input and
    errors in place of the empty one."""
    user = request.user
    visit = getattr(appointment, "visit", None)
    readings = (
        list(visit.readings.select_related("taken_by").order_by("taken_at", "id")) if visit else []
    )
    stage = Stage.of(appointment, visit)
    now = timezone.now()
    clinician = may(user, Step.CLINICAL)
    shown, repeat_at = _offered_forms(user, appointment, visit, stage, readings, now, clinician)
    shown.update({k: v for k, v in forms_given.items() if v is not None})
    return {
        "appointment": appointment,
        "visit": visit,
        "events": timeline(visit, readings),
        **items_context(appointment, visit, user, now),
        "stage": stage,
        "clearance": clearance_status(appointment.patient_id, today=clinic_today()),
        "paperwork": (
            paperwork_missing(appointment, now=now)
            if appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
            else []
        ),
        "is_front_desk": may(user, Step.CHECK_IN),
        "is_clinician": clinician,
        "emergency": bool(visit and visit.gate_outcome == GateOutcome.EMERGENCY),
        **_deferral_context(user, appointment, visit, now),
        "rebook_form": forms_given.get("rebook_form") or RebookForm(),
        "repeat_at": repeat_at,
        "reading_phase": ReadingPhase(stage.reading_phase).label,
        **shown,
    }


def _offered_forms(
    user: Any,
    appointment: Appointment,
    visit: Visit | None,
    stage: Stage,
    readings: list[VitalReading],
    now: dt.datetime,
    clinician: bool,
) -> tuple[dict[str, Any], dt.datetime | None]:
    """The forms this user is offered, and when the repeat reading is due (or None). Which forms
    show follows the lifecycle table (scheduling.lifecycle): the same actions the calendar offers
    this user, each form where its action is done."""
    actions = offered_actions(appointment, visit, user=user, now=now)
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
    if not (clinician and visit is not None):
        return shown, None
    clinical, repeat_at = _clinical_forms(offered, visit, stage, readings)
    return {**shown, **clinical}, repeat_at


def _clinical_forms(
    offered: dict[Action, Any], visit: Visit, stage: Stage, readings: list[VitalReading]
) -> tuple[dict[str, Any], dt.datetime | None]:
    """The clinician's forms the visit's stage allows among the offered actions."""
    shown: dict[str, Any] = {}
    repeat_at = None
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
    return shown, repeat_at


def _deferral_context(
    user: Any, appointment: Appointment, visit: Visit | None, now: dt.datetime
) -> dict[str, Any]:
    deferred = appointment.status == AppointmentStatus.DEFERRED
    options: list[RebookChoice] = []
    if deferred and may(user, Step.REBOOK):
        options = rebooking_choices(appointment.pk, now=now)
    return {
        "may_rebook": may(user, Step.REBOOK),
        "deferred": deferred,
        "next_step": visits.next_step_for(visit) if deferred and visit else "",
        "rebooking_options": options,
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


def when(at: dt.datetime) -> str:
    local = at.astimezone(clinic_tz())
    return formatting.local_datetime(local)


def rebooking_choices(appointment_id: int, *, now: dt.datetime) -> list[RebookChoice]:
    tz = clinic_tz()
    choices = []
    for option in visits.rebooking_options(appointment_id, now=now):
        start = option.astimezone(tz)
        choices.append(RebookChoice(start, start.strftime("%Y-%m-%dT%H:%M:%S%z"), when(start)))
    return choices


def render_visit(
    request: HttpRequest, appointment: Appointment, *, status: int = 200, **forms_given: Any
) -> HttpResponse:
    context = visit_context(request, appointment, **forms_given)
    audit_shown(request, [appointment.patient_id])
    return render(request, "scheduling/day/visit.html", context, status=status)
