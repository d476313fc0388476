"""Pre-infusion check-ins: the short questionnaire (an intake round of kind check_in,
intake.questions.CHECK_IN_SECTIONS) a patient answers before each infusion, linked to its visit by
a PreInfusionCheckIn.

A check-in opens for an infusion-type appointment (its type needs a clinician's clearance:
infusion, maintenance) that is booked, from CHECK_IN_OPENS_HOURS (a setting, 48 by default) before
its start until the start. The patient reaches it from their page (scheduling.online.patient_views);
sending the link by text or email belongs to the reminders. Answering it never ends a clearance:
only screening rounds do (intake.clearance).

The same window holds for every step: a round opened earlier cannot be saved or sent outside it.
intake never imports scheduling, so scheduling registers check_in_gate with intake at start-up
(scheduling.review_hooks.register -> intake.check_in_window).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.models import IntakeSubmission, Patient, SubmissionKind, SubmissionStatus
from intake.screening import IntakeError, submission_open, submission_restart
from propel import formatting
from scheduling.audit import audit_patient_event
from scheduling.booking import booking_transaction
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentStatus, PreInfusionCheckIn


def opens_before() -> dt.timedelta:
    """How long before an infusion its check-in opens (CHECK_IN_OPENS_HOURS). Answers given days
    before described another day; the alcohol question (A13) asks about the
    CHECK_IN_ABSTINENCE_HOURS before the patient answers, so an early "no" still does not replace
    the day-of check (reference §8.1), and an early yes is a day-of item only while it reaches the
    visit (scheduling.visits.items)."""
    return dt.timedelta(hours=settings.CHECK_IN_OPENS_HOURS)


class CheckInState:
    """What the patient's page shows for one visit's check-in."""

    NOT_STARTED = "not_started"
    STARTED = "started"
    SENT = "sent"


def check_in_refusal(
    *,
    needs_clearance: bool,
    status: str,
    start: dt.datetime,
    now: dt.datetime,
    opens_before: dt.timedelta,
) -> str | None:
    """Why a visit has no open check-in (a SchedulingError code), or None when it has one. Pure:
    an infusion-type visit, still booked, starting after `now` and no more than `opens_before`
    after it."""
    if not needs_clearance:
        return "check_in_not_infusion"
    if status != AppointmentStatus.BOOKED:
        return "check_in_not_booked"
    if start <= now:
        return "check_in_closed"
    if start - now > opens_before:
        return "check_in_too_early"
    return None


def _refusal(appointment: Appointment, now: dt.datetime) -> str | None:
    return check_in_refusal(
        needs_clearance=appointment.appointment_type.needs_clearance,
        status=appointment.status,
        start=appointment.start,
        now=now,
        opens_before=opens_before(),
    )


def _when(appointment: Appointment) -> str:
    local = timezone.localtime(appointment.start)
    return formatting.local_datetime(local)


def opens_at(appointment: Appointment) -> dt.datetime:
    return appointment.start - opens_before()


def refusal_error(appointment: Appointment, code: str) -> SchedulingError:
    """The patient-facing error for a check_in_refusal code, with what its message needs."""
    if code == "check_in_too_early":
        local = timezone.localtime(opens_at(appointment))
        when = _("%(date)s at %(time)s") % {
            "date": formatting.local_date(local),
            "time": formatting.local_time(local),
        }
        return SchedulingError(code, when=when, hours=settings.CHECK_IN_OPENS_HOURS)
    return SchedulingError(code)


def check_in_gate(submission_id: int, now: dt.datetime) -> str | None:
    """For intake's check-in pages (intake.check_in_window): why this unsent check-in round may
    not be answered now, in words for the patient, or None when it may. A round with no visit
    (its visit was removed) is left to intake. One query."""
    link = (
        PreInfusionCheckIn.objects.select_related("appointment__appointment_type")
        .filter(submission_id=submission_id)
        .first()
    )
    if link is None:
        return None
    code = _refusal(link.appointment, now)
    return None if code is None else str(refusal_error(link.appointment, code).message)


def check_in_open(*, appointment_id: int, now: dt.datetime | None = None) -> IntakeSubmission:
    """The check-in round for one visit, created with its PreInfusionCheckIn the first time.

    Idempotent: locks the appointment row, then the patient's (the order a reschedule takes them),
    with the booking lock timeout (SchedulingError("busy") when it runs out); a visit that already
    has a check-in gets the same round back, sent or not. Refuses (SchedulingError with a
    check_in_* code, or "not_found") a visit that is not an infusion, not booked, already started,
    or more than CHECK_IN_OPENS_HOURS away.

    A patient has at most one unsent check-in (intake's one-draft-per-kind constraint). If that
    draft belongs to another visit that still has an open check-in, this one is refused
    ("check_in_other_open": finish that one first). If its visit is gone (cancelled, moved, past),
    the draft is cleared and moved to this visit: its answers were about another day.
    """
    now = now or timezone.now()
    with booking_transaction():
        appointment = Appointment.objects.locked(appointment_id)
        if appointment is None:
            raise SchedulingError("not_found")
        refusal = _refusal(appointment, now)
        if refusal is not None:
            raise refusal_error(appointment, refusal)
        existing = (
            PreInfusionCheckIn.objects.select_related("submission")
            .filter(appointment=appointment)
            .first()
        )
        if existing is not None:
            return existing.submission
        patient_id = appointment.patient_id
        Patient.objects.select_for_update().only("pk").get(pk=patient_id)
        submission = _reuse_draft(appointment, now) or _open_round(appointment)
    return submission


def _reuse_draft(appointment: Appointment, now: dt.datetime) -> IntakeSubmission | None:
    """The patient's unsent check-in, moved to this visit and cleared if its own visit is gone;
    None when there is no such draft. Runs under check_in_open's locks."""
    draft = (
        IntakeSubmission.objects.check_ins()
        .filter(patient_id=appointment.patient_id, status=SubmissionStatus.DRAFT)
        .first()
    )
    if draft is None:
        return None
    link = (
        PreInfusionCheckIn.objects.select_related("appointment__appointment_type")
        .filter(submission=draft)
        .first()
    )
    if link is not None and _refusal(link.appointment, now) is None:
        raise SchedulingError("check_in_other_open", when=_when(link.appointment))
    try:
        draft = submission_restart(submission_id=draft.pk)
    except IntakeError as error:
        if error.code == "already_submitted":  # sent a moment ago from another tab
            return None
        raise SchedulingError("busy") from error
    previous = link.appointment_id if link is not None else None
    if link is not None:
        link.appointment = appointment
        link.save(update_fields=["appointment"])
    else:
        PreInfusionCheckIn.objects.create(appointment=appointment, submission=draft)
    audit_patient_event(
        appointment, "check_in.moved", detail={"round": draft.round, "from_appointment": previous}
    )
    return draft


def _open_round(appointment: Appointment) -> IntakeSubmission:
    try:
        submission = submission_open(
            patient_id=appointment.patient_id, kind=SubmissionKind.CHECK_IN
        )
    except IntakeError as error:
        raise SchedulingError("busy" if error.code == "busy" else "patient_not_found") from error
    PreInfusionCheckIn.objects.create(appointment=appointment, submission=submission)
    audit_patient_event(appointment, "check_in.opened", detail={"round": submission.round})
    return submission


def check_in_progress(appointment_ids: Collection[int]) -> dict[int, str]:
    """For each of these visits, how far its patient got with the check-in (a CheckInState):
    not started (no round linked), started, or sent. One query for any number, none for none."""
    states = dict.fromkeys(appointment_ids, CheckInState.NOT_STARTED)
    if not states:
        return states
    links = PreInfusionCheckIn.objects.filter(appointment_id__in=states).values_list(
        "appointment_id", "submission__status"
    )
    for appointment_id, status in links:
        states[appointment_id] = (
            CheckInState.SENT if status == SubmissionStatus.SUBMITTED else CheckInState.STARTED
        )
    return states


def check_in_states(appointments: Iterable[Appointment], *, now: dt.datetime) -> dict[int, str]:
    """For each of these visits (appointment_type loaded) whose check-in is open, its
    CheckInState; visits without an open check-in are left out. One query for any number."""
    return check_in_progress([a.pk for a in appointments if _refusal(a, now) is None])
