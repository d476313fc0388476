"""Questionnaire rounds, screening or pre-infusion check-in: the services that open, save and
submit a round (each in its own transaction, with its audit event), the crisis decision, and the
front desk's status badge.

A round's kind (intake.models.SubmissionKind) picks its questionnaire (intake.questions) and its
rules table (intake.eligibility); the save and submit services read it from the round. Only a
screening round copies escort details to the patient.

What a round's answers mean (which questions are shown, required and counted; how an answer reads
back) is pure and lives in intake.answers.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import OperationalError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from intake import questions as questions_
from intake.answers import (
    CRISIS_ITEM,
    effective_answers,
    flag_evidence,
    incomplete_sections,
    instrument_ids,
    is_blank,
    section_entries,
)
from intake.crisis import crisis_alert_raise
from intake.eligibility import evaluate
from intake.eligibility.rules import PHQ9_ITEM9_POSITIVE
from intake.models import (
    CrisisAlert,
    Flag,
    IntakeSubmission,
    Patient,
    Severity,
    SubmissionKind,
    SubmissionStatus,
)
from intake.scoring import score_all
from propel.audit import audit_record
from propel.db import is_lock_timeout, set_local_lock_timeout
from propel.errors import DomainError

logger = logging.getLogger(__name__)

# How long a save or send waits for another request holding the same round before saying "busy".
LOCK_TIMEOUT_MS = 5000


class IntakeError(DomainError):
    """The intake app's one domain error. Messages are written to be shown to the patient."""

    messages = {
        "not_found": _("We could not find these answers. Please use the link we sent you."),
        "already_submitted": _(
            "Your answers have already been sent, so nothing was changed. "
            "If something needs correcting, please call us."
        ),
        "unknown_section": _("That part of the questionnaire does not exist."),
        "incomplete": _("Please finish these steps before sending: {sections}."),
        "busy": _("We are saving your answers. Please wait a moment and try again."),
    }


def crisis_resources_needed(submission: IntakeSubmission) -> bool:
    """Whether the patient must be shown crisis resources for this round (§5.3).

    Read from what was stored: an urgent flag, or, belt and braces, the item-9 answer itself, so
    the resources show even if a rule were ever mis-configured. Showing them needlessly is safe;
    failing to show them is not.
    """
    if not submission.is_submitted:
        return False
    item9 = effective_answers(submission.answers, submission.kind).get(CRISIS_ITEM)
    if isinstance(item9, int) and item9 > 0:
        return True
    return submission.flags.filter(severity=Severity.URGENT).exists()


# --- Services ----------------------------------------------------------------------------------


def _with_kind(submission: IntakeSubmission, detail: dict[str, Any]) -> dict[str, Any]:
    """An event's detail, with the round's kind when it is not a screening."""
    if submission.kind != SubmissionKind.SCREENING:
        detail["kind"] = str(submission.kind)
    return detail


def _audit_round(
    action: str, submission: IntakeSubmission, detail: dict[str, Any] | None = None
) -> None:
    """The round's audit event, inside the caller's transaction; its detail names the round
    (and kind) unless `detail` is given."""
    audit_record(
        action=action,
        patient_id=submission.patient_id,
        obj=submission,
        detail=_with_kind(submission, {"round": submission.round}) if detail is None else detail,
    )


def _lock_submission(submission_id: int, *, with_patient: bool = False) -> IntakeSubmission:
    """Lock one round's row (inside the caller's transaction), waiting at most LOCK_TIMEOUT_MS."""
    set_local_lock_timeout(LOCK_TIMEOUT_MS)
    rounds = IntakeSubmission.objects.select_for_update(of=("self",))
    if with_patient:
        rounds = rounds.select_related("patient")
    try:
        return rounds.get(pk=submission_id)
    except IntakeSubmission.DoesNotExist:
        raise IntakeError("not_found") from None
    except OperationalError as error:
        if is_lock_timeout(error):
            raise IntakeError("busy") from error
        raise


def _lock_draft(submission_id: int, *, with_patient: bool = False) -> IntakeSubmission:
    """Lock a round (_lock_submission) that must still be a draft: a sent round raises
    IntakeError("already_submitted")."""
    submission = _lock_submission(submission_id, with_patient=with_patient)
    if submission.is_submitted:
        raise IntakeError("already_submitted")
    return submission


def submission_current(*, patient_id: int) -> IntakeSubmission | None:
    """The patient's draft if there is one, else the latest submitted round, else None."""
    rounds = IntakeSubmission.objects.screenings().filter(patient_id=patient_id)
    draft = rounds.filter(status=SubmissionStatus.DRAFT).first()
    if draft is not None:
        return draft
    return rounds.filter(status=SubmissionStatus.SUBMITTED).order_by("-round").first()


def submission_open(*, patient_id: int, kind: str = SubmissionKind.SCREENING) -> IntakeSubmission:
    """The patient's draft round of this kind, created (round = previous highest of the kind + 1)
    if there is none.

    Locks the patient row so two devices opening at once get the same draft; idempotent.
    """
    kind = SubmissionKind(kind)
    with transaction.atomic():
        try:
            Patient.objects.select_for_update().only("pk").get(pk=patient_id)
        except Patient.DoesNotExist:
            raise IntakeError("not_found") from None
        rounds = IntakeSubmission.objects.filter(patient_id=patient_id, kind=kind)
        draft = rounds.filter(status=SubmissionStatus.DRAFT).first()
        if draft is not None:
            return draft
        previous = rounds.aggregate(highest=Max("round"))["highest"] or 0
        draft = IntakeSubmission.objects.create(
            patient_id=patient_id, kind=kind, round=previous + 1
        )
        _audit_round("intake.started", draft)
        return draft


def submission_restart(*, submission_id: int) -> IntakeSubmission:
    """Clear a draft round's answers and finished steps, keeping the round.

    For a check-in draft left from a visit that did not happen (cancelled, moved, or past): its
    answers describe another day (the alcohol question above all), so they must not be sent for
    the next visit. Never sent, they were never part of the record. Refuses a submitted round.
    Locks the round row; audited.
    """
    with transaction.atomic():
        submission = _lock_draft(submission_id)
        submission.answers = {}
        submission.completed_sections = []
        submission.save(update_fields=["answers", "completed_sections", "updated_at"])
        _audit_round("intake.restarted", submission)
    return submission


def submission_save_section(
    *,
    submission_id: int,
    section_key: str,
    answers: Mapping[str, Any],
    complete: bool = True,
    now: dt.datetime | None = None,
) -> IntakeSubmission:
    """Store one section's answers (flat keys; None removes an answer) and, unless `complete` is
    False, mark the section done. The section is one of the round's questionnaire (its kind).
    Answers to other sections are untouched, so a question hidden by this change keeps its old
    answer (ignored while hidden). Refuses a submitted round.

    A section holding PHQ-9 item 9 answered above 0 raises the round's urgent flag and crisis
    alert in this same transaction (intake.crisis), whether or not the round is ever sent."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = _lock_submission(submission_id, with_patient=True)
        keys = questions_.section_keys(submission.kind)
        if section_key not in keys:
            raise IntakeError("unknown_section")
        allowed = {entry.key for entry in section_entries(section_key, submission.kind)}
        unknown = set(answers) - allowed
        if unknown:
            raise ValueError(f"answers for another section: {sorted(unknown)}")
        if submission.is_submitted:
            raise IntakeError("already_submitted")
        stored = dict(submission.answers)
        for key, value in answers.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = value
        submission.answers = stored
        if complete and section_key not in submission.completed_sections:
            done = {*submission.completed_sections, section_key}
            submission.completed_sections = [k for k in keys if k in done]
        submission.save(update_fields=["answers", "completed_sections", "updated_at"])
        detail = _with_kind(submission, {"section": section_key})
        _audit_round("intake.section_saved", submission, detail)
        if CRISIS_ITEM in allowed:
            _raise_crisis_alert(submission, now=now)
    return submission


def submission_report_crisis_answer(
    *, submission_id: int, item9: int, now: dt.datetime | None = None
) -> CrisisAlert | None:
    """PHQ-9 item 9 as posted on a step that was refused (a check-in round outside its window,
    intake.check_in_window): the step is not stored, but patient safety wins over the window
    (issue 14 §4). A positive answer raises the round's urgent flag and crisis alert and texts the
    on-call clinician exactly as a saved step would (_raise_crisis_alert: one alert per round,
    its priority only rises); the flag's evidence carries the answer, the round's answers stay as
    they were, and the audit log says the alert came from a step that was not saved. Returns the
    alert, or None for item 9 = 0.

    Locks the round row (IntakeError "busy" after LOCK_TIMEOUT_MS); refuses a sent round.
    `item9` must be one of the item's answer values (0-3): the caller validated it alone.
    """
    if not 0 <= item9 <= 3:
        raise ValueError(f"PHQ-9 item 9 is 0-3, not {item9!r}")
    now = now or timezone.now()
    with transaction.atomic():
        submission = _lock_draft(submission_id, with_patient=True)
        alert = _raise_crisis_alert(
            submission, now=now, answers={**submission.answers, CRISIS_ITEM: item9}
        )
        if alert is not None:
            _audit_round("intake.crisis_answer_not_saved", submission)
    return alert


def _raise_crisis_alert(
    submission: IntakeSubmission,
    *,
    now: dt.datetime,
    results: Iterable[Any] | None = None,
    answers: Mapping[str, Any] | None = None,
) -> CrisisAlert | None:
    """The item-9 rule over the round's answers (or `answers`, for a refused step's answer that
    was not stored); when it fires, raise (or raise the priority of) the round's alert and flag
    (intake.crisis.crisis_alert_raise). Inside the caller's transaction, the round locked. A 0
    after a positive answer changes nothing: the alert stays."""
    answers = effective_answers(submission.answers if answers is None else answers, submission.kind)
    if results is None:
        results = evaluate(
            answers,
            date_of_birth=submission.patient.date_of_birth,
            today=timezone.localdate(now),
            kind=submission.kind,
        )
    hit = next((r for r in results if r.rule_id == PHQ9_ITEM9_POSITIVE.id), None)
    if hit is None:
        return None
    priority = _alert_priority([hit]) or "immediate"
    return crisis_alert_raise(
        submission=submission, priority=priority, flag=hit, answers=answers, now=now
    )


def _alert_priority(results: Iterable[Any]) -> str | None:
    urgent = [r for r in results if r.severity == Severity.URGENT]
    if not urgent:
        return None
    if any(r.priority == "immediate" for r in urgent):
        return "immediate"
    return "urgent"


def intake_submit(*, submission_id: int, now: dt.datetime | None = None) -> IntakeSubmission:
    """Send a round: score it, raise its flags, freeze it. Exactly once.

    Locks the submission row, re-checks it is a complete draft, computes scores and flags from the
    answers that count in its questionnaire (stale answers to hidden questions are left out) with
    its kind's rules table, then claims the row with a conditional update (draft -> submitted). A
    second call, concurrent or later, raises IntakeError("already_submitted") and changes nothing.
    An urgent flag (PHQ-9 item 9, in a screening or a check-in) raises the round's CrisisAlert if
    the step save has not already (intake.crisis: one alert per round, priority only rises), and
    flags raised at a step save are kept even if the answer has changed since. Only a screening
    copies the escort's details to the patient; a check-in stores only its own scores (the
    instruments it asks).
    """
    now = now or timezone.now()
    with transaction.atomic():
        submission = _lock_draft(submission_id, with_patient=True)
        incomplete = incomplete_sections(submission)
        if incomplete:
            names = ", ".join(str(s.title) for s in incomplete)
            raise IntakeError("incomplete", sections=names)
        patient = submission.patient
        kind = submission.kind
        screening = kind == SubmissionKind.SCREENING
        answers = effective_answers(submission.answers, kind)
        scores = _round_scores(answers, kind)
        results = evaluate(
            answers,
            date_of_birth=patient.date_of_birth,
            today=timezone.localdate(now),
            kind=kind,
        )
        claimed = IntakeSubmission.objects.filter(
            pk=submission.pk, status=SubmissionStatus.DRAFT
        ).update(status=SubmissionStatus.SUBMITTED, submitted_at=now, scores=scores)
        if claimed != 1:
            raise IntakeError("already_submitted")
        _store_flags(submission, results, answers)
        if screening:
            _copy_escort(patient, answers, now=now)
        # One alert per round: raised at the step save already, or now; never a second one.
        _raise_crisis_alert(submission, now=now, results=results)
        _audit_round("intake.submitted", submission)
    submission.refresh_from_db()
    return submission


def _round_scores(answers: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """Every instrument's score for a screening; only the instruments it asks for a check-in."""
    scores = score_all(answers)
    if kind == SubmissionKind.SCREENING:
        return scores
    asked = set(instrument_ids(kind))
    return {key: value for key, value in scores.items() if key in asked}


def _store_flags(
    submission: IntakeSubmission, results: Iterable[Any], answers: Mapping[str, Any]
) -> None:
    """The rules' flags with their evidence; flags raised while saving (the item-9 flag,
    intake.crisis) stay as they were."""
    raised = set(submission.flags.values_list("rule_id", flat=True))
    date_of_birth = submission.patient.date_of_birth
    Flag.objects.bulk_create(
        Flag(
            submission=submission,
            rule_id=result.rule_id,
            severity=result.severity,
            title=result.title,
            evidence=flag_evidence(
                result.evidence, answers, date_of_birth=date_of_birth, kind=submission.kind
            ),
            source=result.source,
        )
        for result in results
        if result.rule_id not in raised
    )


def _copy_escort(patient: Patient, answers: Mapping[str, Any], *, now: dt.datetime) -> None:
    escort = {
        field: answers[field]
        for field in ("escort_name", "escort_phone")
        if not is_blank(answers.get(field))
    }
    if escort:
        Patient.objects.filter(pk=patient.pk).update(**escort, updated_at=now)


# --- Status badge for front-desk pages ---------------------------------------------------------


class ScreeningStatus(enum.StrEnum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    AWAITING_REVIEW = "submitted, awaiting review"
    URGENT = "needs urgent attention"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ScreeningStatus.NOT_STARTED: _("not started"),
    ScreeningStatus.IN_PROGRESS: _("in progress"),
    ScreeningStatus.AWAITING_REVIEW: _("submitted, awaiting review"),
    ScreeningStatus.URGENT: _("needs urgent attention"),
}


def screening_statuses(patient_ids: Iterable[int]) -> dict[int, ScreeningStatus]:
    """The screening badge for each patient, in two queries whatever the number of patients.

    Safe to show to front desk: no answer, score or flag is revealed, only whether the patient has
    an un-acknowledged crisis alert ("needs urgent attention").
    """
    ids = set(patient_ids)
    statuses = dict.fromkeys(ids, ScreeningStatus.NOT_STARTED)
    rounds = (
        IntakeSubmission.objects.screenings()
        .filter(patient_id__in=ids)
        .order_by("patient_id", "round")
        .values_list("patient_id", "status")
    )
    for patient_id, status in rounds:
        statuses[patient_id] = (
            ScreeningStatus.IN_PROGRESS
            if status == SubmissionStatus.DRAFT
            else ScreeningStatus.AWAITING_REVIEW
        )
    urgent = CrisisAlert.objects.filter(patient_id__in=ids, acknowledged_at__isnull=True)
    for patient_id in urgent.values_list("patient_id", flat=True):
        statuses[patient_id] = ScreeningStatus.URGENT
    return statuses


def screening_status(patient_id: int) -> ScreeningStatus:
    return screening_statuses([patient_id])[patient_id]
