"""The one door for an appointment's status and every step of its visit (scheduling.lifecycle).

`appointment_transition` changes the status; `lifecycle_require` is called by the visit steps
that leave the status alone (vital signs, sign-off, end of infusion, acknowledging a day-of
answer) and by moves, inside their own transaction with the rows locked. Both load the facts the
table looks at (`load_facts`) and raise SchedulingError("lifecycle_refused") naming every missing
step and where to do it; nothing is changed then. Who acts: the staff user's roles
(propel.roles), the patient through their link (`as_patient=True`), or the system (no actor: a
command, task or the demo data).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.requirements import MissingItem
from intake.selectors import (
    clearance_refusal,
    has_open_crisis_alert,
    has_valid_clearance,
    round_urgent_unreviewed,
)
from propel import formatting
from scheduling.audit import audit_patient_event
from scheduling.day_of import open_day_of_items
from scheduling.errors import SchedulingError
from scheduling.lifecycle import (
    ACTION_FOR_STATUS,
    RULES,
    Action,
    Facts,
    Need,
    Refusal,
    When,
    offered,
    parties_of,
    refusals,
)
from scheduling.models import (
    CALLED_OFF_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    GateOutcome,
    PreInfusionCheckIn,
    ReadingPhase,
    ReminderKind,
    Visit,
    status_word,
)
from scheduling.notices import DEFAULT, ChangeNotice, change_notice_plan
from scheduling.paperwork import visits_missing
from scheduling.reminder_plan import reminders_cancel
from scheduling.slots import clinic_tz
from scheduling.waitlist.hooks import slot_freed_on_commit


def _urgent_alert_open(appointment: Appointment) -> bool:
    """An unacknowledged crisis alert for the patient, or an urgent flag on this visit's check-in
    round whose alert (or the flag itself) nobody has acknowledged (intake's selectors)."""
    if has_open_crisis_alert(appointment.patient_id):
        return True
    link = PreInfusionCheckIn.objects.filter(appointment=appointment).first()
    return link is not None and round_urgent_unreviewed(link.submission_id)


def _vitals_state(visit: Visit) -> str:
    outcome = visit.gate_outcome
    if outcome in (GateOutcome.PROCEED, GateOutcome.PROCEED_WITH_NOTE):
        return "passed"
    if outcome == GateOutcome.SIGN_OFF:
        return "passed" if visit.signed_off_at else "sign_off"
    if outcome == GateOutcome.DEFER:
        return "defer"
    if outcome == GateOutcome.EMERGENCY:
        return "emergency"
    if visit.readings.filter(phase=ReadingPhase.BEFORE).exists():
        return "repeat"
    return "missing"


def paperwork_missing(appointment: Appointment, *, now: dt.datetime) -> list[MissingItem]:
    """What the clinic wants on file for this visit's step and the patient has not given
    (intake.requirements; a treatment visit: the first infusion's, a consultation: its own)."""
    today = now.astimezone(clinic_tz()).date()
    return visits_missing([appointment], today=today)[appointment.pk]


def _paperwork_done(appointment: Appointment, *, now: dt.datetime) -> bool:
    """Read only where the table looks at it: a consultation's check-in (booked), a treatment
    visit's start (checked in); elsewhere it decides nothing and costs no query."""
    treatment = appointment.appointment_type.needs_clearance
    due = AppointmentStatus.CHECKED_IN if treatment else AppointmentStatus.BOOKED
    if appointment.status != due:
        return True
    return not paperwork_missing(appointment, now=now)


def load_facts(appointment: Appointment, visit: Visit | None, *, now: dt.datetime) -> Facts:
    """What the lifecycle table looks at for this appointment now. `appointment` comes with its
    type; the type's `needs_clearance` (clinic policy) is read as loaded, so load it under the
    caller's lock."""
    treatment = appointment.appointment_type.needs_clearance
    base = Facts(
        status=appointment.status,
        start=appointment.start,
        treatment=treatment,
        clearance=(not treatment) or has_valid_clearance(appointment.patient_id, appointment.start),
        paperwork=_paperwork_done(appointment, now=now),
    )
    if visit is None:
        return dataclasses.replace(
            base, open_items=len(open_day_of_items(appointment, None, now=now))
        )
    day_of = (
        visit.alcohol_or_drugs is not None
        and visit.food_as_instructed is not None
        and visit.new_medicines is not None
    )
    return dataclasses.replace(
        base,
        identity=visit.identity_confirmed_at is not None,
        escort=bool(visit.escort_confirmed_at and visit.escort_name),
        day_of_answers=day_of,
        a13_yes=bool(visit.alcohol_or_drugs),
        open_items=len(open_day_of_items(appointment, visit, now=now)),
        urgent_alert=treatment and _urgent_alert_open(appointment),
        vitals=_vitals_state(visit) if treatment else "missing",
        ended=visit.ended_at is not None,
        discharged=visit.discharged_at is not None,
    )


# --- Refusals in words, with where to put them right --------------------------------------------


def _day(moment: dt.datetime) -> str:
    return formatting.local_date(moment.astimezone(clinic_tz()))


def _vitals_message(state: str) -> str:
    return {
        "missing": _("Take the pre-infusion vital signs."),
        "repeat": _("A repeat reading of the vital signs is due."),
        "sign_off": _("The vital signs need a clinician's sign-off."),
        "defer": _("The vital signs say defer today's infusion."),
        "emergency": _("The patient is on the emergency pathway."),
    }.get(state, _("Take the pre-infusion vital signs."))


def refusal_message(
    refusal: Refusal, action: Action, facts: Facts, appointment: Appointment, *, now: dt.datetime
) -> str:
    label = RULES[action].label
    code = refusal.code
    if code == "role":
        return _("“%(action)s” is not a step your role takes.") % {"action": label}
    if code == "state":
        status = status_word(facts.status) if facts.status else _("new")
        return _("This appointment is %(status)s: “%(action)s” is not possible now.") % {
            "status": status,
            "action": label,
        }
    if code == "type":
        return _("“%(action)s” is a step of infusion visits only.") % {
            "action": RULES[action].label
        }
    if code == "nothing_to_do":
        return _("There is nothing to “%(action)s” on this visit.") % {"action": label}
    if code == When.VISIT_DAY:
        return _("This can only be done on the day of the visit (%(day)s).") % {
            "day": _day(facts.start)
        }
    if code == When.BEFORE_START:
        return _("The appointment's time has passed.")
    if code == When.AFTER_START:
        return _("This can only be recorded after the start time (%(time)s).") % {
            "time": formatting.local_time(facts.start.astimezone(clinic_tz()))
        }
    if code == When.UP_TO_VISIT_DAY:
        return _(
            "The visit's day (%(day)s) has passed: record what happened (no-show or completed) "
            "instead."
        ) % {"day": _day(facts.start)}
    if code == When.FROM_VISIT_DAY:
        return _("The visit is on %(day)s; it cannot be completed before then.") % {
            "day": _day(facts.start)
        }
    return _need_message(Need(code), facts, appointment, now=now)


def _need_message(need: Need, facts: Facts, appointment: Appointment, *, now: dt.datetime) -> str:
    if need == Need.CLEARANCE:
        why = clearance_refusal(appointment.patient_id, facts.start, now=now)
        return _(
            "The patient has no valid clearance for %(day)s. %(why)s A clinician clears the "
            "patient from their chart."
        ) % {"day": _day(facts.start), "why": why}
    if need == Need.PAPERWORK:
        items = paperwork_missing(appointment, now=now)
        return _(
            "Not on file yet: %(items)s. Upload a document on the patient's page (What must be "
            "on file), where a clinician may also waive an item with a reason; the patient signs "
            "forms on their link."
        ) % {"items": "; ".join(item.label for item in items)}
    if need == Need.NO_OPEN_ITEMS:
        return _(
            "%(count)d of the patient's day-of answers need a clinician's acknowledgement "
            "(day-of items on the visit screen)."
        ) % {"count": facts.open_items}
    if need == Need.VITALS:
        return _vitals_message(facts.vitals)
    return {
        Need.IDENTITY: _("Confirm the patient's identity at check-in."),
        Need.ESCORT: _("Confirm the escort (the adult taking the patient home) at check-in."),
        Need.DAY_OF_ANSWERS: _("Ask the day-of questions at check-in."),
        Need.NO_A13: _(
            "Alcohol or recreational drugs before the visit (A13): today's infusion is deferred."
        ),
        Need.NO_URGENT_ALERT: _(
            "An urgent item from the patient's answers is open: a clinician must resolve it "
            "first (the patient's chart)."
        ),
        Need.INFUSION_ENDED: _("End the infusion first."),
        Need.DISCHARGE: _(
            "Record the discharge: the patient is alert, the vital signs are near baseline and "
            "the escort is here."
        ),
    }[need]


def refusal_url(refusal: Refusal, appointment: Appointment) -> str:
    """Where staff put the refusal right: a section of the visit screen, or the chart."""
    if not refusal.where:
        return ""
    if refusal.where == "chart":
        return reverse("intake:chart", args=[appointment.patient_id])
    if refusal.where == "on-file":
        return f"{reverse('scheduling:patient', args=[appointment.patient_id])}#on-file"
    return f"{reverse('scheduling:visit', args=[appointment.pk])}#{refusal.where}"


@dataclasses.dataclass(frozen=True)
class Missing:
    message: str
    url: str


def explain(
    found: list[Refusal], action: Action, facts: Facts, appointment: Appointment, now: dt.datetime
) -> list[Missing]:
    return [
        Missing(
            refusal_message(r, action, facts, appointment, now=now), refusal_url(r, appointment)
        )
        for r in found
    ]


def refused(missing: list[Missing]) -> SchedulingError:
    error = SchedulingError("lifecycle_refused", reasons=" ".join(m.message for m in missing))
    error.missing = missing  # type: ignore[attr-defined]
    return error


def lifecycle_require(
    appointment: Appointment,
    visit: Visit | None,
    action: Action,
    *,
    actor: Any,
    as_patient: bool = False,
    now: dt.datetime,
) -> Facts:
    """Raise SchedulingError("lifecycle_refused") unless the table allows `action` now; call it
    inside the caller's transaction with the appointment (or visit) row locked. Returns the
    facts it decided on."""
    facts = load_facts(appointment, visit, now=now)
    parties = parties_of(actor, as_patient=as_patient)
    if found := refusals(action, facts, parties, now=now, tz=clinic_tz()):
        raise refused(explain(found, action, facts, appointment, now))
    return facts


@dataclasses.dataclass(frozen=True)
class OfferedAction:
    """One action a page offers: done with one click (`post_status`, through the calendar's
    status form), or at `href` (the form that records it); `missing` lists what must come first."""

    action: Action
    label: str
    missing: list[Missing]
    href: str = ""
    post_status: str = ""


# Where each action is done on the visit screen; the rest are one click or the calendar's pages.
VISIT_ANCHORS = {
    Action.CHECK_IN: "check-in",
    Action.RECORD_VITALS: "vitals",
    Action.SIGN_OFF: "sign-off",
    Action.ACKNOWLEDGE_ITEM: "day-of-items",
    Action.START: "infusion",
    Action.END_INFUSION: "infusion-end",
    Action.DEFER: "defer",
}


def _control(action: Action, facts: Facts, appointment: Appointment) -> dict[str, str]:
    if action == Action.NO_SHOW or (action == Action.COMPLETE and not facts.treatment):
        return {"post_status": str(RULES[action].target)}
    if action == Action.COMPLETE:
        return {"href": f"{reverse('scheduling:visit', args=[appointment.pk])}#discharge"}
    if action == Action.CANCEL:
        return {"href": f"{reverse('scheduling:appointment', args=[appointment.pk])}#cancel"}
    if action == Action.MOVE:
        day = appointment.start.astimezone(clinic_tz()).date().isoformat()
        return {
            "href": f"{reverse('scheduling:appointment_move', args=[appointment.pk])}?date={day}"
        }
    anchor = VISIT_ANCHORS[action]
    return {"href": f"{reverse('scheduling:visit', args=[appointment.pk])}#{anchor}"}


def offered_actions(
    appointment: Appointment, visit: Visit | None, *, user: Any, now: dt.datetime
) -> list[OfferedAction]:
    """What the calendar, the day sheet and the visit screen offer this user for this visit: the
    same list on every page, each with what is still missing."""
    facts = load_facts(appointment, visit, now=now)
    parties = parties_of(user)
    tz = clinic_tz()
    return [
        OfferedAction(
            action=action,
            label=str(RULES[action].label),
            missing=explain(
                [
                    r
                    for r in refusals(action, facts, parties, now=now, tz=tz)
                    if r.code not in RULES[action].form_fills
                ],
                action,
                facts,
                appointment,
                now,
            ),
            **_control(action, facts, appointment),
        )
        for action in offered(facts, parties, now=now, tz=tz)
    ]


def appointment_transition(
    *,
    appointment_id: int,
    to_status: str,
    actor: Any = None,
    as_patient: bool = False,
    reason: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
    notice: ChangeNotice = DEFAULT,
) -> Appointment:
    """Move an appointment to `to_status` through the lifecycle action leading there.

    Locks the appointment row (then reads its visit), checks the table (who, when, what must be
    done first) and raises SchedulingError("lifecycle_refused") naming everything missing, or
    "bad_transition" for a status no action leads to. The update is conditional on the status
    read, writes status history and one audit event, bumps `sequence` when the visit is called
    off (cancelled, or deferred on the day: a calendar file sent afterwards replaces the earlier
    one) and cancels the reminders the visit no longer needs. A visit called off by staff, a
    command or a task (not by the patient: `as_patient`) gets the patient's cancellation notice
    with `notice`'s reason and batch, in the same transaction (scheduling.notices). `reason` is
    the history's own text (staff's words, never sent to the patient). Nested inside a caller's
    transaction (a visit step), it shares it.
    """
    now = now or timezone.now()
    action = ACTION_FOR_STATUS.get(to_status)
    if action is None:
        raise SchedulingError("bad_transition", target=status_word(to_status))
    with transaction.atomic():
        appointment = Appointment.objects.locked(appointment_id)
        if appointment is None:
            raise SchedulingError("not_found")
        visit = Visit.objects.filter(appointment_id=appointment_id).first()
        lifecycle_require(appointment, visit, action, actor=actor, as_patient=as_patient, now=now)
        current = appointment.status
        changes: dict[str, Any] = {"status": to_status, "updated_at": now}
        called_off = to_status in CALLED_OFF_STATUSES
        if called_off:
            changes["sequence"] = F("sequence") + 1
        if Appointment.objects.filter(pk=appointment_id, status=current).update(**changes) != 1:
            raise SchedulingError("stale")
        _record_status_change(
            appointment, current, to_status, actor=actor, reason=reason, request=request, now=now
        )
        appointment.status = to_status
        if called_off:
            appointment.sequence += 1
        _cancel_unneeded_reminders(appointment_id, to_status, now=now)
        if called_off:
            change_notice_plan(
                appointment_id=appointment_id,
                kind=ReminderKind.CANCELLED_NOTICE,
                notice=notice,
                as_patient=as_patient,
                now=now,
            )
            slot_freed_on_commit(appointment)
    return appointment


def _record_status_change(
    appointment: Appointment,
    current: str,
    to_status: str,
    *,
    actor: Any,
    reason: str,
    request: HttpRequest | None,
    now: dt.datetime,
) -> None:
    """The status history row and the "appointment.<status>" audit event of one transition."""
    AppointmentStatusChange.objects.create(
        appointment=appointment,
        from_status=current,
        to_status=to_status,
        at=now,
        by=actor,
        reason=reason,
    )
    audit_patient_event(
        appointment,
        f"appointment.{to_status}",
        actor=actor,
        request=request,
        detail={"from": current, "reason": reason} if reason else {"from": current},
    )


def _cancel_unneeded_reminders(appointment_id: int, to_status: str, *, now: dt.datetime) -> None:
    if to_status in (
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.COMPLETED,
    ):
        # The visit happened: only the next-day follow-up is still wanted.
        reminders_cancel(
            appointment_id=appointment_id,
            reason=f"appointment {to_status}",
            keep_kinds={ReminderKind.FOLLOW_UP_NEXT_DAY},
            now=now,
        )
    else:
        reminders_cancel(appointment_id=appointment_id, reason=f"appointment {to_status}", now=now)
