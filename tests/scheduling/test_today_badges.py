"""The front desk's Today page shows each appointment's clearance and screening badges (status
only, never an answer, score or flag), loaded in a fixed number of queries, and follows the
clinician's decisions."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from intake.models import ClearanceDecision, DecisionKind, Flag
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClearanceDecisionFactory,
    ClinicianFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    RoomFactory,
)
from tests.intake.review_data import HARD_STOP, URGENT, count_queries, decide, sent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]

TODAY = reverse("scheduling:today")


def row_for(response, patient):
    (row,) = [r for r in response.context["rows"] if r.appointment.patient_id == patient.pk]
    return row


def test_each_appointment_shows_its_clearance_and_screening_badges(front_desk, client_for):
    nothing = PatientFactory(first_name="Nobody")
    started = IntakeSubmissionFactory().patient
    waiting = sent(at=timezone.now(), **HARD_STOP).patient
    urgent = sent(at=timezone.now(), **URGENT).patient
    for hour, patient in enumerate((nothing, started, waiting, urgent), start=9):
        AppointmentFactory(patient=patient, start=at(TUESDAY, hour))

    response = client_for(front_desk).get(TODAY)

    assert response.status_code == 200
    labels = {
        patient.pk: (
            row_for(response, patient).clearance.label,
            row_for(response, patient).screening.label,
        )
        for patient in (nothing, started, waiting, urgent)
    }
    assert labels == {
        nothing.pk: ("No screening sent yet", "not started"),
        started.pk: ("No screening sent yet", "in progress"),
        waiting.pk: ("Pending review", "submitted, awaiting review"),
        urgent.pk: ("Pending review", "needs urgent attention"),
    }
    body = response.content.decode()
    assert "Screening: needs urgent attention" in body
    for flag in Flag.objects.all():
        assert flag.title[:25] not in body
    assert "/chart/" not in body  # front desk gets no link to the chart


def test_a_clinicians_decision_changes_the_badge_the_front_desk_sees(
    front_desk, clinician_user, client_for
):
    declined, asked = PatientFactory(), PatientFactory()
    for hour, patient in ((10, declined), (11, asked)):
        sent(patient, at=timezone.now())
        AppointmentFactory(patient=patient, start=at(TUESDAY, hour))
    desk, clinician = client_for(front_desk), client_for(clinician_user)
    before = desk.get(TODAY)
    assert row_for(before, declined).clearance.label == "Pending review"

    assert decide(clinician, declined, kind=DecisionKind.DECLINED, reason="No.").status_code == 302
    response = decide(
        clinician,
        asked,
        kind=DecisionKind.NEEDS_INFORMATION,
        reason="Please tell us your latest blood pressure reading.",
        sections=["heart"],
    )
    assert response.status_code == 302

    after = desk.get(TODAY)
    assert row_for(after, declined).clearance.label == "Declined"
    assert row_for(after, asked).clearance.label == "Needs information"
    assert row_for(after, asked).screening.label == "in progress"
    body = after.content.decode()
    assert "Declined" in body and "Needs information" in body
    assert "No." not in body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert ClearanceDecision.objects.count() == 2


def test_a_clinician_sees_a_link_to_each_chart(clinician_user, client_for):
    patient = PatientFactory()
    AppointmentFactory(patient=patient, start=at(TUESDAY, 9))

    body = client_for(clinician_user).get(TODAY).content.decode()

    assert reverse("intake:chart", kwargs={"patient_id": patient.pk}) in body


def _fill_day(count: int, clinician) -> None:
    consultation = AppointmentTypeFactory()
    rooms = RoomFactory.create_batch(4)
    clinicians = ClinicianFactory.create_batch(4)
    for index in range(count):
        patient = PatientFactory()
        if index % 2:
            submission = sent(patient, at=timezone.now())
            if index % 4 == 1:
                ClearanceDecisionFactory(
                    submission=submission,
                    declined=True,
                    reason="No.",
                    decided_by=clinician,
                    decided_at=timezone.now(),
                )
        AppointmentFactory(
            appointment_type=consultation,
            patient=patient,
            room=rooms[index % 4],
            clinician=clinicians[index % 4],
            start=at(TUESDAY, 9 + index // 4),
        )


def test_the_badges_cost_at_most_four_queries_whatever_the_number_of_appointments(
    front_desk, clinician_user, client_for
):
    client = client_for(front_desk)
    client.get(TODAY)  # warm the session
    empty_day = count_queries(client, TODAY)
    _fill_day(4, clinician_user)
    few = count_queries(client, TODAY)
    _fill_day(36, clinician_user)
    many = count_queries(client, TODAY)

    assert few == many
    # Four for the badges, one for the read audit (a day with patients on it writes one
    # patient.viewed row; an empty day shows nobody and writes none).
    assert few - empty_day <= 5
