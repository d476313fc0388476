"""Staff screening pages: who may see them, what they show, what they record, how they scale;
and the front desk's status badge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake.examples import complete_answers
from intake.models import CrisisAlert, Flag, IntakeSubmission
from intake.screening import ScreeningStatus, intake_submit, screening_status, screening_statuses
from propel.models import AuditEvent
from tests.factories import (
    IntakeSubmissionFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 3, 10, 18, 0, tzinfo=dt.UTC)


def sent(patient=None, *, at: dt.datetime = NOW, **changes) -> IntakeSubmission:
    submission = IntakeSubmissionFactory(
        patient=patient or PatientFactory(),
        complete=True,
        answers=complete_answers(**changes),
    )
    return intake_submit(submission_id=submission.pk, now=at)


URGENT = {"phq9_9": 2}
HARD_STOP = {"bp_diagnosed": "yes", "bp_treated": "yes", "bp_controlled": "no"}
OPIOIDS = {
    "takes_medications": "yes",
    "medications": [{"name": "Oxycodone", "dose": "30", "unit": "mg", "times_per_day": 4}],
}


def detail(submission: IntakeSubmission) -> str:
    return reverse("intake:staff_submission", kwargs={"submission_id": submission.pk})


LIST = reverse("intake:staff_submissions")


# --- Access ---------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(patient):
    address = detail(sent(patient))
    response = Client().get(address)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("propel:login"))


def test_front_desk_and_staff_without_a_role_are_refused(
    patient, front_desk, no_role_user, client_for
):
    address = detail(sent(patient, **URGENT))
    for user in (front_desk, no_role_user):
        response = client_for(user).get(address)
        assert response.status_code == 403
        assert patient.last_name not in response.text
    assert not AuditEvent.objects.filter(action="chart.viewed").exists()


def test_signed_in_without_the_second_factor_is_sent_to_it(patient, clinician_user):
    client = Client()
    client.force_login(clinician_user)
    response = client.get(detail(sent(patient)))
    assert response.status_code == 302
    assert response["Location"] == reverse("propel:second_factor")


@pytest.mark.parametrize("persona", ["clinician_user", "admin_user"])
def test_clinicians_and_admins_see_the_chart_and_each_view_is_audited(
    persona, patient, client_for, request
):
    user = request.getfixturevalue(persona)
    submission = sent(patient)
    client = client_for(user)

    assert client.get(detail(submission)).status_code == 200
    assert client.get(detail(submission)).status_code == 200

    events = AuditEvent.objects.filter(action="chart.viewed", actor=user, patient_id=patient.pk)
    assert events.count() == 2
    assert events.first().object_id == str(submission.pk)


def test_an_unknown_round_is_404(clinician_user, client_for):
    response = client_for(clinician_user).get(
        reverse("intake:staff_submission", kwargs={"submission_id": 999999})
    )
    assert response.status_code == 404


# --- The chart ----------------------------------------------------------------------------------


def test_the_chart_shows_urgency_flags_evidence_sources_scores_and_answers(
    patient, clinician_user, client_for
):
    submission = sent(patient, phq9_1=2, phq9_difficulty=1, **URGENT, **HARD_STOP, **OPIOIDS)
    CrisisAlert.objects.filter(submission=submission).update(notified_at=NOW)

    page = client_for(clinician_user).get(detail(submission)).text

    main = page.split('<main id="main"', 1)[1]
    assert main.index("Urgent: this patient needs a clinician now") < main.index("Flags")
    assert "Immediate: phone within the hour" in main
    assert "Clinicians emailed" in main
    for flag in Flag.objects.filter(submission=submission):
        assert flag.title.split(" — ")[0] in main
        assert flag.source.replace("&", "&amp;") in main
    urgent_flag = Flag.objects.get(submission=submission, severity="urgent")
    assert main.index(urgent_flag.title[:30]) < main.index("Known high blood pressure")
    assert "Thoughts that you would be better off dead or of hurting yourself in some way" in main
    assert "More than half the days" in main
    assert "Patient Health Questionnaire-9 (PHQ-9)" in main
    assert "4 / 27" in main
    assert "None-minimal" in main
    assert "morphine milligram equivalents per day" in main
    assert "180.0" in main
    assert "Oxycodone, 30 mg, 4 times a day" in main
    assert "About you" in main
    assert "Sam Driver" in main


def test_an_unsent_alert_is_called_out(patient, clinician_user, client_for):
    submission = sent(patient, **URGENT)

    page = client_for(clinician_user).get(detail(submission)).text

    assert "Not yet: check the on-call list and call the patient" in page


def test_a_draft_chart_says_it_is_not_sent(patient, clinician_user, client_for):
    submission = IntakeSubmissionFactory(patient=patient, answers=complete_answers())

    page = client_for(clinician_user).get(detail(submission)).text

    assert "in progress, not sent yet" in page
    assert "Flags are raised when the patient sends the answers." in page


# --- The old list address ----------------------------------------------------------------------


def test_the_old_list_address_leads_to_the_review_queue(clinician_user, client_for):
    response = client_for(clinician_user).get(LIST)
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:review_queue")


# --- The front desk's badge ---------------------------------------------------------------------


def test_the_status_badge_follows_the_round_and_reveals_no_answers():
    nothing = PatientFactory()
    started = IntakeSubmissionFactory().patient
    waiting = sent().patient
    urgent = sent(**URGENT).patient

    assert screening_status(nothing.pk) == ScreeningStatus.NOT_STARTED
    assert screening_status(started.pk) == ScreeningStatus.IN_PROGRESS
    assert screening_status(waiting.pk) == ScreeningStatus.AWAITING_REVIEW
    assert screening_status(urgent.pk) == ScreeningStatus.URGENT
    assert ScreeningStatus.URGENT.label == "needs urgent attention"

    CrisisAlert.objects.filter(patient=urgent).update(
        acknowledged_at=timezone.now(), outcome="Called; safe."
    )
    assert screening_status(urgent.pk) == ScreeningStatus.AWAITING_REVIEW


def test_badges_for_many_patients_take_two_queries(django_assert_num_queries):
    patients = [sent(**(URGENT if i % 3 == 0 else {})).patient for i in range(6)]
    ids = [patient.pk for patient in patients] + [PatientFactory().pk]

    with django_assert_num_queries(2):
        statuses = screening_statuses(ids)

    assert statuses[ids[-1]] == ScreeningStatus.NOT_STARTED
    assert statuses[ids[0]] == ScreeningStatus.URGENT
    assert statuses[ids[1]] == ScreeningStatus.AWAITING_REVIEW
