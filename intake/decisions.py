"""A clinician's review of a screening round: acknowledging flags and crisis alerts, and the
clearance decision (cleared until a date, declined, needs more information).

Every service owns its transaction and writes one audit event in it (the event names what was
decided, never the note, reason or outcome text). Only clinicians decide
(Capability.CLEARANCE_DECIDE); the check is here, so no view, admin action or task can bypass it.
Acknowledgements and decisions are append-only history: acknowledging again adds a row, a later
decision supersedes an earlier one. Whether a patient is cleared is read by intake.clearance.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from intake import questions as questions_
from intake.clearance import clinic_date
from intake.information_request import information_request_plan
from intake.models import (
    ClearanceDecision,
    CrisisAlert,
    DecisionKind,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    Severity,
    SubmissionKind,
    SubmissionStatus,
)
from intake.screening import submission_open
from propel import formatting
from propel.audit import audit_record
from propel.db import is_lock_timeout, set_local_lock_timeout
from propel.errors import DomainError
from propel.roles import Capability, can

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
# How long a decision waits for another request holding the same round before saying "busy".
LOCK_TIMEOUT_MS = 5000


class DecisionError(DomainError):
    """The review's one domain error. Messages are written to be shown to clinicians."""

    messages = {
        "changed": _(
            "Another decision was recorded for this patient while you were reading. Please look "
            "at it before deciding."
        ),
        "not_allowed": _("Only a clinician can make this decision."),
        "not_found": _("That could not be found. It may have been removed; please reload."),
        "not_screening": _("Only a screening can be cleared, declined or reopened."),
        "not_submitted": _("The patient has not sent this screening yet."),
        "superseded": _(
            "The patient has sent a newer screening (round {round}). Please review that one."
        ),
        "busy": _("Someone else is working on this screening. Please try again in a moment."),
        "unknown_kind": _("Please choose a decision."),
        "note_required": _("Please write a note saying what you make of this flag."),
        "outcome_required": _(
            "Please say what was done, for example: phoned the patient, safe, plan documented."
        ),
        "too_long": _("Please keep this to {limit} characters or fewer."),
        "already_acknowledged": _("{by} already acknowledged this alert at {at}."),
        "unacknowledged": _(
            "Every flag needs an acknowledgement note before clearing; {count} still to do."
        ),
        "crisis_open": _(
            "This patient has an urgent alert that nobody has acknowledged yet. Acknowledge it, "
            "with what was done, before clearing."
        ),
        "override_needed": _(
            "This screening has a hard stop. Clearing it needs an explicit override reason."
        ),
        "valid_until_past": _("A clearance must last until a date after today."),
        "valid_until_too_far": _("A clearance can last at most {days} days, until {latest}."),
        "reason_required": _("Please give the reason for declining."),
        "message_required": _("Please write the message to the patient saying what is needed."),
        "sections_required": _("Please choose at least one part of the questionnaire to reopen."),
        "unknown_section": _("That part of the questionnaire does not exist."),
        "flag_wording": _(
            "The patient will read this message, so it must not repeat a flag's wording. "
            "Please say in plain words what you need from them."
        ),
    }


class DecisionChanged(DecisionError):
    """Another decision was recorded for the patient after the clinician's page was drawn."""

    def __init__(self, latest: ClearanceDecision | None) -> None:
        self.latest = latest
        super().__init__("changed")


def _require_decider(actor: Any) -> None:
    if actor is None or not can(actor, Capability.CLEARANCE_DECIDE):
        raise DecisionError("not_allowed")


def _text(value: str | None, *, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DecisionError(missing)
    if len(text) > MAX_TEXT:
        raise DecisionError("too_long", limit=MAX_TEXT)
    return text


@contextmanager
def _busy_refused() -> Iterator[None]:
    """A lock wait past LOCK_TIMEOUT_MS becomes DecisionError("busy"); other database errors
    are raised as they are."""
    try:
        yield
    except OperationalError as error:
        if is_lock_timeout(error):
            raise DecisionError("busy") from error
        raise


# --- Acknowledgements ------------------------------------------------------------------------


def flag_acknowledge(
    *,
    flag_id: int,
    actor: Any,
    note: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> FlagAcknowledgement:
    """Record that a clinician has seen a flag, with their note (required, at most MAX_TEXT
    characters). Acknowledging again appends another row; nothing is replaced."""
    _require_decider(actor)
    note = _text(note, missing="note_required")
    now = now or timezone.now()
    with transaction.atomic():
        flag = Flag.objects.select_related("submission").filter(pk=flag_id).first()
        if flag is None:
            raise DecisionError("not_found")
        acknowledgement = FlagAcknowledgement.objects.create(flag=flag, by=actor, at=now, note=note)
        audit_record(
            action="flag.acknowledged",
            actor=actor,
            request=request,
            patient_id=flag.submission.patient_id,
            obj=acknowledgement,
            detail={"flag_id": flag.pk, "submission_id": flag.submission_id},
        )
    return acknowledgement


def crisis_alert_acknowledge(
    *,
    alert_id: int,
    actor: Any,
    outcome: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> CrisisAlert:
    """Record who acted on a crisis alert, when, and what was done (screening reference §5.3).

    Exactly once: the alert is claimed with a conditional update, so of two clinicians pressing at
    the same moment one wins and the other gets DecisionError("already_acknowledged") naming who
    acknowledged it and when.
    """
    _require_decider(actor)
    outcome = _text(outcome, missing="outcome_required")
    now = now or timezone.now()
    with transaction.atomic():
        claimed = CrisisAlert.objects.filter(pk=alert_id, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=actor, outcome=outcome
        )
        alert = CrisisAlert.objects.select_related("acknowledged_by").filter(pk=alert_id).first()
        if alert is None:
            raise DecisionError("not_found")
        if claimed != 1:
            raise DecisionError(
                "already_acknowledged",
                by=_person(alert.acknowledged_by),
                at=formatting.local_datetime(timezone.localtime(alert.acknowledged_at)),
            )
        audit_record(
            action="crisis_alert.acknowledged",
            actor=actor,
            request=request,
            patient_id=alert.patient_id,
            obj=alert,
            detail={"priority": alert.priority, "submission_id": alert.submission_id},
        )
    return alert


def _person(user: Any) -> str:
    if user is None:
        return str(_("Someone"))
    return user.get_full_name() or user.get_username()


# --- The clearance decision ------------------------------------------------------------------


def _lock_round(submission_id: int) -> IntakeSubmission:
    try:
        return IntakeSubmission.objects.select_for_update(of=("self",)).get(pk=submission_id)
    except IntakeSubmission.DoesNotExist:
        raise DecisionError("not_found") from None


def _latest_round(patient_id: int) -> int:
    latest = (
        IntakeSubmission.objects.screenings()
        .submitted()
        .filter(patient_id=patient_id)
        .order_by("-round")
        .values_list("round", flat=True)
        .first()
    )
    return latest or 0


def _valid_until(valid_until: dt.date | None, *, today: dt.date) -> dt.date:
    longest = today + dt.timedelta(days=settings.CLEARANCE_MAX_DAYS)
    if valid_until is None:
        return min(today + dt.timedelta(days=settings.CLEARANCE_VALID_DAYS), longest)
    if valid_until <= today:
        raise DecisionError("valid_until_past")
    if valid_until > longest:
        raise DecisionError(
            "valid_until_too_far",
            days=settings.CLEARANCE_MAX_DAYS,
            latest=formatting.local_date(longest),
        )
    return valid_until


def _check_clearable(submission: IntakeSubmission, override_reason: str) -> str:
    """Refuse clearing while anything is unacknowledged; return the override reason to store."""
    flags = Flag.objects.filter(submission=submission)
    unacknowledged = flags.filter(acknowledgements__isnull=True).count()
    if unacknowledged:
        raise DecisionError("unacknowledged", count=unacknowledged)
    if CrisisAlert.objects.filter(
        patient_id=submission.patient_id, acknowledged_at__isnull=True
    ).exists():
        raise DecisionError("crisis_open")
    if flags.filter(severity=Severity.HARD_STOP).exists():
        override = (override_reason or "").strip()
        if not override:
            raise DecisionError("override_needed")
        if len(override) > MAX_TEXT:
            raise DecisionError("too_long", limit=MAX_TEXT)
        return override
    return ""


def _sections(sections: Iterable[str]) -> list[str]:
    wanted = set(sections or ())
    if not wanted:
        raise DecisionError("sections_required")
    if wanted - set(questions_.SECTION_KEYS):
        raise DecisionError("unknown_section")
    return [key for key in questions_.SECTION_KEYS if key in wanted]


def _reopen(submission: IntakeSubmission, *, sections: list[str], message: str) -> IntakeSubmission:
    """The patient's draft screening round, opened (or reused) with `sections` to answer again.

    A new draft starts from the decided round's answers with every other section done. A draft
    the patient already has keeps its answers; the requested sections are marked not done.
    Raises "superseded" if that draft turns out to have just been sent.
    """
    existing = (
        IntakeSubmission.objects.screenings()
        .filter(patient_id=submission.patient_id, status=SubmissionStatus.DRAFT)
        .values_list("pk", flat=True)
        .first()
    )
    # A draft that exists is locked before the patient row (the order intake_submit uses); only
    # when there is none does submission_open lock the patient to create one.
    draft_id = existing or submission_open(patient_id=submission.patient_id).pk
    draft = IntakeSubmission.objects.select_for_update(of=("self",)).get(pk=draft_id)
    if draft.is_submitted:
        raise DecisionError("superseded", round=draft.round)
    if draft.answers:
        done = set(draft.completed_sections) - set(sections)
    else:
        draft.answers = dict(submission.answers)
        done = set(questions_.SECTION_KEYS) - set(sections)
    draft.completed_sections = [key for key in questions_.SECTION_KEYS if key in done]
    draft.info_request = message
    draft.save(update_fields=["answers", "completed_sections", "info_request", "updated_at"])
    return draft


def clearance_decide(
    *,
    submission_id: int,
    actor: Any,
    kind: str,
    valid_until: dt.date | None = None,
    reason: str = "",
    override_reason: str = "",
    sections: Iterable[str] = (),
    seen_decision_id: int | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> ClearanceDecision:
    """Record a clinician's decision on the patient's latest submitted screening round.

    With `seen_decision_id` (the latest decision the clinician's page showed, 0 for none), the
    decision is refused with DecisionChanged when another was recorded meanwhile: of two identical
    submissions racing (a double click, two tabs) exactly one is recorded.

    Locks the round's row (a lock wait past LOCK_TIMEOUT_MS raises "busy"), re-checks that it is a
    submitted screening and still the patient's latest, then appends the decision:

    - CLEARED until `valid_until` (a clinic-local date, inclusive; default today +
      CLEARANCE_VALID_DAYS, at most CLEARANCE_MAX_DAYS ahead). Refused while a flag of the round
      has no acknowledgement or the patient has an unacknowledged crisis alert; a hard stop needs
      `override_reason`. `reason` is an optional note.
    - DECLINED with `reason` (required).
    - NEEDS_INFORMATION with `reason`, the message the patient will read, and the `sections` to
      answer again: reopens a draft round for the patient (see `_reopen`) and writes a neutral
      email with their link into the outbox, in this transaction (intake.information_request).

    Nothing is edited: a later decision supersedes an earlier one (intake.clearance).
    """
    _require_decider(actor)
    if kind not in DecisionKind.values:
        raise DecisionError("unknown_kind")
    now = now or timezone.now()
    today = clinic_date(now)
    with _busy_refused(), transaction.atomic():
        set_local_lock_timeout(LOCK_TIMEOUT_MS)
        submission = _lock_decidable_round(submission_id, seen_decision_id=seen_decision_id)
        fields, detail, reopened = _decision_fields(
            submission,
            kind,
            today=today,
            valid_until=valid_until,
            reason=reason,
            override_reason=override_reason,
            sections=sections,
        )
        decision = _decision_record(
            submission, kind, actor=actor, request=request, now=now, fields=fields, detail=detail
        )
        if reopened is not None:
            information_request_plan(decision_id=decision.pk)
    return decision


def _lock_decidable_round(submission_id: int, *, seen_decision_id: int | None) -> IntakeSubmission:
    """Lock the round and check it can be decided: a submitted screening, still the patient's
    latest, and (with `seen_decision_id`) no decision recorded since the page was shown."""
    submission = _lock_round(submission_id)
    if submission.kind != SubmissionKind.SCREENING:
        raise DecisionError("not_screening")
    if not submission.is_submitted:
        raise DecisionError("not_submitted")
    latest = _latest_round(submission.patient_id)
    if latest > submission.round:
        raise DecisionError("superseded", round=latest)
    if seen_decision_id is not None:
        newest = latest_decision(submission.patient_id)
        if (newest.pk if newest else 0) != seen_decision_id:
            raise DecisionChanged(newest)
    return submission


def _decision_fields(
    submission: IntakeSubmission,
    kind: str,
    *,
    today: dt.date,
    valid_until: dt.date | None,
    reason: str,
    override_reason: str,
    sections: Iterable[str],
) -> tuple[dict[str, Any], dict[str, Any], IntakeSubmission | None]:
    """The decision row's fields for its kind, its audit detail, and the round reopened for the
    patient (NEEDS_INFORMATION only; reopening happens here, inside the caller's transaction)."""
    detail: dict[str, Any] = {"round": submission.round, "submission_id": submission.pk}
    if kind == DecisionKind.CLEARED:
        override = _check_clearable(submission, override_reason)
        until = _valid_until(valid_until, today=today)
        note = (reason or "").strip()
        if len(note) > MAX_TEXT:
            raise DecisionError("too_long", limit=MAX_TEXT)
        detail |= {"valid_until": until.isoformat(), "override": bool(override)}
        return {"valid_until": until, "reason": note, "override_reason": override}, detail, None
    if kind == DecisionKind.DECLINED:
        return {"reason": _text(reason, missing="reason_required")}, detail, None
    message = _text(reason, missing="message_required")
    keys = _sections(sections)
    titles = Flag.objects.filter(submission=submission).values_list("title", flat=True)
    if any(title.strip().lower() in message.lower() for title in titles if title):
        raise DecisionError("flag_wording")
    reopened = _reopen(submission, sections=keys, message=message)
    detail |= {"sections": keys, "reopened_round": reopened.round}
    return {"reason": message}, detail, reopened


def _decision_record(
    submission: IntakeSubmission,
    kind: str,
    *,
    actor: Any,
    request: HttpRequest | None,
    now: dt.datetime,
    fields: dict[str, Any],
    detail: dict[str, Any],
) -> ClearanceDecision:
    """Append the decision row and its audit event (inside the caller's transaction)."""
    decision = ClearanceDecision.objects.create(
        patient_id=submission.patient_id,
        submission=submission,
        kind=kind,
        decided_by=actor,
        decided_at=now,
        **fields,
    )
    audit_record(
        action=AUDIT_ACTIONS[kind],
        actor=actor,
        request=request,
        patient_id=submission.patient_id,
        obj=decision,
        detail=detail,
    )
    return decision


AUDIT_ACTIONS: dict[str, str] = {
    DecisionKind.CLEARED: "clearance.cleared",
    DecisionKind.DECLINED: "clearance.declined",
    DecisionKind.NEEDS_INFORMATION: "clearance.needs_information",
}


def latest_decision(patient_id: int) -> ClearanceDecision | None:
    return (
        ClearanceDecision.objects.filter(patient_id=patient_id)
        .select_related("decided_by")
        .order_by("-decided_at", "-pk")
        .first()
    )
