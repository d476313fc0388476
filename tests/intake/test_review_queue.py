"""The review queue: what is in it, in which order, what each row shows, and what it costs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from intake import review
from intake.models import ClearanceDecision, CrisisAlert, DecisionKind
from propel.models import AuditEvent
from scheduling import review_hooks
from scheduling.models import Appointment, AppointmentStatus
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    RoomFactory,
)
from tests.intake.review_data import (
    HARD_STOP,
    NOW,
    QUEUE,
    URGENT,
    bulk_patients,
    bulk_rounds,
    chart_url,
    consultation_lookup,
    sent,
)

pytestmark = pytest.mark.django_db


def queue_ids(client) -> list[int]:
    response = client.get(QUEUE)
    assert response.status_code == 200
    return [row.patient.pk for row in response.context["page"].object_list]


# --- What is in the queue, in which order --------------------------------------------------------


def test_open_crisis_alerts_then_hard_stops_then_consultation_time_then_waiting_time(
    clinician_user, client_for
):
    early = sent(at=NOW - dt.timedelta(hours=1)).patient
    late = sent(at=NOW - dt.timedelta(hours=2)).patient
    none_old = sent(at=NOW - dt.timedelta(days=4)).patient
    none_new = sent(at=NOW - dt.timedelta(days=1)).patient
    hard_stop = sent(at=NOW, **HARD_STOP).patient
    urgent = sent(at=NOW, **URGENT).patient
    soon = timezone.now() + dt.timedelta(days=1)

    with consultation_lookup(
        {early.pk: soon, late.pk: soon + dt.timedelta(days=2), hard_stop.pk: soon}
    ):
        ids = queue_ids(client_for(clinician_user))

    assert ids == [urgent.pk, hard_stop.pk, early.pk, late.pk, none_old.pk, none_new.pk]


def test_an_acknowledged_alert_no_longer_jumps_the_queue_but_still_shows(
    clinician_user, client_for
):
    hard_stop = sent(at=NOW, **HARD_STOP).patient
    urgent_submission = sent(at=NOW - dt.timedelta(days=2), **URGENT)
    CrisisAlert.objects.filter(submission=urgent_submission).update(
        acknowledged_at=NOW, acknowledged_by=clinician_user, outcome="Phoned; safe."
    )
    client = client_for(clinician_user)

    assert queue_ids(client) == [hard_stop.pk, urgent_submission.patient_id]
    page = client.get(QUEUE).content.decode()
    assert "Urgent: self-harm answer" in page
    assert "acknowledged by Test Staffer" in page
    assert "nobody has acknowledged" not in page


def test_an_open_alert_is_a_red_banner_with_its_priority(clinician_user, client_for):
    submission = sent(**URGENT)

    page = client_for(clinician_user).get(QUEUE).content.decode()

    main = page.split('<main id="main"', 1)[1]
    assert 'role="alert"' in main
    assert "1 patient has a self-harm answer that nobody has acknowledged yet" in main
    assert "Urgent: self-harm answer" in main
    assert "Immediate: phone within the hour" in main
    assert "not acknowledged yet" in main
    assert chart_url(submission.patient) in main


def test_decided_rounds_and_drafts_leave_the_queue_and_a_newer_round_comes_back(
    clinician_user, client_for
):
    waiting = sent().patient
    decided = sent()
    ClearanceDecision.objects.create(
        patient=decided.patient,
        submission=decided,
        kind=DecisionKind.DECLINED,
        reason="Not now.",
        decided_by=clinician_user,
        decided_at=NOW,
    )
    IntakeSubmissionFactory()  # a draft
    asked = sent(at=NOW - dt.timedelta(days=3))
    ClearanceDecision.objects.create(
        patient=asked.patient,
        submission=asked,
        kind=DecisionKind.NEEDS_INFORMATION,
        reason="Please tell us more about your blood pressure.",
        decided_by=clinician_user,
        decided_at=NOW - dt.timedelta(days=2),
    )
    client = client_for(clinician_user)
    assert queue_ids(client) == [waiting.pk]

    resent = sent(asked.patient, at=NOW)

    response = client.get(QUEUE)
    rows = {row.patient.pk: row for row in response.context["page"].object_list}
    assert set(rows) == {waiting.pk, asked.patient_id}
    assert rows[asked.patient_id].submission.pk == resent.pk
    assert str(rows[asked.patient_id].status) == "Resubmitted after a request for information"
    assert str(rows[waiting.pk].status) == "New: awaiting first review"


def test_a_decided_patient_with_an_open_alert_stays_in_the_queue(clinician_user, client_for):
    submission = sent(**URGENT)
    ClearanceDecision.objects.create(
        patient=submission.patient,
        submission=submission,
        kind=DecisionKind.DECLINED,
        reason="Unsafe now.",
        decided_by=clinician_user,
        decided_at=NOW,
    )

    response = client_for(clinician_user).get(QUEUE)

    (row,) = response.context["page"].object_list
    assert row.urgent_open
    assert str(row.status) == "Decided, but the crisis alert is still open"


def test_each_row_shows_name_birth_date_consultation_counts_and_status(clinician_user, client_for):
    patient = PatientFactory(first_name="Avery", last_name="Example")
    sent(patient, **HARD_STOP)
    consultation = dt.datetime(2027, 3, 12, 17, 30, tzinfo=dt.UTC)  # 9:30 AM Pacific

    with consultation_lookup({patient.pk: consultation}):
        response = client_for(clinician_user).get(QUEUE)

    (row,) = response.context["page"].object_list
    assert row.counts == {"urgent": 0, "hard_stop": 1, "review": 0, "info": 1}
    page = response.content.decode()
    assert "Example, Avery" in page
    assert "Jan. 1, 1970" in page
    assert "Fri Mar 12, 9:30 AM" in page
    assert "Hard stop 1" in page
    assert "Info 1" in page
    assert "New: awaiting first review" in page


def test_reading_the_queue_is_audited(clinician_user, client_for):
    patient = sent().patient

    client_for(clinician_user).get(QUEUE)

    event = AuditEvent.objects.get(action="review.queue_viewed")
    assert event.actor == clinician_user
    assert event.detail["patients"] == [patient.pk]


# --- Consultation times come from scheduling, through the registry ------------------------------


def test_the_registered_lookup_is_schedulings():
    assert review.consultation_lookup() is review_hooks.next_consultations


def test_without_a_registered_lookup_nobody_has_a_consultation():
    previous = review.set_consultation_lookup(review.no_consultations)
    try:
        assert review.next_consultations({1, 2}, now=NOW) == {}
    finally:
        review.set_consultation_lookup(previous)


def test_schedulings_lookup_finds_the_next_active_consultation_in_one_query(
    django_assert_num_queries,
):
    consultation = AppointmentTypeFactory()
    infusion = AppointmentTypeFactory(code="infusion", name="Infusion", duration_minutes=120)
    room = RoomFactory()
    now = dt.datetime(2027, 1, 4, 17, 0, tzinfo=dt.UTC)
    first, second, cancelled_only, infusion_only, past_only = PatientFactory.create_batch(5)

    def book(patient, start, kind=consultation, **extra):
        return AppointmentFactory(
            patient=patient, appointment_type=kind, room=room, clinician=None, start=start, **extra
        )

    book(first, now + dt.timedelta(days=3))
    book(first, now + dt.timedelta(days=1))
    book(second, now - dt.timedelta(minutes=30))  # in progress: still counts
    book(cancelled_only, now + dt.timedelta(days=2), status=AppointmentStatus.CANCELLED)
    book(infusion_only, now + dt.timedelta(days=5), kind=infusion)
    book(past_only, now - dt.timedelta(days=5))
    ids = {p.pk for p in (first, second, cancelled_only, infusion_only, past_only)}

    with django_assert_num_queries(1):
        found = review_hooks.next_consultations(ids, now=now)

    assert found == {
        first.pk: now + dt.timedelta(days=1),
        second.pk: now - dt.timedelta(minutes=30),
    }


def test_the_queue_orders_by_schedulings_consultations(clinician_user, client_for):
    consultation = AppointmentTypeFactory()
    room = RoomFactory()
    later = sent(at=NOW - dt.timedelta(days=2)).patient
    sooner = sent(at=NOW).patient
    start = timezone.now() + dt.timedelta(days=2)
    for patient, when in ((later, start + dt.timedelta(days=1)), (sooner, start)):
        AppointmentFactory(
            patient=patient, appointment_type=consultation, room=room, clinician=None, start=when
        )
    unbooked = sent(at=NOW - dt.timedelta(days=9)).patient

    response = client_for(clinician_user).get(QUEUE)

    rows = response.context["page"].object_list
    assert [row.patient.pk for row in rows] == [sooner.pk, later.pk, unbooked.pk]
    assert rows[0].consultation == start


# --- Cost ----------------------------------------------------------------------------------------


def _bulk_queue(count: int, clinician) -> None:
    patients = bulk_patients(count)
    bulk_rounds(patients, rounds=2, decided_every=3, alert_every=7, clinician=clinician)
    consultation = AppointmentTypeFactory()
    room = RoomFactory()
    start = timezone.now() + dt.timedelta(days=1)
    Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            appointment_type=consultation,
            room=room,
            start=start + dt.timedelta(hours=2 * index),
            end=start + dt.timedelta(hours=2 * index + 1),
        )
        for index, patient in enumerate(patients)
        if index % 2
    )


# Session, user, device, roles; the rounds, the consultations, recent decisions; the audit row;
# the idle-timeout session write (savepoint, update, release); the crisis banner's open alerts (1,
# every clinician page: intake.context_processors).
QUEUE_QUERY_CEILING = 12


@pytest.mark.parametrize("patients", [5, 500])
def test_the_queue_costs_the_same_for_5_or_500_patients(
    patients, clinician_user, client_for, django_assert_max_num_queries
):
    _bulk_queue(patients, clinician_user)
    client = client_for(clinician_user)

    with django_assert_max_num_queries(QUEUE_QUERY_CEILING):
        response = client.get(QUEUE)

    assert response.status_code == 200
    undecided = patients - len(range(0, patients, 3))
    decided_with_open_alert = len(range(0, patients, 21))
    assert response.context["total"] == undecided + decided_with_open_alert
    first = response.context["page"].object_list[0]
    assert first.urgent_open
