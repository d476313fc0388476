"""The page a patient sees when an unsent pre-infusion check-in round is outside its window
(intake.check_in_window): calm, nothing saved, and never hiding crisis resources.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from intake.answers import CRISIS_ITEM, section_entries
from intake.check_in_window import check_in_closed
from intake.crisis import item9_value
from intake.models import CrisisAlert, IntakeSubmission
from intake.screening import IntakeError, submission_report_crisis_answer
from propel.http import post_data

logger = logging.getLogger(__name__)


def _posted_item9(request: HttpRequest, submission: IntakeSubmission, section_key: str) -> int:
    """PHQ-9 item 9 as posted on this request to the step that asks it (not saved): one of the
    item's own answer values, validated alone (the rest of the step is not read), else 0."""
    if request.method != "POST":
        return 0
    entry = next(
        (e for e in section_entries(section_key, submission.kind) if e.key == CRISIS_ITEM), None
    )
    if entry is None or entry.item is None:
        return 0
    data = post_data(request)
    if data is None:
        return 0
    posted = data.get(CRISIS_ITEM, "").strip()
    values = {str(option.value): option.value for option in entry.item.options}
    value = values.get(posted)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _report_crisis_answer(submission: IntakeSubmission, item9: int, *, now: dt.datetime) -> str:
    """Raise the round's alert for a positive item 9 on a refused step; the error to show, if
    any."""
    try:
        submission_report_crisis_answer(submission_id=submission.pk, item9=item9, now=now)
    except IntakeError as exc:
        # "busy": another request holds the round past the lock timeout. The resources still
        # show; the patient is asked to send the page again, which raises the alert then.
        logger.error("check-in round %s: crisis answer not reported (%s)", submission.pk, exc.code)
        return exc.message
    return ""


def check_in_closed_page(
    request: HttpRequest, submission: IntakeSubmission, section_key: str | None = None
) -> HttpResponse | None:
    """The calm "not now" page when an unsent check-in round is outside its window (the gate
    scheduling registers in intake.check_in_window), else None. Nothing is saved.

    Crisis resources are never hidden behind it: a round whose stored item 9 is positive (or that
    has an alert) shows them on this page too. Patient safety wins over the window (issue 14 §4):
    a refused step that carried a positive item 9 still raises the round's alert and texts the
    on-call clinician, as a saved step would, though the step itself is not stored.
    """
    if submission.is_submitted:
        return None
    now = timezone.now()
    message = check_in_closed(submission.pk, now)
    if message is None:
        return None
    posted = _posted_item9(request, submission, section_key) if section_key else 0
    error = _report_crisis_answer(submission, posted, now=now) if posted > 0 else ""
    stored = (item9_value(submission.answers) or 0) > 0 or (
        CrisisAlert.objects.filter(submission=submission).exists()
    )
    return render(
        request,
        "intake/check_in_closed.html",
        {
            "message": message,
            "crisis": stored or posted > 0,
            "error": error,
            "not_saved": request.method == "POST",
        },
    )
