"""Where a patient's screening questionnaire stands, in words the patient may read: what happened
(not started, started on a date, received on a date, the care team asked for more on a date,
reviewed on a date) and what comes next. The one home of this wording: the patient's page and the
"answers sent" page use it (issue 17: never "pending" for something not started).

`questionnaire_facts` reads the facts (two queries); `questionnaire_wording` is pure. What the
patient sees is what they saw before: whether and when their questionnaire was received and
reviewed, never a decision, a flag or a score. The care team's request itself is read on the
questionnaire page, not here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from intake.models import ClearanceDecision, DecisionKind, IntakeSubmission, SubmissionStatus
from propel import formatting

NOT_STARTED = "none"
DRAFT = SubmissionStatus.DRAFT.value
SUBMITTED = SubmissionStatus.SUBMITTED.value


@dataclass(frozen=True)
class QuestionnaireFacts:
    """The patient's latest screening round: `state` "none", "draft" or "submitted", when it was
    started and sent, when the care team asked for more (a draft they reopened) and when a
    clinician reviewed the round sent."""

    state: str = NOT_STARTED
    started_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None
    info_requested_at: dt.datetime | None = None
    reviewed_at: dt.datetime | None = None


@dataclass(frozen=True)
class QuestionnaireWording:
    """`said`: what happened; `next`: what comes next; `action`: "start", "continue" or ""
    (the button the page shows, to the questionnaire)."""

    said: str
    next: str
    action: str


def questionnaire_facts(patient_id: int) -> QuestionnaireFacts:
    latest = (
        IntakeSubmission.objects.screenings()
        .filter(patient_id=patient_id)
        .order_by("-round")
        .values("pk", "status", "started_at", "submitted_at", "info_request")
        .first()
    )
    if latest is None:
        return QuestionnaireFacts()
    decision = (
        ClearanceDecision.objects.filter(patient_id=patient_id)
        .order_by("-decided_at", "-id")
        .values("submission_id", "kind", "decided_at")
        .first()
    )
    info_requested_at = reviewed_at = None
    if decision is not None:
        asked = decision["kind"] == DecisionKind.NEEDS_INFORMATION
        if latest["status"] == DRAFT and asked and latest["info_request"]:
            info_requested_at = decision["decided_at"]
        elif latest["status"] == SUBMITTED and decision["submission_id"] == latest["pk"]:
            reviewed_at = None if asked else decision["decided_at"]
    return QuestionnaireFacts(
        state=latest["status"],
        started_at=latest["started_at"],
        submitted_at=latest["submitted_at"],
        info_requested_at=info_requested_at,
        reviewed_at=reviewed_at,
    )


def _day(moment: dt.datetime, tz: ZoneInfo) -> str:
    return formatting.short_date(moment.astimezone(tz).date())


def questionnaire_wording(
    facts: QuestionnaireFacts, *, review_days: int, tz: ZoneInfo
) -> QuestionnaireWording:
    """What the patient reads about their questionnaire (dates are clinic-local)."""
    review = ngettext(
        "A clinician reviews it within %(days)s business day.",
        "A clinician reviews it within %(days)s business days.",
        review_days,
    ) % {"days": review_days}
    if facts.state == SUBMITTED and facts.submitted_at is not None:
        received = _day(facts.submitted_at, tz)
        if facts.reviewed_at is not None:
            said = _(
                "Your questionnaire was received on %(received)s and reviewed on %(reviewed)s."
            )
            return QuestionnaireWording(
                said % {"received": received, "reviewed": _day(facts.reviewed_at, tz)},
                _("The care team will go through it with you; you have nothing more to do now."),
                "",
            )
        said = _("Your questionnaire was received on %(received)s.") % {"received": received}
        return QuestionnaireWording(said, review, "")
    if facts.state == DRAFT and facts.info_requested_at is not None:
        said = _("On %(day)s the care team asked you for more information.")
        return QuestionnaireWording(
            said % {"day": _day(facts.info_requested_at, tz)},
            _(
                "Open your questionnaire to see what they asked; your other answers are kept. "
                "When you send it, a clinician reviews it again."
            ),
            "continue",
        )
    if facts.state == DRAFT and facts.started_at is not None:
        said = _("You started your questionnaire on %(day)s and have not sent it yet.")
        return QuestionnaireWording(
            said % {"day": _day(facts.started_at, tz)},
            ngettext(
                "Your answers so far are saved. When you send it, a clinician reviews it within "
                "%(days)s business day.",
                "Your answers so far are saved. When you send it, a clinician reviews it within "
                "%(days)s business days.",
                review_days,
            )
            % {"days": review_days},
            "continue",
        )
    return QuestionnaireWording(
        _("You have not started the questionnaire yet."),
        _(
            "It takes about 20 minutes, and you can stop and come back to it. Please send it "
            "before your consultation."
        ),
        "start",
    )


def questionnaire_progress(patient_id: int) -> QuestionnaireWording:
    """The wording for this patient now, with the clinic's review time
    (QUESTIONNAIRE_REVIEW_BUSINESS_DAYS) and zone."""
    return questionnaire_wording(
        questionnaire_facts(patient_id),
        review_days=settings.QUESTIONNAIRE_REVIEW_BUSINESS_DAYS,
        tz=timezone.get_default_timezone(),
    )
