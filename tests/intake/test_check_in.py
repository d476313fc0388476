"""The pre-infusion check-in round (intake kind check_in): its questionnaire, scored like the
intake, its flags (A13, new medicines, other changes), PHQ-9 item 9 on the same crisis path, its
pages, and that it never touches a screening round, the patient's escort or a clearance."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from intake import eligibility, scoring, tasks
from intake.answers import (
    effective_answers,
    instrument_ids,
    missing_answers,
    question_text,
    shown_keys,
)
from intake.clearance import has_valid_clearance
from intake.examples import complete_answers, complete_check_in_answers
from intake.forms import SectionForm
from intake.links import patient_link_token
from intake.models import (
    CrisisAlert,
    IntakeSubmission,
    Patient,
    SubmissionKind,
    SubmissionStatus,
)
from intake.questions import (
    CHECK_IN,
    CHECK_IN_SECTION_KEYS,
    SCREENING,
    questions,
    section_keys,
)
from intake.screening import (
    IntakeError,
    intake_submit,
    submission_current,
    submission_open,
    submission_save_section,
)
from propel.models import AuditEvent
from tests.eager import run_when_queued
from tests.factories import (
    CheckInSubmissionFactory,
    ClearanceDecisionFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    SubmittedScreeningFactory,
    section_post_data,
)
from tests.patient_links import open_link, open_session

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 11, 17, 0, tzinfo=dt.UTC)  # Monday 11 January, 9:00 in Sacramento
ON_CALL = ["on-call@clinic.example"]
A13_WORDING = "Have you had any alcohol or recreational drugs in the last 24 hours?"
HEALTH_WORDS = re.compile(
    r"ketamine|phq|score|suicid|self-harm|harming|depress|item 9|988|\bdead\b|check-in|infusion",
    re.IGNORECASE,
)


def sent_check_in(patient, **changes) -> IntakeSubmission:
    submission = CheckInSubmissionFactory(
        patient=patient, complete=True, answers=complete_check_in_answers(**changes)
    )
    return intake_submit(submission_id=submission.pk, now=NOW)


def phq9(*values: int) -> dict:
    return {f"phq9_{n}": value for n, value in enumerate(values, start=1)}


def gad7(*values: int) -> dict:
    return {f"gad7_{n}": value for n, value in enumerate(values, start=1)}


# --- The questionnaire as data --------------------------------------------------------------------


def test_the_check_in_asks_the_intake_instruments_then_what_changed():
    assert CHECK_IN_SECTION_KEYS == ("phq9", "gad7", "pain", "changes")
    assert section_keys(CHECK_IN) == CHECK_IN_SECTION_KEYS
    assert instrument_ids(CHECK_IN) == ("phq9", "gad7", "nrs11_pain")
    assert set(questions(CHECK_IN)) == {
        "new_medicines",
        "new_medicines_detail",
        "alcohol_or_drugs_recent",
        "other_changes",
        "other_changes_detail",
    }


def test_questionnaire_kinds_are_the_submission_kinds():
    assert {SCREENING, CHECK_IN} == set(SubmissionKind.values)


def test_no_clinic_question_key_is_shared_between_questionnaires():
    assert not set(questions(SCREENING)) & set(questions(CHECK_IN))


def test_the_alcohol_question_is_reference_a13_with_the_hours_from_settings(settings):
    question = questions(CHECK_IN)["alcohol_or_drugs_recent"]
    assert question.rule == "A13"

    settings.CHECK_IN_ABSTINENCE_HOURS = 24
    assert str(question_text(question)) == A13_WORDING
    settings.CHECK_IN_ABSTINENCE_HOURS = 12
    assert str(question_text(question)).endswith("in the last 12 hours?")
    settings.CHECK_IN_ABSTINENCE_HOURS = 1
    assert str(question_text(question)).endswith("in the last 1 hour?")

    form = SectionForm(section_key="changes", saved={}, today=NOW.date(), kind=CHECK_IN)
    assert form.fields["alcohol_or_drugs_recent"].label.endswith("in the last 1 hour?")


def test_details_are_asked_only_after_a_yes_and_only_the_medicines_one_is_required():
    nothing = complete_check_in_answers()
    assert "new_medicines_detail" not in shown_keys(nothing, CHECK_IN)
    assert "other_changes_detail" not in shown_keys(nothing, CHECK_IN)
    assert missing_answers(nothing, kind=CHECK_IN) == []

    changed = complete_check_in_answers(new_medicines="yes", other_changes="yes")
    assert {"new_medicines_detail", "other_changes_detail"} <= shown_keys(changed, CHECK_IN)
    assert [e.key for e in missing_answers(changed, kind=CHECK_IN)] == ["new_medicines_detail"]


def test_screening_answers_do_not_count_in_a_check_in():
    answers = complete_check_in_answers(escort_name="Someone Else", has_cancer="yes")
    assert "escort_name" not in effective_answers(answers, CHECK_IN)
    assert "has_cancer" not in effective_answers(answers, CHECK_IN)
    assert "alcohol_or_drugs_recent" not in effective_answers(answers)  # the screening's


def test_every_key_a_check_in_rule_reads_is_asked_in_the_check_in():
    asked = set(
        shown_keys(complete_check_in_answers(new_medicines="yes", other_changes="yes"), CHECK_IN)
    )
    ids = [rule.id for rule in eligibility.CHECK_IN_RULES]
    assert len(ids) == len(set(ids)) and all(len(rule_id) <= 40 for rule_id in ids)
    for rule in eligibility.CHECK_IN_RULES:
        assert rule.when.reads <= asked, (rule.id, rule.when.reads - asked)
    # The item-9 rule is the screening's own: same tier, same escalation.
    assert (
        eligibility.rules_by_id(CHECK_IN)["phq9_item9_positive"]
        is eligibility.rules_by_id()["phq9_item9_positive"]
    )


# --- Scoring: the same as the intake --------------------------------------------------------------


@pytest.mark.parametrize(
    ("phq9_items", "gad7_items", "pain", "phq9_total", "phq9_band", "gad7_total", "gad7_band"),
    [
        ((0,) * 9, (0,) * 7, 0, 0, "None-minimal", 0, "Minimal"),
        ((1, 1, 1, 1, 1, 0, 0, 0, 0), (1, 1, 1, 1, 1, 0, 0), 3, 5, "Mild", 5, "Mild"),
        ((2, 2, 2, 2, 2, 1, 1, 1, 1), (2, 2, 2, 2, 2, 0, 0), 6, 14, "Moderate", 10, "Moderate"),
        ((3,) * 8 + (0,), (3,) * 7, 10, 24, "Severe", 21, "Severe"),
    ],
)
def test_a_check_in_is_scored_like_the_intake(
    patient, phq9_items, gad7_items, pain, phq9_total, phq9_band, gad7_total, gad7_band
):
    items = {**phq9(*phq9_items), **gad7(*gad7_items), "nrs_now": pain}
    screening = IntakeSubmissionFactory(
        patient=patient, complete=True, answers=complete_answers(**items)
    )
    screening = intake_submit(submission_id=screening.pk, now=NOW)

    check_in = sent_check_in(patient, **items)

    assert check_in.scores["phq9"]["total"] == phq9_total
    assert check_in.scores["phq9"]["band"] == phq9_band
    assert check_in.scores["gad7"]["total"] == gad7_total
    assert check_in.scores["gad7"]["band"] == gad7_band
    assert check_in.scores["nrs11_pain"]["score"] == pain
    for instrument_id in ("phq9", "gad7", "nrs11_pain"):
        assert check_in.scores[instrument_id] == screening.scores[instrument_id]
        assert check_in.scores[instrument_id] == scoring.score_all(items)[instrument_id]
    # Only what the check-in asks: no PEG, TAPS-1, PCL-5 or MME left "missing".
    assert set(check_in.scores) == {"phq9", "gad7", "nrs11_pain"}


# --- Flags ----------------------------------------------------------------------------------------


def flags(submission: IntakeSubmission) -> dict:
    return {flag.rule_id: flag for flag in submission.flags.all()}


def test_nothing_changed_raises_no_flag(patient):
    assert flags(sent_check_in(patient)) == {}


def test_alcohol_or_drugs_in_the_window_is_a_hard_stop_for_the_day(patient):
    flag = flags(sent_check_in(patient, alcohol_or_drugs_recent="yes"))["check_in_alcohol_or_drugs"]

    assert flag.severity == "hard_stop"
    assert flag.source == "A13 · clinic pre-visit instructions"
    assert "defer today's infusion" in flag.title
    assert flag.evidence == [
        {"key": "alcohol_or_drugs_recent", "question": A13_WORDING, "answer": "Yes"}
    ]


def test_no_alcohol_or_drugs_raises_no_a13_flag(patient):
    assert "check_in_alcohol_or_drugs" not in flags(
        sent_check_in(patient, alcohol_or_drugs_recent="no")
    )


def test_new_medicines_need_a_clinician_review_with_the_patients_words(patient):
    submission = sent_check_in(
        patient, new_medicines="yes", new_medicines_detail="Started sertraline 50 mg"
    )

    flag = flags(submission)["check_in_new_medicines"]
    assert flag.severity == "review"
    assert [row["key"] for row in flag.evidence] == ["new_medicines", "new_medicines_detail"]
    assert flag.evidence[1]["answer"] == "Started sertraline 50 mg"


def test_other_changes_are_information(patient):
    submission = sent_check_in(patient, other_changes="yes", other_changes_detail="Had the flu")

    flag = flags(submission)["check_in_other_changes"]
    assert flag.severity == "info"
    assert flag.evidence[-1]["answer"] == "Had the flu"


def test_moderate_scores_raise_the_same_information_flags_as_the_intake(patient):
    submission = sent_check_in(
        patient, **phq9(2, 2, 2, 2, 2, 0, 0, 0, 0), **gad7(2, 2, 2, 2, 2, 0, 0)
    )

    assert set(flags(submission)) == {"phq9_moderate_or_above", "gad7_moderate_or_above"}


# --- The round itself -----------------------------------------------------------------------------


def test_a_check_in_opens_its_own_round_beside_the_screening(patient):
    screening = submission_open(patient_id=patient.pk)
    check_in = submission_open(patient_id=patient.pk, kind=CHECK_IN)

    assert check_in.pk != screening.pk
    assert (check_in.kind, check_in.round) == (CHECK_IN, 1)
    assert submission_open(patient_id=patient.pk, kind=CHECK_IN).pk == check_in.pk  # idempotent
    assert submission_current(patient_id=patient.pk).pk == screening.pk
    event = AuditEvent.objects.get(action="intake.started", object_id=str(check_in.pk))
    assert event.detail == {"round": 1, "kind": "check_in"}


def test_a_check_in_round_accepts_only_its_own_steps(patient):
    check_in = submission_open(patient_id=patient.pk, kind=CHECK_IN)

    with pytest.raises(IntakeError) as refused:
        submission_save_section(
            submission_id=check_in.pk, section_key="about", answers={"sex": "female"}
        )
    assert refused.value.code == "unknown_section"

    saved = submission_save_section(
        submission_id=check_in.pk,
        section_key="changes",
        answers={"new_medicines": "no", "alcohol_or_drugs_recent": "no", "other_changes": "no"},
    )
    assert saved.completed_sections == ["changes"]


def test_a_check_in_leaves_the_screening_and_the_escort_alone(patient):
    screening = SubmittedScreeningFactory(patient=patient)
    Patient.objects.filter(pk=patient.pk).update(escort_name="Sam Driver")
    before = IntakeSubmission.objects.filter(pk=screening.pk).values().get()
    submission = CheckInSubmissionFactory(
        patient=patient,
        complete=True,
        answers=complete_check_in_answers(escort_name="Not Asked", escort_phone="+19165550199"),
    )

    sent = intake_submit(submission_id=submission.pk, now=NOW)

    assert sent.status == SubmissionStatus.SUBMITTED
    assert IntakeSubmission.objects.filter(pk=screening.pk).values().get() == before
    assert Patient.objects.get(pk=patient.pk).escort_name == "Sam Driver"
    event = AuditEvent.objects.get(action="intake.submitted", object_id=str(sent.pk))
    assert event.detail == {"round": 1, "kind": "check_in"}


def test_a_check_in_round_never_ends_a_clearance(patient):
    decision = ClearanceDecisionFactory(submission__patient=patient)  # cleared until 5 July 2027
    visit = dt.datetime(2027, 1, 12, 17, 0, tzinfo=dt.UTC)
    assert has_valid_clearance(patient.pk, visit)

    sent_check_in(patient, alcohol_or_drugs_recent="yes", **phq9(0, 0, 0, 0, 0, 0, 0, 0, 1))

    assert has_valid_clearance(patient.pk, visit)
    # Control: a new screening round does end it, so the check above can fail.
    newer = IntakeSubmissionFactory(patient=patient, round=decision.submission.round + 1)
    newer.answers, newer.completed_sections = complete_answers(), list(section_keys(SCREENING))
    newer.save()
    intake_submit(submission_id=newer.pk, now=NOW)
    assert not has_valid_clearance(patient.pk, visit)


# --- Pages and the item-9 crisis path ------------------------------------------------------------


@pytest.fixture
def token(client, patient):
    """The patient's link, opened in `client`: addresses carry its session's marker."""
    return open_session(client, patient)


def check_in_url(name: str, token: str, round_: int = 1, **kwargs) -> str:
    return reverse(f"intake:check_in_{name}", kwargs={"token": token, "round": round_, **kwargs})


@pytest.fixture
def eager_alerts(monkeypatch, settings):
    settings.CLINICIAN_ALERT_EMAILS = ON_CALL
    return run_when_queued(monkeypatch, tasks.send_crisis_alert)


def test_a_patient_answers_every_step_in_order_then_sends(client, patient, token):
    submission = submission_open(patient_id=patient.pk, kind=CHECK_IN)
    answers = complete_check_in_answers(new_medicines="yes", new_medicines_detail="Ibuprofen")

    response = client.get(check_in_url("start", token))
    assert response["Location"] == check_in_url("section", token, section_key="phq9")
    for number, key in enumerate(CHECK_IN_SECTION_KEYS, start=1):
        page = client.get(check_in_url("section", token, section_key=key))
        assert page.status_code == 200
        assert f"Step {number} of 4" in page.text
        response = client.post(
            check_in_url("section", token, section_key=key),
            section_post_data(key, answers, kind=CHECK_IN),
        )
        assert response.status_code == 302, response.context and response.context["form"].errors
    assert response["Location"] == check_in_url("review", token)

    review = client.get(check_in_url("review", token))
    assert A13_WORDING in review.text
    assert f'action="{check_in_url("review", token)}"' in review.text
    assert f'href="{check_in_url("section", token, section_key="changes")}"' in review.text
    response = client.post(check_in_url("review", token))

    assert response["Location"] == check_in_url("submitted", token)
    page = client.get(response["Location"])
    assert "Thank you. Your answers have been sent." in page.text
    assert "before your infusion" in page.text
    submission.refresh_from_db()
    assert submission.is_submitted
    assert effective_answers(submission.answers, CHECK_IN) == answers
    assert set(flags(submission)) == {"check_in_new_medicines"}


def test_a_sent_check_in_is_read_only(client, patient, token):
    submission = sent_check_in(patient)

    response = client.post(
        check_in_url("section", token, section_key="changes"),
        {"new_medicines": "yes", "new_medicines_detail": "x", "alcohol_or_drugs_recent": "yes"},
        follow=True,
    )

    assert response.redirect_chain[0][0] == check_in_url("summary", token)
    assert "already been sent" in response.text
    submission.refresh_from_db()
    assert submission.answers == complete_check_in_answers()


def test_check_in_pages_are_the_patients_own_and_only_its_steps(client, patient, token):
    CheckInSubmissionFactory(patient=patient)
    other = PatientFactory()
    other_client = Client()
    other_token = patient_link_token(other)

    assert open_link(other_client, check_in_url("start", other_token)).status_code == 404
    assert other_client.get(check_in_url("section", "me", section_key="phq9")).status_code == 404
    assert client.get(check_in_url("section", token, section_key="about")).status_code == 404
    assert client.get(check_in_url("start", token, round_=2)).status_code == 404
    assert client.get(check_in_url("submitted", token)).status_code == 404  # not sent yet
    assert client.get(check_in_url("start", "not-a-token")).status_code == 404


@pytest.mark.parametrize(("item9", "priority"), [(1, "urgent"), (2, "immediate"), (3, "immediate")])
def test_a_positive_item_9_in_a_check_in_follows_the_crisis_path(
    client, patient, token, eager_alerts, django_capture_on_commit_callbacks, item9, priority
):
    CheckInSubmissionFactory(
        patient=patient,
        complete=True,
        answers=complete_check_in_answers(phq9_9=item9),
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(check_in_url("review", token))
    page = client.get(response["Location"])

    main = page.text.split('<main id="main"', 1)[1]
    assert "Help is available right now" in main
    assert main.index("Help is available right now") < main.index("Thank you")
    for link in ('href="tel:988"', 'href="sms:988"', 'href="tel:911"'):
        assert link in main
    assert "A member of our clinical team will contact you." in main
    for reassurance in ("all clear", "no action needed", "nothing to worry"):
        assert reassurance not in main.lower()

    submission = IntakeSubmission.objects.get(patient=patient, kind=CHECK_IN)
    assert flags(submission)["phq9_item9_positive"].severity == "urgent"
    alert = CrisisAlert.objects.get(patient=patient)
    assert alert.submission_id == submission.pk
    assert alert.priority == priority
    assert alert.notified_at is not None
    assert eager_alerts == [(alert.pk,)]
    [message] = mail.outbox
    assert message.to == ON_CALL
    chart_links = (
        reverse("intake:staff_submission", args=[submission.pk]),
        reverse("intake:chart", args=[patient.pk]),
    )
    assert any(link in message.body for link in chart_links)
    for text in (message.subject, message.body, message.alternatives[0].content):
        assert not HEALTH_WORDS.search(text), text
        assert patient.first_name not in text
        assert patient.last_name not in text

    summary = client.get(check_in_url("summary", token))
    assert "Help is available right now" in summary.text


def test_a_negative_item_9_in_a_check_in_shows_no_crisis_wording(
    client, patient, token, eager_alerts, django_capture_on_commit_callbacks
):
    CheckInSubmissionFactory(patient=patient, complete=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(check_in_url("review", token))
    page = client.get(response["Location"])

    assert "988" not in page.text
    assert not CrisisAlert.objects.exists()
    assert mail.outbox == []


def test_a_check_in_round_reads_as_a_check_in_on_its_staff_page(
    client_for, clinician_user, patient
):
    submission = sent_check_in(patient, phq9_9=1, alcohol_or_drugs_recent="yes")

    page = client_for(clinician_user).get(reverse("intake:staff_submission", args=[submission.pk]))

    assert page.status_code == 200
    assert "Pre-infusion check-in 1" in page.text
    assert "Screening round" not in page.text
    assert A13_WORDING in page.text
    assert "Numeric Rating Scale for pain intensity" in page.text


def test_the_clinicians_chart_shows_the_outcomes_with_check_ins(
    client_for, clinician_user, patient
):
    screening = IntakeSubmissionFactory(
        patient=patient, complete=True, answers=complete_answers(**phq9(2, 2, 2, 2, 2, 2, 2, 2, 0))
    )
    intake_submit(submission_id=screening.pk, now=NOW)
    sent_check_in(patient, **phq9(1, 1, 1, 1, 1, 1, 1, 0, 0))

    page = client_for(clinician_user).get(reverse("intake:chart", args=[patient.pk]))

    assert page.status_code == 200
    outcomes = page.text.split('id="outcomes"', 1)[1]
    assert outcomes.count('<svg xmlns="http://www.w3.org/2000/svg"') == 3
    assert re.findall(r"<td data-score>(\d+)</td>", outcomes)[:2] == ["16", "7"]
