"""Opening a visit's pre-infusion check-in (scheduling.check_ins) and reaching it from the
patient's page: once per visit, only for a booked infusion in the next 48 hours
(CHECK_IN_OPENS_HOURS), only the patient's own."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from intake.models import IntakeSubmission, SubmissionStatus
from intake.screening import intake_submit
from propel.models import AuditEvent
from scheduling.check_ins import (
    CheckInState,
    check_in_open,
    check_in_refusal,
    check_in_states,
)
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentStatus, PreInfusionCheckIn, RoomKind
from tests.clinic_time import at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    RoomFactory,
    section_post_data,
)
from tests.patient_links import open_session
from tests.threads import all_at_once

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon in Sacramento
OPENS = dt.timedelta(hours=48)


@pytest.fixture
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def infusion_type(db):
    return AppointmentTypeFactory(infusion=True)


@pytest.fixture
def visit(patient, infusion_type):
    """Book an appointment for the patient (an infusion unless told otherwise)."""

    def make(start: dt.datetime, **kwargs) -> Appointment:
        kwargs.setdefault("patient", patient)
        kwargs.setdefault("appointment_type", infusion_type)
        kwargs.setdefault("room", RoomFactory(kind=kwargs["appointment_type"].room_kind))
        return AppointmentFactory(start=start, **kwargs)

    return make


TOMORROW = at(dt.date(2027, 1, 5), 10)


def refusal_code(appointment: Appointment, now: dt.datetime = NOW) -> str:
    with pytest.raises(SchedulingError) as refused:
        check_in_open(appointment_id=appointment.pk, now=now)
    return refused.value.code


# --- The rule -----------------------------------------------------------------------------------


def test_the_check_in_opens_48_hours_before(settings):
    assert settings.CHECK_IN_OPENS_HOURS == 48


@pytest.mark.parametrize(
    ("needs_clearance", "status", "start", "expected"),
    [
        (True, AppointmentStatus.BOOKED, NOW + dt.timedelta(hours=1), None),
        (True, AppointmentStatus.BOOKED, NOW + OPENS, None),
        (
            True,
            AppointmentStatus.BOOKED,
            NOW + OPENS + dt.timedelta(seconds=1),
            "check_in_too_early",
        ),
        (True, AppointmentStatus.BOOKED, NOW, "check_in_closed"),
        (True, AppointmentStatus.CHECKED_IN, NOW + dt.timedelta(hours=1), "check_in_not_booked"),
        (True, AppointmentStatus.CANCELLED, NOW + dt.timedelta(hours=1), "check_in_not_booked"),
        (False, AppointmentStatus.BOOKED, NOW + dt.timedelta(hours=1), "check_in_not_infusion"),
    ],
)
def test_a_check_in_is_open_for_a_booked_infusion_in_the_next_48_hours(
    needs_clearance, status, start, expected
):
    refusal = check_in_refusal(
        needs_clearance=needs_clearance, status=status, start=start, now=NOW, opens_before=OPENS
    )
    assert refusal == expected


# --- The service --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_twice_gives_the_same_round_and_one_link(patient, visit):
    appointment = visit(TOMORROW)

    first = check_in_open(appointment_id=appointment.pk, now=NOW)
    second = check_in_open(appointment_id=appointment.pk, now=NOW)

    assert first.pk == second.pk
    assert (first.kind, first.round, first.status) == ("check_in", 1, SubmissionStatus.DRAFT)
    link = PreInfusionCheckIn.objects.get()
    assert (link.appointment_id, link.submission_id) == (appointment.pk, first.pk)
    assert IntakeSubmission.objects.filter(patient=patient).count() == 1
    assert AuditEvent.objects.filter(action="check_in.opened").count() == 1


@pytest.mark.django_db
def test_a_sent_check_in_is_given_back_not_opened_again(patient, visit):
    appointment = visit(TOMORROW)
    submission = check_in_open(appointment_id=appointment.pk, now=NOW)
    IntakeSubmission.objects.filter(pk=submission.pk).update(
        status=SubmissionStatus.SUBMITTED, submitted_at=NOW
    )

    again = check_in_open(appointment_id=appointment.pk, now=NOW)

    assert again.pk == submission.pk
    assert again.is_submitted


@pytest.mark.django_db
def test_each_infusion_gets_its_own_round(patient, visit):
    first = visit(TOMORROW)
    second = visit(at(dt.date(2027, 1, 7), 10))
    opened = check_in_open(appointment_id=first.pk, now=NOW)
    IntakeSubmission.objects.filter(pk=opened.pk).update(
        status=SubmissionStatus.SUBMITTED, submitted_at=NOW
    )

    later = check_in_open(appointment_id=second.pk, now=NOW + dt.timedelta(days=1))

    assert later.round == 2
    assert PreInfusionCheckIn.objects.get(appointment=second).submission_id == later.pk


@pytest.mark.django_db
def test_a_consultation_has_no_check_in(patient, visit):
    consultation = visit(TOMORROW, appointment_type=AppointmentTypeFactory())
    assert refusal_code(consultation) == "check_in_not_infusion"
    assert not IntakeSubmission.objects.exists()


@pytest.mark.django_db
def test_a_visit_more_than_48_hours_away_has_no_check_in_yet(visit):
    far = visit(NOW + dt.timedelta(hours=48, minutes=1))
    with pytest.raises(SchedulingError) as refused:
        check_in_open(appointment_id=far.pk, now=NOW)
    assert refused.value.code == "check_in_too_early"
    assert refused.value.message.startswith(
        "Your check-in opens on Mon, Jan 4, 2027 at 12:01 p.m., 48 hours before your visit."
    )
    assert not PreInfusionCheckIn.objects.exists()


@pytest.mark.django_db
def test_a_cancelled_or_started_visit_has_no_check_in(visit):
    assert refusal_code(visit(TOMORROW, status=AppointmentStatus.CANCELLED)) == (
        "check_in_not_booked"
    )
    assert refusal_code(visit(NOW - dt.timedelta(minutes=5))) == "check_in_closed"
    assert not IntakeSubmission.objects.exists()


@pytest.mark.django_db
def test_an_unknown_visit_is_not_found():
    with pytest.raises(SchedulingError) as refused:
        check_in_open(appointment_id=987654, now=NOW)
    assert refused.value.code == "not_found"


@pytest.mark.django_db
def test_an_unfinished_check_in_for_another_open_visit_comes_first(patient, visit):
    first = visit(TOMORROW)
    second = visit(at(dt.date(2027, 1, 6), 10))
    check_in_open(appointment_id=first.pk, now=NOW)

    with pytest.raises(SchedulingError) as refused:
        check_in_open(appointment_id=second.pk, now=NOW)

    assert refused.value.code == "check_in_other_open"
    assert "Tue, Jan 5, 2027" in refused.value.message
    assert not PreInfusionCheckIn.objects.filter(appointment=second).exists()


@pytest.mark.django_db
def test_an_unsent_check_in_of_a_cancelled_visit_moves_to_the_next_one_cleared(patient, visit):
    cancelled = visit(TOMORROW)
    draft = check_in_open(appointment_id=cancelled.pk, now=NOW)
    IntakeSubmission.objects.filter(pk=draft.pk).update(
        answers={"alcohol_or_drugs_recent": "no"}, completed_sections=["changes"]
    )
    Appointment.objects.filter(pk=cancelled.pk).update(status=AppointmentStatus.CANCELLED)
    rebooked = visit(at(dt.date(2027, 1, 6), 10))

    moved = check_in_open(appointment_id=rebooked.pk, now=NOW)

    assert moved.pk == draft.pk
    assert (moved.answers, moved.completed_sections) == ({}, [])
    assert PreInfusionCheckIn.objects.get(submission=draft).appointment_id == rebooked.pk
    event = AuditEvent.objects.get(action="check_in.moved")
    assert event.detail == {"round": 1, "from_appointment": cancelled.pk}


@pytest.mark.django_db
def test_check_in_states_for_the_patients_page(patient, visit):
    fresh = visit(TOMORROW)
    started = visit(at(dt.date(2027, 1, 5), 14))
    far = visit(at(dt.date(2027, 1, 20), 10))
    consultation = visit(
        TOMORROW + dt.timedelta(hours=2), appointment_type=AppointmentTypeFactory()
    )
    check_in_open(appointment_id=started.pk, now=NOW)
    appointments = list(Appointment.objects.select_related("appointment_type"))

    states = check_in_states(appointments, now=NOW)

    assert states == {fresh.pk: CheckInState.NOT_STARTED, started.pk: CheckInState.STARTED}
    assert far.pk not in states and consultation.pk not in states


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_opens_of_one_visit_make_one_round():
    threads_count = 8
    patient = PatientFactory()
    infusion = AppointmentTypeFactory(
        code="infusion", room_kind=RoomKind.INFUSION, needs_clearance=True, self_bookable=False
    )
    appointment = AppointmentFactory(
        patient=patient,
        appointment_type=infusion,
        room=RoomFactory(infusion=True),
        start=TOMORROW,
    )

    opened, _ = all_at_once(
        threads_count, lambda _: check_in_open(appointment_id=appointment.pk, now=NOW).pk
    )

    assert len(set(opened)) == 1 and isinstance(opened[0], int), opened
    assert IntakeSubmission.objects.filter(patient=patient).count() == 1
    assert PreInfusionCheckIn.objects.count() == 1


# --- Through the patient's page -------------------------------------------------------------------


@pytest.fixture
def token(client, patient):
    """The patient's link, opened in `client`: addresses carry its session's marker."""
    return open_session(client, patient)


def check_in_link(token: str, appointment: Appointment) -> str:
    return reverse("scheduling:check_in", args=[token, appointment.pk])


@pytest.mark.django_db
def test_the_patients_page_offers_the_check_in_for_an_infusion_soon(
    client, frozen, patient, token, visit
):
    soon = visit(TOMORROW)
    far = visit(at(dt.date(2027, 1, 20), 10))
    consultation = visit(at(dt.date(2027, 1, 6), 10), appointment_type=AppointmentTypeFactory())

    page = client.get(reverse("scheduling:patient_home", args=[token]))

    assert page.status_code == 200
    assert page.text.count("Before your visit: a check-in in 4 short steps") == 1
    assert f'href="{check_in_link(token, soon)}"' in page.text
    assert check_in_link(token, far) not in page.text
    assert check_in_link(token, consultation) not in page.text
    assert "Start your check-in" in page.text


@pytest.mark.django_db
def test_the_link_opens_the_round_and_goes_to_its_first_step(client, frozen, patient, token, visit):
    appointment = visit(TOMORROW)

    response = client.get(check_in_link(token, appointment))

    submission = IntakeSubmission.objects.get(patient=patient, kind="check_in")
    start = reverse("intake:check_in_start", kwargs={"token": token, "round": submission.round})
    assert response.status_code == 302
    assert response["Location"] == start
    assert response["Cache-Control"].startswith("max-age=0")
    first_step = client.get(start)
    assert first_step["Location"] == reverse(
        "intake:check_in_section", kwargs={"token": token, "round": 1, "section_key": "phq9"}
    )
    assert client.get(check_in_link(token, appointment))["Location"] == start  # same round
    # The page counts the check-in's real steps (PHQ-9 alone has nine questions).
    page = client.get(first_step["Location"]).text
    assert "Step 1 of 4" in page
    assert "4 short steps before your infusion" in page


@pytest.mark.django_db
def test_the_page_says_sent_once_the_check_in_is_sent(client, frozen, patient, token, visit):
    appointment = visit(TOMORROW)
    submission = check_in_open(appointment_id=appointment.pk)
    IntakeSubmission.objects.filter(pk=submission.pk).update(
        answers={
            **{f"phq9_{n}": 0 for n in range(1, 10)},
            **{f"gad7_{n}": 0 for n in range(1, 8)},
            "nrs_now": 1,
            "new_medicines": "no",
            "alcohol_or_drugs_recent": "no",
            "other_changes": "no",
        },
        completed_sections=["phq9", "gad7", "pain", "changes"],
    )
    intake_submit(submission_id=submission.pk)

    page = client.get(reverse("scheduling:patient_home", args=[token]))

    assert "Sent. Thank you." in page.text
    assert check_in_link(token, appointment) not in page.text


@pytest.mark.django_db
def test_another_patients_visit_is_the_same_404_and_opens_nothing(client, frozen, token, visit):
    theirs = visit(TOMORROW, patient=PatientFactory())

    response = client.get(check_in_link(token, theirs))

    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]
    assert not IntakeSubmission.objects.exists()
    assert not PreInfusionCheckIn.objects.exists()


@pytest.mark.django_db
def test_a_bad_token_is_404(client, frozen, visit):
    appointment = visit(TOMORROW)
    assert client.get(check_in_link("not-a-token", appointment)).status_code == 404
    assert not IntakeSubmission.objects.exists()


@pytest.mark.django_db
def test_a_refused_check_in_shows_the_reason_on_a_calm_page(client, frozen, patient, token, visit):
    consultation = visit(TOMORROW, appointment_type=AppointmentTypeFactory())

    response = client.get(check_in_link(token, consultation))

    assert response.status_code == 200
    assert "This visit does not need a check-in." in response.text
    assert reverse("scheduling:patient_home", args=[token]) in response.text
    assert "no-store" in response["Cache-Control"]
    assert not IntakeSubmission.objects.exists()


@pytest.mark.django_db
def test_a_check_in_sent_through_the_pages_is_linked_to_its_visit(
    client, frozen, patient, token, visit
):
    appointment = visit(TOMORROW)
    client.get(check_in_link(token, appointment))
    answers = {
        **{f"phq9_{n}": 1 for n in range(1, 10)},
        "phq9_difficulty": 1,
        **{f"gad7_{n}": 0 for n in range(1, 8)},
        "nrs_now": 4,
        "new_medicines": "no",
        "alcohol_or_drugs_recent": "no",
        "other_changes": "no",
    }
    for key in ("phq9", "gad7", "pain", "changes"):
        url = reverse(
            "intake:check_in_section", kwargs={"token": token, "round": 1, "section_key": key}
        )
        assert client.post(url, section_post_data(key, answers, kind="check_in")).status_code == 302
    client.post(reverse("intake:check_in_review", kwargs={"token": token, "round": 1}))

    link = PreInfusionCheckIn.objects.select_related("submission").get(appointment=appointment)
    assert link.submission.is_submitted
    assert link.submission.scores["phq9"]["total"] == 9
