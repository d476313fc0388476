"""Whether a patient is cleared (intake.clearance): the latest decision, its last valid day in
clinic time, and a newer screening round ending it; the front-desk status and its labels."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake.clearance import (
    ClearanceKind,
    clearance_refusal,
    clearance_status,
    clearance_statuses,
    has_valid_clearance,
)
from intake.models import DecisionKind, SubmissionKind
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import (
    ClearanceDecisionFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    SubmittedScreeningFactory,
)

NOW = dt.datetime(2027, 1, 4, 10, 0, tzinfo=LA)
TODAY = dt.date(2027, 1, 4)
LAST_DAY = dt.date(2027, 7, 5)  # ClearanceDecisionFactory's valid_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    yield from stopped_clock(NOW)


def decided(patient, kind=DecisionKind.CLEARED, *, round_=1, hours=0, **kwargs):
    """A decision on the patient's screening round `round_` (created if needed)."""
    submission = patient.submissions.filter(
        kind=SubmissionKind.SCREENING, round=round_
    ).first() or SubmittedScreeningFactory(patient=patient, round=round_)
    if kind != DecisionKind.CLEARED:
        kwargs.setdefault("valid_until", None)
        kwargs.setdefault("reason", "Because.")
    return ClearanceDecisionFactory(
        submission=submission,
        kind=kind,
        decided_at=dt.datetime(2027, 1, 4, 20, 0, tzinfo=dt.UTC) + dt.timedelta(hours=hours),
        **kwargs,
    )


def test_no_decision_means_not_cleared_and_pending(patient):
    SubmittedScreeningFactory(patient=patient)
    assert not has_valid_clearance(patient.pk, NOW)
    status = clearance_status(patient.pk, today=TODAY)
    assert status.kind == ClearanceKind.PENDING
    assert status.label == "Pending review"
    assert clearance_refusal(patient.pk, NOW) == (
        "No clinician has decided on the patient's screening yet."
    )


def test_a_patient_with_no_screening_at_all_is_pending(patient):
    assert not has_valid_clearance(patient.pk, NOW)
    status = clearance_status(patient.pk, today=TODAY)
    assert status.kind == ClearanceKind.PENDING
    # Nothing is waiting for review (issue 17): the label says what is missing.
    assert status.label == "No screening sent yet"
    IntakeSubmissionFactory(patient=patient)  # a draft is not sent either
    assert clearance_status(patient.pk, today=TODAY).label == "No screening sent yet"


def test_a_clearance_holds_until_its_last_day_inclusive(patient):
    decided(patient)
    assert has_valid_clearance(patient.pk, NOW)
    status = clearance_status(patient.pk, today=TODAY)
    assert (status.kind, status.valid_until) == (ClearanceKind.CLEARED, LAST_DAY)
    assert status.label == "Cleared until Mon, Jul 5, 2027"
    assert clearance_refusal(patient.pk, NOW) == ""

    assert has_valid_clearance(patient.pk, at(LAST_DAY, 9))
    assert has_valid_clearance(patient.pk, at(LAST_DAY, 23, 59))
    # 22:00 on the last day in Sacramento is already the next day in UTC: still cleared.
    assert has_valid_clearance(patient.pk, dt.datetime(2027, 7, 6, 5, 0, tzinfo=dt.UTC))


def test_the_day_after_the_last_day_the_clearance_has_expired(patient):
    decided(patient)
    day_after = LAST_DAY + dt.timedelta(days=1)
    assert not has_valid_clearance(patient.pk, at(day_after, 0, 0))
    status = clearance_status(patient.pk, today=day_after)
    assert (status.kind, status.label) == (ClearanceKind.EXPIRED, "Clearance expired")
    # Booking ahead, while the clearance still runs today:
    assert clearance_refusal(patient.pk, at(day_after, 10)) == (
        "The patient's clearance is valid only until Mon, Jul 5, 2027, before this date."
    )
    # Once it has run out:
    with time_machine.travel(at(day_after, 8), tick=False):
        assert clearance_refusal(patient.pk, at(day_after, 10)) == (
            "The patient's clearance expired on Mon, Jul 5, 2027."
        )


def test_a_decline_after_a_clearance_ends_it(patient):
    decided(patient)
    decided(patient, DecisionKind.DECLINED, hours=1)
    assert not has_valid_clearance(patient.pk, NOW)
    status = clearance_status(patient.pk, today=TODAY)
    assert (status.kind, status.label) == (ClearanceKind.DECLINED, "Declined")
    assert clearance_refusal(patient.pk, NOW) == "A clinician declined the patient for infusion."


def test_a_clearance_after_a_decline_clears(patient):
    decided(patient, DecisionKind.DECLINED)
    decided(patient, hours=1)
    assert has_valid_clearance(patient.pk, NOW)


def test_the_latest_decision_wins_by_decision_time_not_insertion_order(patient):
    decided(patient, hours=2)
    decided(patient, DecisionKind.DECLINED, hours=1)  # recorded later, decided earlier
    assert has_valid_clearance(patient.pk, NOW)


def test_needs_information_is_not_cleared(patient):
    decided(patient)
    decided(patient, DecisionKind.NEEDS_INFORMATION, hours=1)
    assert not has_valid_clearance(patient.pk, NOW)
    status = clearance_status(patient.pk, today=TODAY)
    assert (status.kind, status.label) == (ClearanceKind.NEEDS_INFORMATION, "Needs information")
    assert "asked the patient for more information" in clearance_refusal(patient.pk, NOW)


def test_a_new_screening_round_submitted_after_clearance_ends_it(patient):
    decided(patient)
    IntakeSubmissionFactory(patient=patient, round=2)  # a draft does not end it
    assert has_valid_clearance(patient.pk, NOW)

    patient.submissions.filter(round=2).update(
        status="submitted", submitted_at=NOW, answers={"sex": "female"}
    )

    assert not has_valid_clearance(patient.pk, NOW)
    status = clearance_status(patient.pk, today=TODAY)
    assert (status.kind, status.label) == (ClearanceKind.PENDING, "Pending review")
    assert clearance_refusal(patient.pk, NOW) == (
        "The patient's clearance ended when they sent a new screening; a clinician needs to "
        "review it."
    )


def test_a_new_round_after_a_decline_awaits_review(patient):
    decided(patient, DecisionKind.DECLINED)
    SubmittedScreeningFactory(patient=patient, round=2)
    assert clearance_status(patient.pk, today=TODAY).kind == ClearanceKind.PENDING
    assert clearance_refusal(patient.pk, NOW) == (
        "The patient's latest screening is waiting for a clinician's review."
    )


def test_a_check_in_round_does_not_end_a_clearance(patient):
    decided(patient)
    SubmittedScreeningFactory(patient=patient, round=1, kind=SubmissionKind.CHECK_IN)
    SubmittedScreeningFactory(patient=patient, round=2, kind=SubmissionKind.CHECK_IN)
    assert has_valid_clearance(patient.pk, NOW)
    assert clearance_status(patient.pk, today=TODAY).kind == ClearanceKind.CLEARED


def test_a_clearance_of_the_newest_round_is_valid(patient):
    decided(patient, DecisionKind.NEEDS_INFORMATION)
    decided(patient, round_=2, hours=1)
    assert has_valid_clearance(patient.pk, NOW)


def test_another_patients_decision_does_not_count(patient, other_patient):
    decided(other_patient)
    assert not has_valid_clearance(patient.pk, NOW)
    assert has_valid_clearance(other_patient.pk, NOW)


@pytest.mark.parametrize(
    "last_day",
    [dt.date(2027, 3, 14), dt.date(2027, 11, 7)],  # the days the clocks change
)
def test_the_last_day_is_a_clinic_date_on_days_the_clocks_change(patient, last_day):
    decided(patient, valid_until=last_day)
    assert has_valid_clearance(patient.pk, at(last_day, 0, 30))
    assert has_valid_clearance(patient.pk, at(last_day, 23, 30))
    next_day = last_day + dt.timedelta(days=1)
    assert not has_valid_clearance(patient.pk, at(next_day, 0, 0))
    assert not has_valid_clearance(patient.pk, at(next_day, 0, 30))


def test_the_clinic_date_is_used_whatever_time_zone_is_active(patient):
    from django.utils import timezone

    decided(patient, valid_until=dt.date(2027, 3, 14))
    # 23:30 on the 14th in Sacramento is the 15th in Tokyo and in UTC.
    late = at(dt.date(2027, 3, 14), 23, 30)
    with timezone.override("Asia/Tokyo"):
        assert has_valid_clearance(patient.pk, late)
    assert has_valid_clearance(patient.pk, late.astimezone(dt.UTC))


def test_a_naive_datetime_is_refused(patient):
    with pytest.raises(ValueError):
        has_valid_clearance(patient.pk, dt.datetime(2027, 1, 5, 10, 0))


def test_statuses_of_many_patients_take_a_fixed_number_of_queries():
    def patients(count: int) -> list[int]:
        ids = []
        for index in range(count):
            patient = PatientFactory()
            ids.append(patient.pk)
            kind = [DecisionKind.CLEARED, DecisionKind.DECLINED, None][index % 3]
            if kind is not None:
                decided(patient, kind)
                decided(patient, hours=1)
            if index % 4 == 0:
                SubmittedScreeningFactory(patient=patient, round=2)
        return ids

    few, many = patients(5), patients(50)
    with CaptureQueriesContext(connection) as few_queries:
        few_statuses = clearance_statuses(few, today=TODAY)
    with CaptureQueriesContext(connection) as many_queries:
        many_statuses = clearance_statuses(many, today=TODAY)

    assert len(few_queries) == len(many_queries) <= 3
    assert set(few_statuses) == set(few)
    assert set(many_statuses) == set(many)
    for ids, statuses in ((few, few_statuses), (many, many_statuses)):
        for patient_id in ids:
            assert statuses[patient_id] == clearance_status(patient_id, today=TODAY)
    assert {s.kind for s in many_statuses.values()} == {
        ClearanceKind.CLEARED,
        ClearanceKind.PENDING,
    }


def test_statuses_of_nobody_take_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert clearance_statuses([], today=TODAY) == {}
    assert len(queries) == 0


def test_status_labels_name_no_reason(patient):
    decided(patient, DecisionKind.DECLINED, reason="Recent heart attack.")
    status = clearance_status(patient.pk, today=TODAY)
    assert "heart" not in status.label.lower()
    assert "heart" not in clearance_refusal(patient.pk, NOW).lower()
