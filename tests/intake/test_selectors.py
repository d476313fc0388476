"""intake.selectors: the read-only questions other apps may ask intake."""

from __future__ import annotations

import datetime as dt

import pytest

from intake import selectors
from intake.models import FlagAcknowledgement
from tests.factories import (
    CrisisAlertFactory,
    FlagFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    SubmittedScreeningFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AT = dt.datetime(2027, 1, 5, 18, 0, tzinfo=dt.UTC)


def test_questionnaire_statuses_follow_the_latest_screening_round():
    nothing, drafting, sent, again = PatientFactory.create_batch(4)
    IntakeSubmissionFactory(patient=drafting)
    SubmittedScreeningFactory(patient=sent)
    SubmittedScreeningFactory(patient=again)
    IntakeSubmissionFactory(patient=again, round=2)

    statuses = selectors.questionnaire_statuses([nothing.pk, drafting.pk, sent.pk, again.pk])

    assert statuses == {
        nothing.pk: "none",
        drafting.pk: "draft",
        sent.pk: "submitted",
        again.pk: "draft",
    }
    assert selectors.questionnaire_status(sent.pk) == "submitted"


def test_questionnaire_statuses_take_one_query(django_assert_num_queries):
    patients = PatientFactory.create_batch(3)
    for patient in patients:
        SubmittedScreeningFactory(patient=patient)

    with django_assert_num_queries(1):
        selectors.questionnaire_statuses(p.pk for p in patients)


def test_screening_submitted_only_once_the_latest_round_is_sent():
    patient = PatientFactory()
    assert not selectors.screening_submitted(patient.pk)
    IntakeSubmissionFactory(patient=patient)
    assert not selectors.screening_submitted(patient.pk)
    SubmittedScreeningFactory(patient=patient, round=2)
    assert selectors.screening_submitted(patient.pk)


def test_a_hard_stop_counts_only_on_the_latest_submitted_round():
    first = FlagFactory(severity="hard_stop").submission
    patient_id = first.patient_id
    assert selectors.has_hard_stop(patient_id)

    SubmittedScreeningFactory(patient=first.patient, round=2)
    assert not selectors.has_hard_stop(patient_id)


def test_a_review_flag_is_not_a_hard_stop():
    flag = FlagFactory(severity="review")
    assert not selectors.has_hard_stop(flag.submission.patient_id)


def test_open_crisis_alert_until_acknowledged():
    alert = CrisisAlertFactory()
    assert selectors.has_open_crisis_alert(alert.patient_id)
    assert not selectors.crisis_alert_acknowledged(alert.submission_id)

    alert.acknowledged_at = AT
    alert.save()
    assert not selectors.has_open_crisis_alert(alert.patient_id)
    assert selectors.crisis_alert_acknowledged(alert.submission_id)


def test_an_urgent_flag_is_unreviewed_until_its_alert_or_the_flag_is_acknowledged():
    flag = FlagFactory(severity="urgent")
    submission_id = flag.submission_id
    assert selectors.round_urgent_unreviewed(submission_id)

    FlagAcknowledgement.objects.create(flag=flag, by=UserFactory(), at=AT, note="Called.")
    assert not selectors.round_urgent_unreviewed(submission_id)


def test_an_acknowledged_alert_settles_the_rounds_urgent_flags():
    alert = CrisisAlertFactory(acknowledged_at=AT)
    FlagFactory(submission=alert.submission, severity="urgent")
    assert not selectors.round_urgent_unreviewed(alert.submission_id)


def test_round_flags_carry_whether_a_clinician_reviewed_them():
    submission = SubmittedScreeningFactory()
    seen = FlagFactory(submission=submission, severity="review", rule_id="a")
    FlagFactory(submission=submission, severity="hard_stop", rule_id="b")
    FlagFactory(submission=submission, severity="info", rule_id="c")
    FlagAcknowledgement.objects.create(flag=seen, by=UserFactory(), at=AT, note="Fine.")

    flags = selectors.round_flags(submission.pk, ["review", "hard_stop"])

    assert [(f.rule_id, f.severity, f.reviewed) for f in flags] == [
        ("a", "review", True),
        ("b", "hard_stop", False),
    ]
