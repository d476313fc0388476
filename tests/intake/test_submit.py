"""Sending a round: refused until complete, scored and flagged once, frozen afterwards."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse

from intake.examples import COMPLETE_ANSWERS, complete_answers
from intake.links import patient_link_token
from intake.models import (
    CrisisAlert,
    Flag,
    IntakeSubmission,
    Patient,
    SubmissionStatus,
)
from intake.questions import SECTION_KEYS
from intake.screening import (
    IntakeError,
    intake_submit,
    submission_open,
    submission_save_section,
)
from propel.models import AuditEvent
from tests.factories import (
    IntakeSubmissionFactory,
    PatientFactory,
    section_post_data,
)
from tests.patient_links import open_session
from tests.threads import all_at_once

# 10:30 in Sacramento on 10 March 2027, and 02:30 UTC on the 11th: the rules get the clinic's date.
NOW = dt.datetime(2027, 3, 11, 2, 30, tzinfo=dt.UTC)


def flagged(**changes) -> dict:
    """Uncontrolled known hypertension (a hard stop) plus BP medicine (info)."""
    return complete_answers(bp_diagnosed="yes", bp_treated="yes", bp_controlled="no", **changes)


@pytest.mark.django_db
class TestService:
    def test_submit_scores_flags_freezes_and_audits(self, patient):
        submission = IntakeSubmissionFactory(patient=patient, complete=True, answers=flagged())

        result = intake_submit(submission_id=submission.pk, now=NOW)

        assert result.status == SubmissionStatus.SUBMITTED
        assert result.submitted_at == NOW
        assert result.scores["phq9"]["total"] == 0
        assert result.scores["phq9"]["band"] == "None-minimal"
        assert result.scores["mme_per_day"] == "0.0"
        flags = {flag.rule_id: flag for flag in result.flags.all()}
        assert set(flags) == {"hypertension_uncontrolled", "bp_medicine"}
        hard_stop = flags["hypertension_uncontrolled"]
        assert hard_stop.severity == "hard_stop"
        assert hard_stop.source
        assert hard_stop.evidence == [
            {
                "key": "bp_diagnosed",
                "question": "Do you have high blood pressure?",
                "answer": "Yes",
            },
            {
                "key": "bp_controlled",
                "question": "Is it currently controlled on treatment?",
                "answer": "No",
            },
        ]
        event = AuditEvent.objects.get(action="intake.submitted")
        assert event.actor is None
        assert event.patient_id == patient.pk
        assert event.detail == {"round": 1}
        assert not CrisisAlert.objects.exists()

    def test_age_rules_get_the_date_of_birth_and_the_clinic_date(self):
        # 18 on 11 March 2027: still 17 on the clinic's date (10 March), though UTC says the 11th.
        patient = PatientFactory(date_of_birth=dt.date(2009, 3, 11))
        submission = IntakeSubmissionFactory(patient=patient, complete=True)

        intake_submit(submission_id=submission.pk, now=NOW)

        flag = Flag.objects.get(submission=submission, rule_id="under_18")
        assert flag.evidence == [
            {"key": "date_of_birth", "question": "Date of birth", "answer": "Mar 11, 2009"}
        ]

    def test_medicine_evidence_names_the_row(self, patient):
        answers = complete_answers(
            takes_medications="yes",
            medications=[{"name": "Oxycodone", "dose": "30", "unit": "mg", "times_per_day": 4}],
        )
        submission = IntakeSubmissionFactory(patient=patient, complete=True, answers=answers)

        result = intake_submit(submission_id=submission.pk, now=NOW)

        assert result.scores["mme_per_day"] == "180.0"
        flag = result.flags.get(rule_id="med_opioid_high_mme")
        assert flag.evidence == [
            {
                "key": "medications[0]",
                "question": "Your medicines (1)",
                "answer": "Oxycodone, 30 mg, 4 times a day",
            }
        ]

    def test_stale_answers_to_hidden_questions_are_not_scored(self, patient):
        answers = complete_answers(
            stressful_experience="no", **{f"pcl5_{n}": 4 for n in range(1, 21)}
        )
        submission = IntakeSubmissionFactory(patient=patient, complete=True, answers=answers)

        result = intake_submit(submission_id=submission.pk, now=NOW)

        assert "pcl5" not in result.scores
        assert result.answers["pcl5_1"] == 4  # kept exactly as given

    def test_escort_details_are_copied_to_the_patient(self, patient):
        submission = IntakeSubmissionFactory(patient=patient, complete=True)

        intake_submit(submission_id=submission.pk, now=NOW)

        patient.refresh_from_db()
        assert patient.escort_name == "Sam Driver"
        assert str(patient.escort_phone) == "+19165550102"

    def test_no_escort_leaves_the_patient_record_alone(self):
        patient = PatientFactory(escort_name="Old Driver")
        answers = {k: v for k, v in COMPLETE_ANSWERS.items() if not k.startswith("escort")}
        submission = IntakeSubmissionFactory(patient=patient, complete=True, answers=answers)

        intake_submit(submission_id=submission.pk, now=NOW)

        patient.refresh_from_db()
        assert patient.escort_name == "Old Driver"

    def test_an_unfinished_round_is_refused_naming_the_steps(self, patient):
        submission = IntakeSubmissionFactory(
            patient=patient, answers=complete_answers(), completed_sections=["about"]
        )

        with pytest.raises(IntakeError) as error:
            intake_submit(submission_id=submission.pk, now=NOW)

        assert error.value.code == "incomplete"
        assert "Cancer history" in error.value.message
        assert "About you" not in error.value.message
        submission.refresh_from_db()
        assert submission.status == SubmissionStatus.DRAFT

    def test_a_step_marked_done_but_missing_a_required_answer_is_unfinished(self, patient):
        answers = complete_answers()
        del answers["phq9_9"]
        submission = IntakeSubmissionFactory(patient=patient, complete=True, answers=answers)

        with pytest.raises(IntakeError, match="How you have been feeling"):
            intake_submit(submission_id=submission.pk, now=NOW)

    def test_a_second_submit_changes_nothing(self, patient):
        submission = IntakeSubmissionFactory(patient=patient, complete=True, answers=flagged())
        intake_submit(submission_id=submission.pk, now=NOW)

        with pytest.raises(IntakeError) as error:
            intake_submit(submission_id=submission.pk, now=NOW + dt.timedelta(minutes=1))

        assert error.value.code == "already_submitted"
        assert Flag.objects.filter(submission=submission).count() == 2
        assert IntakeSubmission.objects.get(pk=submission.pk).submitted_at == NOW
        assert AuditEvent.objects.filter(action="intake.submitted").count() == 1

    def test_a_submitted_round_cannot_be_saved_into(self, patient):
        submission = IntakeSubmissionFactory(patient=patient, complete=True)
        intake_submit(submission_id=submission.pk, now=NOW)

        with pytest.raises(IntakeError) as error:
            submission_save_section(
                submission_id=submission.pk, section_key="about", answers={"weight_lb": 90}
            )

        assert error.value.code == "already_submitted"
        assert IntakeSubmission.objects.get(pk=submission.pk).answers["weight_lb"] == 150

    def test_saving_refuses_answers_for_another_step(self, patient):
        submission = submission_open(patient_id=patient.pk)
        with pytest.raises(ValueError, match="another section"):
            submission_save_section(
                submission_id=submission.pk, section_key="about", answers={"phq9_9": 3}
            )
        with pytest.raises(IntakeError):
            submission_save_section(submission_id=submission.pk, section_key="x", answers={})

    def test_a_new_round_follows_the_last_one(self, patient):
        first = IntakeSubmissionFactory(patient=patient, complete=True)
        intake_submit(submission_id=first.pk, now=NOW)

        second = submission_open(patient_id=patient.pk)

        assert second.round == 2
        assert submission_open(patient_id=patient.pk).pk == second.pk  # idempotent


@pytest.mark.django_db
class TestPages:
    @pytest.fixture
    def token(self, client, patient):
        """The patient's link, opened in `client`: addresses carry its session's marker."""
        return open_session(client, patient)

    def review(self, token: str) -> str:
        return reverse("intake:review", kwargs={"token": token})

    def test_sending_from_the_review_page(self, client, patient, token):
        IntakeSubmissionFactory(patient=patient, complete=True)

        response = client.post(self.review(token))

        assert response["Location"] == reverse(
            "intake:submitted", kwargs={"token": token, "round": 1}
        )
        page = client.get(response["Location"])
        assert "Thank you. Your answers have been sent." in page.text
        assert "Your questionnaire was received on" in page.text
        assert "A clinician reviews it within 2 business days." in page.text

    def test_pressing_send_twice_makes_one_submission_and_one_set_of_flags(
        self, client, patient, token
    ):
        IntakeSubmissionFactory(patient=patient, complete=True, answers=flagged())

        first = client.post(self.review(token))
        second = client.post(self.review(token))

        assert first["Location"] == second["Location"]
        assert IntakeSubmission.objects.filter(patient=patient).count() == 1
        assert Flag.objects.count() == 2

    def test_sending_an_unfinished_round_explains_what_is_missing(self, client, patient, token):
        IntakeSubmissionFactory(
            patient=patient, answers=complete_answers(), completed_sections=list(SECTION_KEYS[:3])
        )

        response = client.post(self.review(token))

        assert response.status_code == 200
        assert "Please finish these steps before sending" in response.text
        assert IntakeSubmission.objects.get(patient=patient).status == SubmissionStatus.DRAFT

    def test_a_submitted_round_is_read_only(self, client, patient, token):
        submission = IntakeSubmissionFactory(patient=patient, complete=True)
        intake_submit(submission_id=submission.pk, now=NOW)
        summary = reverse("intake:summary", kwargs={"token": token, "round": 1})

        response = client.post(
            reverse("intake:section", kwargs={"token": token, "section_key": "about"}),
            section_post_data("about", complete_answers(weight_lb=400)),
            follow=True,
        )

        assert response.redirect_chain == [(summary, 302)]
        assert "Your answers have already been sent, so nothing was changed." in response.text
        assert IntakeSubmission.objects.get(pk=submission.pk).answers["weight_lb"] == 150
        # Every way in leads to the read-only summary.
        assert client.get(reverse("intake:start", kwargs={"token": token}))["Location"] == summary
        assert client.get(self.review(token))["Location"] == summary
        page = client.get(summary)
        assert "The answers you sent" in page.text
        assert "Save and continue" not in page.text
        assert "<form" not in page.text.split("<main", 1)[1]


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_sends_make_one_submission_and_one_set_of_flags():
    threads_count = 8
    patient = PatientFactory()
    submission = IntakeSubmissionFactory(patient=patient, complete=True, answers=flagged())

    outcomes, finished = all_at_once(
        threads_count, lambda _: intake_submit(submission_id=submission.pk, now=NOW)
    )

    assert finished
    sent = [o for o in outcomes if isinstance(o, IntakeSubmission)]
    refused = [o for o in outcomes if isinstance(o, IntakeError)]
    assert len(sent) == 1
    assert len(refused) == threads_count - 1
    assert all(error.code == "already_submitted" for error in refused)
    assert Flag.objects.filter(submission=submission).count() == 2
    assert AuditEvent.objects.filter(action="intake.submitted").count() == 1
    assert Patient.objects.get(pk=patient.pk).escort_name == "Sam Driver"


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_first_visits_open_one_draft():
    threads_count = 8
    patient = PatientFactory()

    opened, _ = all_at_once(threads_count, lambda _: submission_open(patient_id=patient.pk).pk)

    assert len(set(opened)) == 1
    assert IntakeSubmission.objects.filter(patient=patient).count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_save_that_waits_too_long_for_the_round_says_busy_and_keeps_the_answers(
    client, monkeypatch
):
    monkeypatch.setattr("intake.screening.LOCK_TIMEOUT_MS", 200)
    patient = PatientFactory()
    submission = submission_open(patient_id=patient.pk)
    token = patient_link_token(patient)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                IntakeSubmission.objects.select_for_update().get(pk=submission.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        response = client.post(
            reverse("intake:section", kwargs={"token": token, "section_key": "about"}),
            section_post_data("about", COMPLETE_ANSWERS),
        )
    finally:
        release.set()
        holder.join(timeout=10)

    assert response.status_code == 200
    assert "We are saving your answers. Please wait a moment and try again." in response.text
    assert 'value="Pat Example"' in response.text
    assert IntakeSubmission.objects.get(pk=submission.pk).answers == {}
