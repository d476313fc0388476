"""Deferring today's visit, what the patient should do next, and rebooking options that keep the
course rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from intake.clearance import clearance_status, clinic_date
from scheduling.audit import audit_patient_event
from scheduling.availability import one_a_day_first
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Visit,
)
from scheduling.notices import DEFAULT, ChangeNotice
from scheduling.policy import spacing_policy
from scheduling.queries import appointment_with_type
from scheduling.slots import clinic_tz, staff_slots
from scheduling.spacing import Spacing, first_too_close, week_is_full
from scheduling.transitions import appointment_transition
from scheduling.visits.common import DEFER_ROLES, locked_visit, require_role, required_text
from scheduling.visits.gate import gate_assessment

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


# --- Deferral -----------------------------------------------------------------------------------


def defer_visit(
    visit: Visit,
    *,
    actor: Any,
    reason: str,
    code: str,
    request: HttpRequest | None,
    now: dt.datetime,
    notice: ChangeNotice = DEFAULT,
) -> None:
    """Defer inside the caller's transaction, with the visit row locked. `reason` is staff's
    (clinical) words for the history; the patient's notice, planned by the lifecycle door, says
    only `notice`'s reason, picked from NoticeReason."""
    visit.appointment = appointment_transition(
        appointment_id=visit.appointment_id,
        to_status=AppointmentStatus.DEFERRED,
        actor=actor,
        reason=reason[:300],
        request=request,
        now=now,
        notice=notice,
    )
    Visit.objects.filter(pk=visit.pk).update(
        deferred_reason=reason, deferred_at=now, updated_at=now
    )
    visit.deferred_reason, visit.deferred_at = reason, now
    audit_patient_event(visit, "visit.deferred", actor=actor, request=request, detail={"why": code})


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
    notice_reason: str = "",
) -> Deferral:
    """Defer today's visit (any staff role the lifecycle allows: the clinician's judgement, or
    the desk turning a patient away, e.g. no escort): the appointment becomes DEFERRED with
    `reason`, before the infusion starts. Returns the rebooking options (rebooking_options) and
    the next step for the patient (for a blood-pressure deferral: see their primary care doctor
    first). Nothing is rebooked here: staff pick an option and book it through the usual booking
    service. The patient is told the visit is off (a cancellation notice, with `notice_reason`,
    a NoticeReason or "", never the clinical `reason`)."""
    require_role(actor, DEFER_ROLES)
    now = now or timezone.now()
    reason = required_text(reason, "visit_reason_needed")
    with transaction.atomic():
        visit = locked_visit(appointment_id, started=False)
        defer_visit(
            visit,
            actor=actor,
            reason=reason,
            code="clinician",
            request=request,
            now=now,
            notice=ChangeNotice(reason=notice_reason),
        )
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
    appointment = appointment_with_type(appointment_id)
    appointment_type = appointment.appointment_type
    tz = clinic_tz()
    today = clinic_date(now)
    # A deferral is for the day (A13 and §2.4 both say "today"): options start tomorrow.
    first_day = today + dt.timedelta(days=1)
    last_day = today + dt.timedelta(days=REBOOK_DAYS)
    course: _CourseCheck | None = None
    if appointment_type.needs_clearance:
        status = clearance_status(appointment.patient_id, today=today)
        if not status.is_cleared or status.valid_until is None:
            return []
        last_day = min(last_day, status.valid_until)
        course = _course_check(appointment, now=now)
    slots = staff_slots(
        appointment_type, first_day, last_day, now=now, patient_id=appointment.patient_id
    )
    fitting = {
        slot.start
        for slot in slots
        if now < slot.start
        and slot.start.astimezone(tz).date() <= last_day
        and (course is None or course.fits(slot.start, tz=tz))
    }
    return one_a_day_first(sorted(fitting), tz)[:REBOOK_OPTIONS]


@dataclasses.dataclass(frozen=True)
class _CourseCheck:
    """The spacing rule (scheduling.spacing) and the patient's other active treatment visits near
    the options."""

    spacing: Spacing
    others: list[dt.datetime]

    def fits(self, start: dt.datetime, *, tz: ZoneInfo) -> bool:
        return first_too_close(start, self.others, self.spacing) is None and not week_is_full(
            start, self.others, self.spacing, tz
        )


def _course_check(appointment: Appointment, *, now: dt.datetime) -> _CourseCheck:
    spacing = spacing_policy()
    reach = dt.timedelta(days=REBOOK_DAYS + 8) + spacing.min_gap
    others = list(
        Appointment.objects.active()
        .filter(
            patient_id=appointment.patient_id,
            appointment_type__needs_clearance=True,
            start__gt=now - reach,
            start__lt=now + reach,
        )
        .exclude(pk=appointment.pk)
        .values_list("start", flat=True)
    )
    return _CourseCheck(spacing, others)
