"""Arrival: identity, escort and the day-of questions (front desk); the desk's A13 yes defers the
visit. The patient's own yes in their pre-visit check-in is never turned into a no at the desk: it
stays a day-of item until a clinician acknowledges it (scheduling.visits.items)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import to_python as to_phone

from intake.models import Patient
from scheduling.audit import audit_patient_event
from scheduling.day_of import answer_stands
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    PreInfusionCheckIn,
    Visit,
    status_word,
)
from scheduling.transitions import appointment_transition
from scheduling.visits.common import ARRIVAL_ROLES, locked_visit, require_role
from scheduling.visits.deferral import defer_visit

# --- Arrival ------------------------------------------------------------------------------------


def _yes_no(value: object) -> bool | None:
    return {"yes": True, "no": False}.get(str(value)) if value is not None else None


def check_in_answers(appointment: Appointment, now: dt.datetime) -> dict[str, Any]:
    """Day-of answers the patient already gave in this visit's submitted check-in round.

    new_medicines asks "since your last visit", so any submitted round answers it. The alcohol
    question (A13) asks about the CHECK_IN_ABSTINENCE_HOURS before the patient answered; it stands
    for today only when the round was sent within that many hours of now, or of the visit's start
    if that is earlier (day_of.answer_stands: an early "no" does not replace the day-of check).
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
    fresh = answer_stands(link.submission.submitted_at, start=appointment.start, now=now)
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
    has one (see check_in_answers), else SchedulingError("visit_answer_needed"). The desk's yes to
    alcohol or drugs defers the appointment (reference A13: hard stop for the day, reschedule) and
    the visit is returned with appointment.status DEFERRED; otherwise the appointment moves to
    CHECKED_IN. Consultations need only the identity check.

    Patient answers win over the desk: the patient's own (fresh) yes to A13 or to new medicines
    is never turned into a no. The visit keeps the desk's answers as the desk's, and the patient's
    yes stays a day-of item that blocks the start until a clinician acknowledges it
    (scheduling.visits.items). The patient's A13 yes is not taken for the desk's: the desk must
    ask again (SchedulingError("visit_patient_said_yes") when it left the answer out); the desk's
    yes defers, the desk's no checks the patient in with the patient's yes still open for a
    clinician. When the desk's answer differs from the patient's, an audit event says which
    questions (not the answers).
    """
    require_role(actor, ARRIVAL_ROLES)
    now = now or timezone.now()
    escort_name = (escort_name or "").strip()
    phone = to_phone(escort_phone.strip()) if escort_phone and escort_phone.strip() else None
    desk = DeskAnswers(alcohol_or_drugs, food_as_instructed, new_medicines, new_medicines_detail)
    with transaction.atomic():
        visit = locked_visit(appointment_id)
        appointment = visit.appointment
        _check_arrival(appointment, identity_confirmed, escort_name=escort_name, phone=phone)
        treatment = appointment.appointment_type.needs_clearance
        from_check_in = check_in_answers(appointment, now) if treatment else {}
        merged = _merge_answers(desk, from_check_in, treatment=treatment)
        _record_arrival(
            visit, merged.answers, actor=actor, escort_name=escort_name, phone=phone, now=now
        )
        _admit_or_defer(visit, merged, actor=actor, request=request, now=now)
    return visit


@dataclass(frozen=True)
class DeskAnswers:
    """The day-of answers as the desk gave them (None: left out)."""

    alcohol_or_drugs: bool | None
    food_as_instructed: bool | None
    new_medicines: bool | None
    new_medicines_detail: str


@dataclass(frozen=True)
class MergedAnswers:
    answers: DeskAnswers  # the desk's, with what was taken from the patient's round
    taken: list[str]  # questions answered from the patient's round
    differs: list[str]  # questions where the desk's answer differs from the patient's
    patient_a13_yes: bool


def _check_arrival(
    appointment: Appointment, identity_confirmed: bool, *, escort_name: str, phone: Any
) -> None:
    """Refuse a check-in the appointment's status, the identity check or the escort rule forbids
    (in this order, each with its own error code)."""
    if appointment.status != AppointmentStatus.BOOKED:
        raise SchedulingError("visit_not_booked", status=status_word(appointment.status))
    if not identity_confirmed:
        raise SchedulingError("visit_identity")
    treatment = appointment.appointment_type.needs_clearance
    if phone is not None and not phone.is_valid():
        raise SchedulingError("visit_escort_phone")
    if treatment and (not escort_name or phone is None):
        raise SchedulingError("visit_escort_needed")


def _merge_answers(
    desk: DeskAnswers, from_check_in: dict[str, Any], *, treatment: bool
) -> MergedAnswers:
    """The desk's answers completed from the patient's round (check_in_answers), refusing what
    the desk must still ask."""
    differs = sorted(
        key
        for key, given in (
            ("alcohol_or_drugs", desk.alcohol_or_drugs),
            ("new_medicines", desk.new_medicines),
        )
        if given is not None and key in from_check_in and given != from_check_in[key]
    )
    # The patient's A13 yes is never the desk's answer: taken as the desk's yes it would
    # defer without a clinician, taken as a no it would be lost. The desk asks again; the
    # patient's yes stays a day-of item whatever the desk records (items).
    patient_a13_yes = from_check_in.get("alcohol_or_drugs") is True
    if treatment and patient_a13_yes and desk.alcohol_or_drugs is None:
        raise SchedulingError("visit_patient_said_yes")
    answers, taken = desk, []
    if desk.alcohol_or_drugs is None and from_check_in.get("alcohol_or_drugs") is False:
        answers = dataclasses.replace(answers, alcohol_or_drugs=False)
        taken.append("alcohol_or_drugs")
    if desk.new_medicines is None and "new_medicines" in from_check_in:
        answers = dataclasses.replace(
            answers,
            new_medicines=from_check_in["new_medicines"],
            new_medicines_detail=desk.new_medicines_detail or from_check_in["new_medicines_detail"],
        )
        taken.append("new_medicines")
    if treatment:
        _require_answers(answers)
    return MergedAnswers(answers, taken, differs, patient_a13_yes)


def _require_answers(answers: DeskAnswers) -> None:
    questions = (
        (
            answers.alcohol_or_drugs,
            _("Have you had any alcohol or recreational drugs in the last %(hours)d hours?")
            % {"hours": settings.CHECK_IN_ABSTINENCE_HOURS},
        ),
        (answers.food_as_instructed, _("Have you eaten and drunk only as instructed today?")),
        (answers.new_medicines, _("Have you started, stopped or changed any medicine?")),
    )
    for answer, question in questions:
        if answer is None:
            raise SchedulingError("visit_answer_needed", question=question)


def _record_arrival(
    visit: Visit,
    answers: DeskAnswers,
    *,
    actor: Any,
    escort_name: str,
    phone: Any,
    now: dt.datetime,
) -> None:
    """Save the check-in on the (locked) visit; a given escort is also saved on the patient."""
    visit.identity_confirmed_at = now
    visit.identity_confirmed_by = actor
    visit.alcohol_or_drugs = answers.alcohol_or_drugs
    visit.food_as_instructed = answers.food_as_instructed
    visit.new_medicines = answers.new_medicines
    visit.new_medicines_detail = (
        (answers.new_medicines_detail or "")[:500] if answers.new_medicines else ""
    )
    if escort_name or phone is not None:
        visit.escort_name = escort_name
        visit.escort_phone = phone or ""
        visit.escort_confirmed_at = now
        Patient.objects.filter(pk=visit.appointment.patient_id).update(
            escort_name=escort_name, escort_phone=phone or "", updated_at=now
        )
    visit.save()


def _admit_or_defer(
    visit: Visit,
    merged: MergedAnswers,
    *,
    actor: Any,
    request: HttpRequest | None,
    now: dt.datetime,
) -> None:
    """After the check-in is saved: the desk's yes to A13 defers the visit; otherwise the
    appointment moves to CHECKED_IN. Audited either way (and when the desk's answers differ)."""
    appointment = visit.appointment
    if merged.differs:
        audit_patient_event(
            visit,
            "visit.desk_answer_differs",
            actor=actor,
            request=request,
            detail={"questions": merged.differs},
        )
    if merged.answers.alcohol_or_drugs:
        defer_visit(
            visit,
            actor=actor,
            reason=_("Alcohol or recreational drugs before the visit (A13)."),
            code="a13",
            request=request,
            now=now,
        )
        return
    visit.appointment = appointment_transition(
        appointment_id=appointment.pk,
        to_status=AppointmentStatus.CHECKED_IN,
        actor=actor,
        request=request,
        now=now,
    )
    audit_patient_event(
        visit,
        "visit.checked_in",
        actor=actor,
        request=request,
        detail={
            "escort": bool(visit.escort_name),
            "answers_from_check_in": sorted(merged.taken),
            "desk_differs_from_check_in": merged.differs,
            "patient_a13_yes": merged.patient_a13_yes,
        },
    )
