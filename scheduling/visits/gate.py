"""The vital-signs gate before an infusion (reference §2.4): readings, the repeat rule, sign-off."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from propel import formatting
from scheduling.audit import audit_patient_event
from scheduling.errors import SchedulingError
from scheduling.lifecycle import Action
from scheduling.models import (
    AppointmentStatus,
    GateOutcome,
    ReadingPhase,
    Visit,
    VitalReading,
)
from scheduling.transitions import lifecycle_require
from scheduling.visits.common import (
    CLINICAL_ROLES,
    alert_after_commit,
    claim_visit_step,
    locked_visit,
    require_role,
    required_text,
    thresholds_from_settings,
)
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
    require_role(actor, CLINICAL_ROLES)
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
    with transaction.atomic():
        visit = locked_visit(appointment_id)
        before = _readings_before(visit, phase, actor=actor, now=now)
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
        assessment, repeat_due, alert = _assess_reading(visit, reading, before, t, now=now)
        _audit_reading(
            visit, reading, repeat_due=repeat_due, alert=alert, actor=actor, request=request
        )
    return reading, assessment, repeat_due


def _readings_before(
    visit: Visit, phase: str, *, actor: Any, now: dt.datetime
) -> list[VitalReading]:
    """The visit's BEFORE readings, oldest first, once the (locked) visit may take a reading in
    `phase`: checked in or in progress, allowed by the lifecycle table, and _check_phase."""
    appointment = visit.appointment
    if appointment.status not in (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS):
        raise SchedulingError("visit_not_checked_in")
    lifecycle_require(appointment, visit, Action.RECORD_VITALS, actor=actor, now=now)
    before = list(visit.readings.filter(phase=ReadingPhase.BEFORE).order_by("taken_at", "id"))
    _check_phase(visit, phase, before, now=now)
    return before


def _audit_reading(
    visit: Visit,
    reading: VitalReading,
    *,
    repeat_due: bool,
    alert: bool,
    actor: Any,
    request: HttpRequest | None,
) -> None:
    """Audit the reading; an alert is emailed to the clinicians after commit."""
    audit_patient_event(
        visit,
        "visit.vitals_recorded",
        actor=actor,
        request=request,
        detail={
            "reading": reading.pk,
            "phase": reading.phase,
            "repeat_due": repeat_due,
            "alert": alert,
        },
    )
    if alert:
        alert_after_commit(visit, reason=reading.phase)


def _check_phase(visit: Visit, phase: str, before: list[VitalReading], *, now: dt.datetime) -> None:
    """Refuse a reading the visit's progress does not allow in `phase`: a BEFORE reading once the
    infusion started or the gate is decided, or a repeat sooner than VITALS_REPEAT_MINUTES; a
    DURING or DISCHARGE reading before the start; a DURING reading after the end."""
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
                    when=formatting.local_time(timezone.localtime(due)),
                )
    elif visit.started_at is None:
        raise SchedulingError("visit_not_started")
    elif phase == ReadingPhase.DURING and visit.ended_at is not None:
        raise SchedulingError("visit_already_ended")


def _assess_reading(
    visit: Visit,
    reading: VitalReading,
    before: list[VitalReading],
    t: VitalThresholds,
    *,
    now: dt.datetime,
) -> tuple[Assessment, bool, bool]:
    """The reading's assessment (the counted one for a repeat), whether a repeat is due, and
    whether to alert a clinician. A BEFORE reading that decides the gate stores its outcome (a
    conditional update: the first decision stands)."""
    assessment = assess(reading, t)
    repeat_due = alert = False
    if reading.phase == ReadingPhase.BEFORE:
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
    elif reading.phase == ReadingPhase.DURING:
        alert = during_alert(reading, t)
    return assessment, repeat_due, alert


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
    require_role(actor, CLINICAL_ROLES)
    now = now or timezone.now()
    note = required_text(note, "visit_note_needed")
    with transaction.atomic():
        visit = locked_visit(appointment_id)
        if visit.gate_outcome != GateOutcome.SIGN_OFF:
            raise SchedulingError("visit_no_sign_off")
        if visit.started_at is not None:
            raise SchedulingError("visit_already_started")
        lifecycle_require(visit.appointment, visit, Action.SIGN_OFF, actor=actor, now=now)
        claim_visit_step(
            visit,
            where={"gate_outcome": GateOutcome.SIGN_OFF, "signed_off_at__isnull": True},
            values={
                "signed_off_at": now,
                "signed_off_by": actor,
                "gate_note": note,
                "updated_at": now,
            },
            refused="visit_already_signed",
        )
        audit_patient_event(visit, "visit.signed_off", actor=actor, request=request)
    visit.refresh_from_db()
    return visit
