"""The day of a visit: arrival and check-in (front desk), the vital-signs gate, sign-off, the
infusion timeline and discharge (clinicians), and deferral with rebooking options.

Every service checks the actor's role itself (a view that forgets is still safe), runs in its own
transaction, locks the Visit row (so two clinicians acting on one visit take turns), claims state
changes with conditional updates, and writes one "visit.*" audit event naming the patient. Status
changes of the appointment go through scheduling.booking.appointment_transition. Errors are
SchedulingError (the app's one domain error; `VisitError` is the same class) with visit_* codes.

Clinician alerts (emergency pathway, a reading past a hard-stop line during the infusion) are
emailed to CLINICIAN_ALERT_EMAILS after commit. The email says only that a patient in the clinic
needs a clinician now, and links to the visit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from phonenumber_field.phonenumber import to_python as to_phone

from intake.clearance import clearance_refusal, clearance_status, clinic_date, has_valid_clearance
from intake.models import CrisisAlert, Flag, Patient, Severity
from propel.audit import audit_record
from propel.emails import send_email
from propel.roles import Role, roles_of
from scheduling.booking import appointment_transition
from scheduling.course_planner import course_problems
from scheduling.courses import course_complete_if_done, rules_from_settings
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    GateOutcome,
    PreInfusionCheckIn,
    ReadingPhase,
    Visit,
    VitalReading,
)
from scheduling.slots import clinic_tz, find_slots
from scheduling.vitals import (
    SYMPTOM_CODES,
    Assessment,
    VitalThresholds,
    assess,
    counted,
    during_alert,
    implausible,
    needs_repeat,
)

logger = logging.getLogger(__name__)

VisitError = SchedulingError

ARRIVAL_ROLES = frozenset({Role.FRONT_DESK, Role.ADMIN})
CLINICAL_ROLES = frozenset({Role.CLINICIAN})

REBOOK_DAYS = 14
REBOOK_OPTIONS = 5

BP_NEXT_STEP = gettext_lazy(
    "Please see your primary care doctor about your blood pressure before your next visit."
)


@dataclasses.dataclass(frozen=True)
class Deferral:
    """What visit_defer returns: the visit, up to REBOOK_OPTIONS free starts that keep the course
    rules, and the next step to tell the patient ("" when there is nothing particular)."""

    visit: Visit
    options: list[dt.datetime]
    next_step: str


def thresholds_from_settings() -> VitalThresholds:
    return VitalThresholds(
        note_systolic=settings.VITALS_NOTE_SYSTOLIC,
        note_diastolic=settings.VITALS_NOTE_DIASTOLIC,
        sign_off_systolic=settings.VITALS_SIGN_OFF_SYSTOLIC,
        sign_off_diastolic=settings.VITALS_SIGN_OFF_DIASTOLIC,
        defer_above_systolic=settings.VITALS_DEFER_ABOVE_SYSTOLIC,
        defer_above_diastolic=settings.VITALS_DEFER_ABOVE_DIASTOLIC,
        hr_defer_below=settings.VITALS_HR_DEFER_BELOW,
        hr_defer_above=settings.VITALS_HR_DEFER_ABOVE,
        hr_sign_off_from=settings.VITALS_HR_SIGN_OFF_FROM,
        spo2_sign_off_below=settings.VITALS_SPO2_SIGN_OFF_BELOW,
        spo2_defer_below=settings.VITALS_SPO2_DEFER_BELOW,
    )


def _require(actor: Any, roles: Iterable[Role]) -> None:
    if not roles_of(actor) & frozenset(roles):
        raise SchedulingError("visit_forbidden")


def visit_for(appointment_id: int) -> Visit:
    """The appointment's Visit, created the first time (safe against two callers at once: the
    one-to-one constraint decides, get_or_create re-reads)."""
    if not Appointment.objects.filter(pk=appointment_id).exists():
        raise SchedulingError("not_found")
    visit, _created = Visit.objects.get_or_create(appointment_id=appointment_id)
    return visit


def _locked_visit(appointment_id: int) -> Visit:
    """The visit row locked for this transaction, with its appointment and type loaded."""
    visit_for(appointment_id)
    return (
        Visit.objects.select_for_update(of=("self",))
        .select_related("appointment__appointment_type")
        .get(appointment_id=appointment_id)
    )


def _status_label(status: str) -> str:
    return str(AppointmentStatus(status).label).lower()


def _visit_url(appointment_id: int) -> str:
    try:
        path = reverse("scheduling:visit", args=[appointment_id])
    except NoReverseMatch:  # the visit screen is not wired yet: the appointment page links to it
        path = reverse("scheduling:appointment", args=[appointment_id])
    return f"{settings.SITE_URL}{path}"


def _alert_after_commit(visit: Visit, *, reason: str) -> None:
    appointment_id, patient_id, visit_id = (
        visit.appointment_id,
        visit.appointment.patient_id,
        visit.pk,
    )

    def send() -> None:
        recipients = list(settings.CLINICIAN_ALERT_EMAILS)
        if not recipients:
            logger.error("visit %s: CLINICIAN_ALERT_EMAILS is empty; nobody was told", visit_id)
            audit_record(
                action="visit.alert_failed",
                patient_id=patient_id,
                obj=visit,
                detail={"error": "no recipients", "reason": reason},
            )
            return
        try:
            send_email(
                name="vitals_alert",
                to=recipients,
                context={"visit_url": _visit_url(appointment_id)},
            )
        except Exception as error:
            # The reading is saved; the clinician on the floor still sees the alert on screen.
            # Record the failure where staff can see it rather than failing the request.
            logger.exception("visit %s: clinician alert could not be emailed", visit_id)
            audit_record(
                action="visit.alert_failed",
                patient_id=patient_id,
                obj=visit,
                detail={"error": type(error).__name__, "reason": reason},
            )
            return
        audit_record(
            action="visit.alert_sent",
            patient_id=patient_id,
            obj=visit,
            detail={"recipients": len(recipients), "reason": reason},
        )

    transaction.on_commit(send)


# --- Arrival ------------------------------------------------------------------------------------


def _yes_no(value: object) -> bool | None:
    return {"yes": True, "no": False}.get(str(value)) if value is not None else None


def check_in_answers(appointment: Appointment, now: dt.datetime) -> dict[str, Any]:
    """Day-of answers the patient already gave in this visit's submitted check-in round.

    new_medicines asks "since your last visit", so any submitted round answers it. The alcohol
    question (A13) asks about the CHECK_IN_ABSTINENCE_HOURS before the patient answered; it stands
    for today only when the round was sent within that many hours of now (check_ins.py: an early
    "no" does not replace the day-of check).
    """
    link = (
        PreInfusionCheckIn.objects.select_related("submission")
        .filter(appointment=appointment, submission__status="submitted")
        .first()
    )
    if link is None:
        return {}
    answers = link.submission.answers or {}
    found: dict[str, Any] = {}
    if (new_medicines := _yes_no(answers.get("new_medicines"))) is not None:
        found["new_medicines"] = new_medicines
        found["new_medicines_detail"] = str(answers.get("new_medicines_detail") or "")[:500]
    sent = link.submission.submitted_at
    fresh = sent is not None and now - sent <= dt.timedelta(
        hours=settings.CHECK_IN_ABSTINENCE_HOURS
    )
    if fresh and (alcohol := _yes_no(answers.get("alcohol_or_drugs_recent"))) is not None:
        found["alcohol_or_drugs"] = alcohol
    return found


def visit_check_in(
    *,
    appointment_id: int,
    actor: Any,
    identity_confirmed: bool,
    escort_name: str = "",
    escort_phone: str = "",
    alcohol_or_drugs: bool | None = None,
    food_as_instructed: bool | None = None,
    new_medicines: bool | None = None,
    new_medicines_detail: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Check a booked patient in (front desk or admin), or defer the visit for A13.

    Identity must be confirmed. Treatment visits (types needing clearance) need the escort's name
    and a valid phone number, saved on the visit and on the patient; and answers to the day-of
    questions. An answer left None is taken from the patient's submitted check-in round when it
    has one (see check_in_answers), else SchedulingError("visit_answer_needed"). Alcohol or drugs
    within the window defers the appointment (reference A13: hard stop for the day, reschedule)
    and the visit is returned with appointment.status DEFERRED; otherwise the appointment moves to
    CHECKED_IN. Consultations need only the identity check.
    """
    _require(actor, ARRIVAL_ROLES)
    now = now or timezone.now()
    escort_name = (escort_name or "").strip()
    phone = to_phone(escort_phone.strip()) if escort_phone and escort_phone.strip() else None
    with transaction.atomic():
        visit = _locked_visit(appointment_id)
        appointment = visit.appointment
        if appointment.status != AppointmentStatus.BOOKED:
            raise SchedulingError("visit_not_booked", status=_status_label(appointment.status))
        if not identity_confirmed:
            raise SchedulingError("visit_identity")
        treatment = appointment.appointment_type.needs_clearance
        if phone is not None and not phone.is_valid():
            raise SchedulingError("visit_escort_phone")
        if treatment and (not escort_name or phone is None):
            raise SchedulingError("visit_escort_needed")
        from_check_in = check_in_answers(appointment, now) if treatment else {}
        if alcohol_or_drugs is None:
            alcohol_or_drugs = from_check_in.get("alcohol_or_drugs")
        if new_medicines is None and "new_medicines" in from_check_in:
            new_medicines = from_check_in["new_medicines"]
            new_medicines_detail = new_medicines_detail or from_check_in["new_medicines_detail"]
        if treatment:
            questions = (
                (
                    alcohol_or_drugs,
                    _("Have you had any alcohol or recreational drugs in the last %(hours)d hours?")
                    % {"hours": settings.CHECK_IN_ABSTINENCE_HOURS},
                ),
                (food_as_instructed, _("Have you eaten and drunk only as instructed today?")),
                (new_medicines, _("Have you started, stopped or changed any medicine?")),
            )
            for answer, question in questions:
                if answer is None:
                    raise SchedulingError("visit_answer_needed", question=question)
        visit.identity_confirmed_at = now
        visit.identity_confirmed_by = actor
        visit.alcohol_or_drugs = alcohol_or_drugs
        visit.food_as_instructed = food_as_instructed
        visit.new_medicines = new_medicines
        visit.new_medicines_detail = (new_medicines_detail or "")[:500] if new_medicines else ""
        if escort_name or phone is not None:
            visit.escort_name = escort_name
            visit.escort_phone = phone or ""
            visit.escort_confirmed_at = now
            Patient.objects.filter(pk=appointment.patient_id).update(
                escort_name=escort_name, escort_phone=phone or "", updated_at=now
            )
        visit.save()
        if alcohol_or_drugs:
            _defer(
                visit,
                actor=actor,
                reason=_("Alcohol or recreational drugs before the visit (A13)."),
                code="a13",
                request=request,
                now=now,
            )
            return visit
        visit.appointment = appointment_transition(
            appointment_id=appointment.pk,
            to_status=AppointmentStatus.CHECKED_IN,
            actor=actor,
            request=request,
            now=now,
        )
        audit_record(
            action="visit.checked_in",
            actor=actor,
            request=request,
            patient_id=appointment.patient_id,
            obj=visit,
            detail={
                "escort": bool(visit.escort_name),
                "answers_from_check_in": sorted(from_check_in),
            },
        )
    return visit


# --- The vital-signs gate -----------------------------------------------------------------------


def _validate_reading(
    *,
    systolic: int,
    diastolic: int,
    heart_rate: int,
    spo2: int,
    weight_lb: int | None,
    symptoms: Iterable[str],
    phase: str,
) -> list[str]:
    if phase not in ReadingPhase.values:
        raise SchedulingError("visit_unknown_phase")
    values = {
        "systolic": systolic,
        "diastolic": diastolic,
        "heart_rate": heart_rate,
        "spo2": spo2,
        "weight_lb": weight_lb,
    }
    for field, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise SchedulingError("visit_implausible", fields=field.replace("_", " "))
    if bad := implausible(values):
        names = {
            "systolic": _("the systolic pressure"),
            "diastolic": _("the diastolic pressure"),
            "heart_rate": _("the heart rate"),
            "spo2": _("the oxygen saturation"),
            "weight_lb": _("the weight"),
        }
        raise SchedulingError("visit_implausible", fields=", ".join(names[f] for f in bad))
    codes = sorted(set(symptoms))
    if any(code not in SYMPTOM_CODES for code in codes):
        raise SchedulingError("visit_unknown_symptom")
    return codes


def gate_assessment(visit: Visit, t: VitalThresholds | None = None) -> Assessment | None:
    """The assessment the visit's pre-infusion readings add up to (the first alone, or the
    counted of the first two), or None before any reading."""
    t = t or thresholds_from_settings()
    before = list(visit.readings.filter(phase=ReadingPhase.BEFORE).order_by("taken_at", "id")[:2])
    if not before:
        return None
    if len(before) == 1:
        return assess(before[0], t)
    return assess(counted(before[0], before[1], t), t)


def visit_record_vitals(
    *,
    appointment_id: int,
    actor: Any,
    systolic: int,
    diastolic: int,
    heart_rate: int,
    spo2: int,
    weight_lb: int | None = None,
    symptoms: Iterable[str] = (),
    phase: str = ReadingPhase.BEFORE,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> tuple[VitalReading, Assessment, bool]:
    """Store one reading (clinician) and return it, its assessment, and whether a repeat is due.

    BEFORE (checked in, not started): the first reading decides the gate unless it needs a repeat
    (vitals.needs_repeat); then the repeat, taken no sooner than VITALS_REPEAT_MINUTES after it
    (earlier: SchedulingError("visit_repeat_too_soon")), decides with vitals.counted, and the
    assessment returned is the counted one. Once decided, no more BEFORE readings
    ("visit_gate_decided": the lower of two, not the best of many). The outcome is stored on
    visit.gate_outcome; EMERGENCY emails the clinician alert list after commit.
    DURING (started, not ended): stored; vitals.during_alert emails the same alert.
    DISCHARGE (started): stored only.
    """
    _require(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    symptom_codes = _validate_reading(
        systolic=systolic,
        diastolic=diastolic,
        heart_rate=heart_rate,
        spo2=spo2,
        weight_lb=weight_lb,
        symptoms=symptoms,
        phase=phase,
    )
    t = thresholds_from_settings()
    repeat_due = False
    with transaction.atomic():
        visit = _locked_visit(appointment_id)
        appointment = visit.appointment
        if appointment.status != AppointmentStatus.CHECKED_IN:
            raise SchedulingError("visit_not_checked_in")
        before = list(visit.readings.filter(phase=ReadingPhase.BEFORE).order_by("taken_at", "id"))
        if phase == ReadingPhase.BEFORE:
            if visit.started_at is not None:
                raise SchedulingError("visit_already_started")
            if visit.gate_outcome or len(before) >= 2:
                raise SchedulingError("visit_gate_decided")
            if before:
                due = before[0].taken_at + dt.timedelta(minutes=settings.VITALS_REPEAT_MINUTES)
                if now < due:
                    raise SchedulingError(
                        "visit_repeat_too_soon",
                        minutes=settings.VITALS_REPEAT_MINUTES,
                        when=formats.time_format(timezone.localtime(due), "g:i A"),
                    )
        elif visit.started_at is None:
            raise SchedulingError("visit_not_started")
        elif phase == ReadingPhase.DURING and visit.ended_at is not None:
            raise SchedulingError("visit_already_ended")
        reading = VitalReading.objects.create(
            visit=visit,
            phase=phase,
            systolic=systolic,
            diastolic=diastolic,
            heart_rate=heart_rate,
            spo2=spo2,
            weight_lb=weight_lb,
            symptoms=symptom_codes,
            taken_at=now,
            taken_by=actor,
        )
        assessment = assess(reading, t)
        alert = False
        if phase == ReadingPhase.BEFORE:
            if before:
                assessment = assess(counted(before[0], reading, t), t)
            elif needs_repeat(reading, t):
                repeat_due = True
            if not repeat_due:
                Visit.objects.filter(pk=visit.pk, gate_outcome="").update(
                    gate_outcome=assessment.outcome, updated_at=now
                )
                visit.gate_outcome = assessment.outcome
                alert = assessment.outcome == GateOutcome.EMERGENCY
        elif phase == ReadingPhase.DURING:
            alert = during_alert(reading, t)
        audit_record(
            action="visit.vitals_recorded",
            actor=actor,
            request=request,
            patient_id=appointment.patient_id,
            obj=visit,
            detail={
                "reading": reading.pk,
                "phase": phase,
                "repeat_due": repeat_due,
                "alert": alert,
            },
        )
        if alert:
            _alert_after_commit(visit, reason=phase)
    return reading, assessment, repeat_due


def visit_sign_off(
    *,
    appointment_id: int,
    actor: Any,
    note: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """A clinician's sign-off on a SIGN_OFF gate, with a note (kept in visit.gate_note) saying why
    the infusion may go ahead. Once only (a conditional update on signed_off_at)."""
    _require(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise SchedulingError("visit_note_needed")
    with transaction.atomic():
        visit = _locked_visit(appointment_id)
        if visit.gate_outcome != GateOutcome.SIGN_OFF:
            raise SchedulingError("visit_no_sign_off")
        if visit.started_at is not None:
            raise SchedulingError("visit_already_started")
        claimed = Visit.objects.filter(
            pk=visit.pk, gate_outcome=GateOutcome.SIGN_OFF, signed_off_at__isnull=True
        ).update(signed_off_at=now, signed_off_by=actor, gate_note=note, updated_at=now)
        if claimed != 1:
            raise SchedulingError("visit_already_signed")
        audit_record(
            action="visit.signed_off",
            actor=actor,
            request=request,
            patient_id=visit.appointment.patient_id,
            obj=visit,
        )
    visit.refresh_from_db()
    return visit


# --- The infusion -------------------------------------------------------------------------------


def _urgent_item_open(appointment: Appointment) -> bool:
    """An unacknowledged crisis alert for the patient, or an urgent flag on this visit's check-in
    round whose alert (or the flag itself) nobody has acknowledged."""
    if CrisisAlert.objects.filter(
        patient_id=appointment.patient_id, acknowledged_at__isnull=True
    ).exists():
        return True
    link = PreInfusionCheckIn.objects.filter(appointment=appointment).first()
    if link is None:
        return False
    urgent = Flag.objects.filter(submission_id=link.submission_id, severity=Severity.URGENT)
    if not urgent.exists():
        return False
    alert_acknowledged = CrisisAlert.objects.filter(
        submission_id=link.submission_id, acknowledged_at__isnull=False
    ).exists()
    return not alert_acknowledged and urgent.filter(acknowledgements__isnull=True).exists()


def visit_can_start(visit: Visit, *, now: dt.datetime) -> list[str]:
    """Why the infusion cannot start now, in words for staff; empty when it can."""
    appointment = visit.appointment
    reasons: list[str] = []
    if visit.started_at is not None:
        reasons.append(_("The infusion has already started."))
    if appointment.status != AppointmentStatus.CHECKED_IN:
        reasons.append(_("The patient is not checked in."))
    outcome = visit.gate_outcome
    if not outcome:
        repeat_pending = visit.readings.filter(phase=ReadingPhase.BEFORE).exists()
        reasons.append(
            _("A repeat reading of the vital signs is due.")
            if repeat_pending
            else _("The vital signs have not been taken.")
        )
    elif outcome == GateOutcome.DEFER:
        reasons.append(_("The vital signs say defer today's infusion."))
    elif outcome == GateOutcome.EMERGENCY:
        reasons.append(_("The patient is on the emergency pathway."))
    elif outcome == GateOutcome.SIGN_OFF and visit.signed_off_at is None:
        reasons.append(_("The vital signs need a clinician's sign-off."))
    if appointment.appointment_type.needs_clearance and not has_valid_clearance(
        appointment.patient_id, now
    ):
        reasons.append(
            _("The patient's clearance is not valid today. %(why)s")
            % {"why": clearance_refusal(appointment.patient_id, now, now=now)}
        )
    if _urgent_item_open(appointment):
        reasons.append(
            _(
                "An urgent item from the patient's answers is open: a clinician must resolve it "
                "first."
            )
        )
    return reasons


def visit_start(
    *,
    appointment_id: int,
    actor: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Start the infusion (clinician) when visit_can_start has no objection; once only."""
    _require(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    with transaction.atomic():
        visit = _locked_visit(appointment_id)
        if visit.started_at is not None:
            raise SchedulingError("visit_already_started")
        if reasons := visit_can_start(visit, now=now):
            raise SchedulingError("visit_cannot_start", reasons=" ".join(reasons))
        claimed = Visit.objects.filter(pk=visit.pk, started_at__isnull=True).update(
            started_at=now, started_by=actor, updated_at=now
        )
        if claimed != 1:
            raise SchedulingError("visit_already_started")
        audit_record(
            action="visit.started",
            actor=actor,
            request=request,
            patient_id=visit.appointment.patient_id,
            obj=visit,
        )
    visit.refresh_from_db()
    return visit


def visit_end_infusion(
    *,
    appointment_id: int,
    actor: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Record the end of the infusion (clinician); once only."""
    _require(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    with transaction.atomic():
        visit = _locked_visit(appointment_id)
        if visit.started_at is None:
            raise SchedulingError("visit_not_started")
        claimed = Visit.objects.filter(
            pk=visit.pk, started_at__isnull=False, ended_at__isnull=True
        ).update(ended_at=now, updated_at=now)
        if claimed != 1:
            raise SchedulingError("visit_already_ended")
        audit_record(
            action="visit.infusion_ended",
            actor=actor,
            request=request,
            patient_id=visit.appointment.patient_id,
            obj=visit,
        )
    visit.refresh_from_db()
    return visit


def visit_discharge(
    *,
    appointment_id: int,
    actor: Any,
    alert: bool,
    vitals_near_baseline: bool,
    escort_present: bool,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Discharge the patient to a responsible adult (clinician; reference §8): alert, vital signs
    near baseline and the escort present must all be confirmed; a treatment visit's infusion must
    have ended. Completes the appointment and then, for a course session, lets the course complete
    when it was the last (courses.course_complete_if_done)."""
    _require(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    missing = [
        label
        for ok, label in (
            (alert, _("the patient is alert")),
            (vitals_near_baseline, _("the vital signs are near baseline")),
            (escort_present, _("a responsible adult is here to take the patient home")),
        )
        if not ok
    ]
    if missing:
        raise SchedulingError("visit_discharge_checks", missing="; ".join(missing))
    with transaction.atomic():
        visit = _locked_visit(appointment_id)
        appointment = visit.appointment
        if visit.discharged_at is not None:
            raise SchedulingError("visit_already_discharged")
        if appointment.status != AppointmentStatus.CHECKED_IN:
            raise SchedulingError("visit_not_checked_in")
        if appointment.appointment_type.needs_clearance and visit.ended_at is None:
            raise SchedulingError("visit_not_ended")
        claimed = Visit.objects.filter(pk=visit.pk, discharged_at__isnull=True).update(
            discharge_alert=True,
            discharge_vitals_near_baseline=True,
            discharge_escort_present=True,
            discharged_at=now,
            discharged_by=actor,
            updated_at=now,
        )
        if claimed != 1:
            raise SchedulingError("visit_already_discharged")
        appointment_transition(
            appointment_id=appointment.pk,
            to_status=AppointmentStatus.COMPLETED,
            actor=actor,
            request=request,
            now=now,
        )
        audit_record(
            action="visit.discharged",
            actor=actor,
            request=request,
            patient_id=appointment.patient_id,
            obj=visit,
        )
        if appointment.course_id:
            course_complete_if_done(
                course_id=appointment.course_id, actor=actor, request=request, now=now
            )
    visit.refresh_from_db()
    return visit


# --- Deferral -----------------------------------------------------------------------------------


def _defer(
    visit: Visit,
    *,
    actor: Any,
    reason: str,
    code: str,
    request: HttpRequest | None,
    now: dt.datetime,
) -> None:
    """Defer inside the caller's transaction, with the visit row locked."""
    visit.appointment = appointment_transition(
        appointment_id=visit.appointment_id,
        to_status=AppointmentStatus.DEFERRED,
        actor=actor,
        reason=reason[:300],
        request=request,
        now=now,
    )
    Visit.objects.filter(pk=visit.pk).update(
        deferred_reason=reason, deferred_at=now, updated_at=now
    )
    visit.deferred_reason, visit.deferred_at = reason, now
    audit_record(
        action="visit.deferred",
        actor=actor,
        request=request,
        patient_id=visit.appointment.patient_id,
        obj=visit,
        detail={"why": code},
    )


def next_step_for(visit: Visit) -> str:
    """What to tell a deferred patient before their next visit ("" when nothing particular)."""
    if visit.alcohol_or_drugs:
        return _(
            "Please have no alcohol or recreational drugs for %(hours)d hours before your next "
            "visit."
        ) % {"hours": settings.CHECK_IN_ABSTINENCE_HOURS}
    assessment = gate_assessment(visit)
    if assessment is not None and "bp_defer" in assessment.codes:
        return str(BP_NEXT_STEP)
    return ""


def visit_defer(
    *,
    appointment_id: int,
    actor: Any,
    reason: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Deferral:
    """Defer today's visit (clinician): the appointment becomes DEFERRED with `reason`, before
    the infusion starts. Returns the rebooking options (rebooking_options) and the next step for
    the patient (for a blood-pressure deferral: see their primary care doctor first). Nothing is
    rebooked here: staff pick an option and book it through the usual booking service."""
    _require(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError("visit_reason_needed")
    with transaction.atomic():
        visit = _locked_visit(appointment_id)
        if visit.started_at is not None:
            raise SchedulingError("visit_already_started")
        _defer(visit, actor=actor, reason=reason, code="clinician", request=request, now=now)
    return Deferral(
        visit=visit,
        options=rebooking_options(appointment_id, now=now),
        next_step=next_step_for(visit),
    )


def rebooking_options(appointment_id: int, *, now: dt.datetime) -> list[dt.datetime]:
    """Up to REBOOK_OPTIONS starts (aware, UTC) for the same type from tomorrow to REBOOK_DAYS
    days after `now` (clinic dates): rooms, clinicians and the patient free (find_slots, staff
    openings included); for treatment visits also the course rules with the patient's other
    active treatment visits (COURSE_MIN_HOURS_BETWEEN apart, at most COURSE_MAX_PER_WEEK a week)
    and inside the current clearance. The first free start of each day first (earliest day
    first), then the rest. Read-only: a start can be taken before it is booked; booking
    re-checks everything."""
    appointment = (
        Appointment.objects.select_related("appointment_type").filter(pk=appointment_id).first()
    )
    if appointment is None:
        raise SchedulingError("not_found")
    appointment_type = appointment.appointment_type
    patient_id = appointment.patient_id
    tz = clinic_tz()
    today = clinic_date(now)
    # A deferral is for the day (A13 and §2.4 both say "today"): options start tomorrow.
    first_day = today + dt.timedelta(days=1)
    last_day = today + dt.timedelta(days=REBOOK_DAYS)
    others: list[dt.datetime] = []
    if appointment_type.needs_clearance:
        status = clearance_status(patient_id, today=today)
        if not status.is_cleared or status.valid_until is None:
            return []
        last_day = min(last_day, status.valid_until)
        rules = rules_from_settings()
        reach = dt.timedelta(days=REBOOK_DAYS + 8) + rules.min_gap
        others = list(
            Appointment.objects.active()
            .filter(
                patient_id=patient_id,
                appointment_type__needs_clearance=True,
                start__gt=now - reach,
                start__lt=now + reach,
            )
            .exclude(pk=appointment_id)
            .values_list("start", flat=True)
        )
    slots = find_slots(
        appointment_type=appointment_type,
        start_date=first_day,
        end_date=last_day,
        include_extra_openings=True,
        patient_id=patient_id,
        not_before=now,
        now=now,
    )
    fitting: list[dt.datetime] = []
    for slot in slots:
        if slot.start <= now or slot.start.astimezone(tz).date() > last_day:
            continue
        if appointment_type.needs_clearance and course_problems(
            sorted([*others, slot.start]), rules=rules, tz=tz, check_count=False
        ):
            continue
        fitting.append(slot.start)
    fitting = sorted(set(fitting))
    first_per_day: list[dt.datetime] = []
    seen: set[dt.date] = set()
    for start in fitting:
        day = start.astimezone(tz).date()
        if day not in seen:
            seen.add(day)
            first_per_day.append(start)
    rest = [start for start in fitting if start not in first_per_day]
    return (first_per_day + rest)[:REBOOK_OPTIONS]
