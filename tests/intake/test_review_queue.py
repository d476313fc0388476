"""The review queue: what is in it, in which order, what each row shows, and what it costs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from intake import review
from intake.decisions import crisis_alert_acknowledge
from intake.models import (
    CrisisAlert,
    IntakeSubmission,
    SubmissionKind,
    SubmissionStatus,
)
from intake.screening import submission_save_section
from propel.models import AuditEvent
from scheduling import review_hooks
from scheduling.models import Appointment, AppointmentStatus
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    CheckInSubmissionFactory,
    ClearanceDecisionFactory,
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
    ClearanceDecisionFactory(
        submission=decided,
        declined=True,
        reason="Not now.",
        decided_by=clinician_user,
        decided_at=NOW,
    )
    IntakeSubmissionFactory()  # a draft
    asked = sent(at=NOW - dt.timedelta(days=3))
    ClearanceDecisionFactory(
        submission=asked,
        needs_information=True,
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
    ClearanceDecisionFactory(
        submission=submission,
        declined=True,
        reason="Unsafe now.",
        decided_by=clinician_user,
        decided_at=NOW,
    )

    response = client_for(clinician_user).get(QUEUE)

    (row,) = response.context["page"].object_list
    assert row.urgent_open
    assert str(row.status) == "Decided, but the crisis alert is still open"


def alert_on_a_step(submission: IntakeSubmission, *, item9: int = 2) -> CrisisAlert:
    """Item 9 answered on a step of an unsent round, through the real step save."""
    answers = {f"phq9_{n}": 0 for n in range(1, 9)} | {"phq9_9": item9}
    submission_save_section(
        submission_id=submission.pk, section_key="phq9", answers=answers, now=NOW
    )
    return CrisisAlert.objects.get(submission=submission)


def test_an_open_alert_on_an_unsent_round_comes_first_with_its_priority_and_time(
    clinician_user, client_for
):
    hard_stop = sent(at=NOW, **HARD_STOP).patient
    waiting = sent(at=NOW - dt.timedelta(days=3)).patient
    draft = IntakeSubmissionFactory()  # a screening never sent, no screening ever sent before
    alert = alert_on_a_step(draft)

    response = client_for(clinician_user).get(QUEUE)

    rows = response.context["page"].object_list
    assert [row.patient.pk for row in rows] == [draft.patient_id, hard_stop.pk, waiting.pk]
    assert rows[0].submission.status == SubmissionStatus.DRAFT
    assert rows[0].urgent_open and rows[0].alert == alert
    assert str(rows[0].status) == "Crisis alert on a screening not sent yet"
    main = response.content.decode().split('<main id="main"', 1)[1]
    assert "1 patient has a self-harm answer that nobody has acknowledged yet" in main
    assert chart_url(draft.patient) in main
    assert "Immediate: phone within the hour" in main
    assert "raised Wed, Mar 10, 2027, 10:00 a.m." in main  # NOW, clinic time
    assert "not sent" in main
    # No flag counts for a round whose flags were never evaluated as a whole.
    assert main.count("flag-counts") == 2


def test_an_open_alert_on_a_check_in_round_of_a_patient_never_screened_is_in_the_queue(
    clinician_user, client_for
):
    check_in = CheckInSubmissionFactory()
    alert_on_a_step(check_in, item9=1)

    response = client_for(clinician_user).get(QUEUE)

    (row,) = response.context["page"].object_list
    assert row.submission.kind == SubmissionKind.CHECK_IN
    assert row.urgent_open
    page = response.content.decode()
    assert "Crisis alert on a pre-visit check-in" in page
    assert "Urgent: contact the same business day" in page


def test_once_acknowledged_an_unsent_rounds_alert_leaves_the_queue(clinician_user, client_for):
    waiting = sent().patient
    alert = alert_on_a_step(IntakeSubmissionFactory())
    client = client_for(clinician_user)
    assert queue_ids(client) == [alert.patient_id, waiting.pk]

    crisis_alert_acknowledge(alert_id=alert.pk, actor=clinician_user, outcome="Phoned; safe.")

    assert queue_ids(client) == [waiting.pk]
    assert "nobody has acknowledged" not in client.get(QUEUE).content.decode()


def test_a_waiting_patient_with_an_alert_on_a_later_draft_is_counted_once(
    clinician_user, client_for
):
    submission = sent(at=NOW - dt.timedelta(days=1))
    draft = IntakeSubmissionFactory(patient=submission.patient, round=2)
    alert_on_a_step(draft)

    response = client_for(clinician_user).get(QUEUE)

    rows = response.context["page"].object_list
    # The screening to decide on and the draft's alert (with its priority), both on top.
    assert {row.submission.pk for row in rows} == {submission.pk, draft.pk}
    assert all(row.urgent_open for row in rows)
    assert response.context["urgent_open"] == 1


def test_front_desk_cannot_read_the_queue_even_with_an_open_alert(front_desk, client_for):
    alert = alert_on_a_step(IntakeSubmissionFactory())

    response = client_for(front_desk).get(QUEUE)

    assert response.status_code == 403
    assert alert.patient.last_name not in response.content.decode()


def test_each_row_shows_name_birth_date_consultation_counts_and_status(clinician_user, client_for):
    patient = PatientFactory(first_name="Avery", last_name="Example")
    sent(patient, **HARD_STOP)
    consultation = dt.datetime(2027, 3, 12, 17, 30, tzinfo=dt.UTC)  # 9:30 a.m. Pacific

    with consultation_lookup({patient.pk: consultation}):
        response = client_for(clinician_user).get(QUEUE)

    (row,) = response.context["page"].object_list
    assert row.counts == {"urgent": 0, "hard_stop": 1, "review": 0, "info": 1}
    page = response.content.decode()
    assert "Avery Example" in page
    assert "Jan 1, 1970" in page
    assert "Fri, Mar 12, 2027, 9:30 a.m." in page
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

ALERT_ON_UNSENT_EVERY = 11


def _bulk_unsent_alerts(patients) -> None:
    """A check-in round in progress with an open crisis alert for each of these patients."""
    drafts = IntakeSubmission.objects.bulk_create(
        IntakeSubmission(patient=patient, kind=SubmissionKind.CHECK_IN, round=1, answers={})
        for patient in patients
    )
    CrisisAlert.objects.bulk_create(
        CrisisAlert(submission=d, patient_id=d.patient_id, priority="immediate", raised_at=NOW)
        for d in drafts
    )


def _bulk_queue(count: int, clinician) -> None:
    patients = bulk_patients(count)
    bulk_rounds(patients, rounds=2, decided_every=3, alert_every=7, clinician=clinician)
    _bulk_unsent_alerts(patients[::ALERT_ON_UNSENT_EVERY])
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


# Session, user, device, roles; the rounds (with every open crisis alert's round), the
# consultations, recent decisions; the audit row; the idle-timeout session write (savepoint,
# update, release); the crisis banner's open alerts (1, every clinician page:
# intake.context_processors); the clinic policy changes panel (1, propel.policy_log).
QUEUE_QUERY_CEILING = 13


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
    # Decided patients stay while an alert of theirs is open, on the screening or elsewhere.
    decided_with_open_alert = sum(
        1 for i in range(0, patients, 3) if i % 7 == 0 or i % ALERT_ON_UNSENT_EVERY == 0
    )
    unsent_with_open_alert = len(range(0, patients, ALERT_ON_UNSENT_EVERY))
    assert response.context["total"] == undecided + decided_with_open_alert + unsent_with_open_alert
    first = response.context["page"].object_list[0]
    assert first.urgent_open
