"""Issue 17 §6: the patient reads exactly where their questionnaire stands and what comes next,
in one wording (intake.questionnaire_progress), never "pending" for something not started, with
clinic-local dates; and the front desk's clearance badge says "No screening sent yet" rather than
"Pending review" when nothing was sent."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from intake.clearance import clearance_status
from intake.questionnaire_progress import (
    QuestionnaireFacts,
    questionnaire_facts,
    questionnaire_progress,
    questionnaire_wording,
)
from tests.factories import (
    ClearanceDecisionFactory,
    IntakeSubmissionFactory,
    SubmittedScreeningFactory,
)
from tests.patient_links import open_session

LA = ZoneInfo("America/Los_Angeles")
# 02:30 UTC on Dec 4 is still Dec 3 in Sacramento: the date the patient reads is the clinic's.
LATE_EVENING = dt.datetime(2026, 12, 4, 2, 30, tzinfo=dt.UTC)
NEXT_DAY = dt.datetime(2026, 12, 4, 19, 0, tzinfo=dt.UTC)


def words(facts: QuestionnaireFacts, days: int = 2) -> str:
    wording = questionnaire_wording(facts, review_days=days, tz=LA)
    return f"{wording.said} {wording.next} [{wording.action}]"


def test_not_started_says_so_and_offers_the_start():
    text = words(QuestionnaireFacts())
    assert text.startswith("You have not started the questionnaire yet.")
    assert text.endswith("[start]")
    assert "pending" not in text.lower()


def test_a_draft_says_when_it_was_started_and_that_it_is_not_sent():
    text = words(QuestionnaireFacts(state="draft", started_at=LATE_EVENING))
    assert text.startswith("You started your questionnaire on Dec 3 and have not sent it yet.")
    assert "When you send it, a clinician reviews it within 2 business days." in text
    assert text.endswith("[continue]")


def test_a_sent_questionnaire_says_when_it_was_received_and_the_review_time():
    facts = QuestionnaireFacts(
        state="submitted", started_at=LATE_EVENING, submitted_at=LATE_EVENING
    )
    assert words(facts) == (
        "Your questionnaire was received on Dec 3. "
        "A clinician reviews it within 2 business days. []"
    )
    assert "within 1 business day." in words(facts, days=1)


def test_a_reviewed_questionnaire_says_when_and_never_what_was_decided():
    facts = QuestionnaireFacts(state="submitted", submitted_at=LATE_EVENING, reviewed_at=NEXT_DAY)
    text = words(facts)
    assert text.startswith("Your questionnaire was received on Dec 3 and reviewed on Dec 4.")
    for decision_word in ("cleared", "declined", "eligible", "approved"):
        assert decision_word not in text.lower()


def test_a_request_for_more_information_says_when_and_sends_them_to_the_questionnaire():
    facts = QuestionnaireFacts(state="draft", started_at=NEXT_DAY, info_requested_at=NEXT_DAY)
    text = words(facts)
    assert text.startswith("On Dec 4 the care team asked you for more information.")
    assert text.endswith("[continue]")


@pytest.mark.django_db
def test_the_facts_come_from_the_latest_round_and_its_decision(patient):
    assert questionnaire_facts(patient.pk) == QuestionnaireFacts()

    draft = IntakeSubmissionFactory(patient=patient)
    assert questionnaire_facts(patient.pk).state == "draft"
    assert questionnaire_facts(patient.pk).started_at == draft.started_at
    draft.delete()

    sent = SubmittedScreeningFactory(patient=patient)
    facts = questionnaire_facts(patient.pk)
    assert (facts.state, facts.submitted_at, facts.reviewed_at) == (
        "submitted",
        sent.submitted_at,
        None,
    )

    decision = ClearanceDecisionFactory(submission=sent, declined=True)
    assert questionnaire_facts(patient.pk).reviewed_at == decision.decided_at

    asked = ClearanceDecisionFactory(
        submission=sent, needs_information=True, decided_at=decision.decided_at + dt.timedelta(1)
    )
    IntakeSubmissionFactory(patient=patient, round=2, info_request="Please tell us more.")
    facts = questionnaire_facts(patient.pk)
    assert (facts.state, facts.info_requested_at, facts.reviewed_at) == (
        "draft",
        asked.decided_at,
        None,
    )


@pytest.mark.django_db
def test_the_review_time_is_a_setting(patient, settings):
    SubmittedScreeningFactory(patient=patient)
    settings.QUESTIONNAIRE_REVIEW_BUSINESS_DAYS = 3
    assert (
        questionnaire_progress(patient.pk).next == "A clinician reviews it within 3 business days."
    )


@pytest.mark.django_db
def test_the_front_desk_badge_is_pending_review_only_once_something_was_sent(patient):
    today = dt.date(2027, 1, 5)
    assert clearance_status(patient.pk, today=today).label == "No screening sent yet"
    SubmittedScreeningFactory(patient=patient)
    assert clearance_status(patient.pk, today=today).label == "Pending review"


@pytest.mark.django_db
def test_the_answers_pages_say_where_the_latest_round_stands_and_nothing_for_older_ones(
    client, patient
):
    first = SubmittedScreeningFactory(patient=patient)
    ClearanceDecisionFactory(submission=first)
    second = SubmittedScreeningFactory(patient=patient, round=2)
    token = open_session(client, patient)

    def page(name: str, round_: int) -> str:
        url = reverse(f"intake:{name}", kwargs={"token": token, "round": round_})
        return client.get(url).content.decode()

    for name in ("summary", "submitted"):
        latest = page(name, second.round)
        assert "Your questionnaire was received on Jan 4." in latest
        assert "A clinician reviews it within 2 business days." in latest
        older = page(name, first.round)
        assert 'id="questionnaire-status"' not in older or "received on" not in older
        assert "reviews it within" not in older and "pending" not in older.lower()
