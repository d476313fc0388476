"""The clearance gate: appointment_book, the one code path that writes appointments, refuses an
infusion for a patient without a valid clearance and says why. Called directly, as every view,
admin action and task does, so nothing can bypass it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from intake.decisions import clearance_decide
from intake.models import DecisionKind
from propel.models import AuditEvent
from scheduling.booking import appointment_book
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, RoomKind
from tests.clinic_time import LA, TUESDAY, at
from tests.factories import (
    AppointmentTypeFactory,
    ClearanceDecisionFactory,
    ClinicianFactory,
    RoomFactory,
    SubmittedScreeningFactory,
    UserFactory,
    open_weekdays,
)

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday morning
DECIDED = dt.datetime(2027, 1, 4, 7, 0, tzinfo=LA)
PREFIX = "This appointment needs a clinician's clearance. "

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clinic():
    open_weekdays()
    RoomFactory(kind=RoomKind.INFUSION, name="Infusion 1")
    RoomFactory(kind=RoomKind.CONSULT, name="Consult A")
    ClinicianFactory(display_name="Dr Example")
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def infusion():
    return AppointmentTypeFactory(infusion=True)


@pytest.fixture
def maintenance():
    return AppointmentTypeFactory(maintenance=True)


def book(patient, appointment_type, start):
    return appointment_book(
        patient_id=patient.pk,
        appointment_type_id=appointment_type.pk,
        start=start,
        actor=UserFactory(username="desk", front_desk=True),
    )


def refusal_message(patient, appointment_type, start) -> str:
    with pytest.raises(SchedulingError) as refused:
        book(patient, appointment_type, start)
    assert refused.value.code == "needs_clearance"
    return refused.value.message


def refusal(patient, appointment_type, start) -> str:
    """The refusal message, checking that nothing was booked."""
    message = refusal_message(patient, appointment_type, start)
    assert not Appointment.objects.exists()
    assert not AuditEvent.objects.filter(action="appointment.booked").exists()
    return message


def decide(patient, kind=DecisionKind.CLEARED, *, round_=1, **kwargs):
    submission = patient.submissions.filter(round=round_).first() or SubmittedScreeningFactory(
        patient=patient, round=round_
    )
    if kind != DecisionKind.CLEARED:
        kwargs.setdefault("valid_until", None)
        kwargs.setdefault("reason", "Because.")
    return ClearanceDecisionFactory(submission=submission, kind=kind, decided_at=DECIDED, **kwargs)


def test_an_uncleared_patient_is_refused_an_infusion(patient, infusion):
    SubmittedScreeningFactory(patient=patient)
    assert refusal(patient, infusion, at(TUESDAY, 10)) == (
        PREFIX + "No clinician has decided on the patient's screening yet."
    )


def test_a_cleared_patient_books_an_infusion_and_a_maintenance_session(
    patient, infusion, maintenance
):
    decide(patient)
    appointment = book(patient, infusion, at(TUESDAY, 10))
    assert appointment.room.name == "Infusion 1"
    assert (
        book(patient, maintenance, at(TUESDAY + dt.timedelta(days=2), 14)).appointment_type
        == maintenance
    )
    assert Appointment.objects.count() == 2


def test_a_clearance_decided_through_the_service_opens_the_gate(patient, infusion, clinician_user):
    screening = SubmittedScreeningFactory(patient=patient)
    clearance_decide(submission_id=screening.pk, actor=clinician_user, kind=DecisionKind.CLEARED)
    assert book(patient, infusion, at(TUESDAY, 10)).patient == patient


def test_an_expired_clearance_is_refused_naming_the_date(patient, infusion):
    decide(patient, valid_until=dt.date(2027, 1, 3))
    assert refusal(patient, infusion, at(TUESDAY, 10)) == (
        PREFIX + "The patient's clearance expired on Sun, Jan 3, 2027."
    )


def test_a_clearance_that_ends_before_the_appointment_is_refused(patient, infusion):
    decide(patient, valid_until=TUESDAY)
    assert book(patient, infusion, at(TUESDAY, 10))
    wednesday = TUESDAY + dt.timedelta(days=1)
    assert refusal_message(patient, infusion, at(wednesday, 10)) == (
        PREFIX + "The patient's clearance is valid only until Tue, Jan 5, 2027, before this date."
    )


def test_a_clearance_ended_by_a_new_screening_round_is_refused(patient, infusion):
    decide(patient)
    SubmittedScreeningFactory(patient=patient, round=2)
    assert refusal(patient, infusion, at(TUESDAY, 10)) == (
        PREFIX + "The patient's clearance ended when they sent a new screening; a clinician "
        "needs to review it."
    )


def test_a_declined_patient_is_refused(patient, infusion):
    decide(patient, DecisionKind.DECLINED)
    assert refusal(patient, infusion, at(TUESDAY, 10)) == (
        PREFIX + "A clinician declined the patient for infusion."
    )


def test_a_patient_asked_for_more_information_is_refused(patient, infusion):
    decide(patient, DecisionKind.NEEDS_INFORMATION)
    assert refusal(patient, infusion, at(TUESDAY, 10)).startswith(
        PREFIX + "A clinician asked the patient for more information"
    )


def test_another_patients_clearance_does_not_open_the_gate(patient, other_patient, infusion):
    decide(other_patient)
    refusal(patient, infusion, at(TUESDAY, 10))


def test_a_consultation_needs_no_clearance(patient):
    consultation = AppointmentTypeFactory()
    assert book(patient, consultation, at(TUESDAY, 10)).appointment_type == consultation


def test_the_refusal_message_names_no_reason_or_flag(patient, infusion):
    decide(patient, DecisionKind.DECLINED, reason="Recent heart attack.")
    message = refusal(patient, infusion, at(TUESDAY, 10))
    assert "heart" not in message.lower()
