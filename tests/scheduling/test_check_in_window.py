"""The pre-infusion check-in's window: from CHECK_IN_OPENS_HOURS (48) before the visit until its
start, for opening it from the patient's page and for answering a round opened earlier
(scheduling.check_ins.check_in_gate, registered with intake.check_in_window)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from intake.check_in_window import check_in_closed
from intake.links import patient_link_token
from intake.models import IntakeSubmission
from scheduling.check_ins import check_in_gate, check_in_open
from scheduling.models import Appointment, AppointmentStatus, PreInfusionCheckIn
from tests.clinic_time import at
from tests.factories import AppointmentFactory, check_in_step_url, section_post_data
from tests.patient_links import open_link

pytestmark = pytest.mark.django_db

VISIT = at(dt.date(2027, 3, 11), 10)  # Thursday, March 11, 10:00 a.m. in Sacramento


@pytest.fixture
def appointment(patient) -> Appointment:
    return AppointmentFactory(
        patient=patient,
        infusion=True,
        start=VISIT,
    )


def link(patient, appointment) -> str:
    return reverse("scheduling:check_in", args=[patient_link_token(patient), appointment.pk])


def test_49_hours_before_the_page_says_calmly_when_it_opens(client, patient, appointment):
    with time_machine.travel(VISIT - dt.timedelta(hours=49), tick=False):
        response = open_link(client, link(patient, appointment))

    assert response.status_code == 200
    assert (
        "Your check-in opens on Tue, Mar 9, 2027 at 10:00 a.m., 48 hours before your visit."
        in response.text
    )
    assert "no-store" in response["Cache-Control"]
    assert not IntakeSubmission.objects.exists()


def test_47_hours_before_it_opens(client, patient, appointment):
    with time_machine.travel(VISIT - dt.timedelta(hours=47), tick=False):
        response = open_link(client, link(patient, appointment))

    assert response.status_code == 302
    submission = PreInfusionCheckIn.objects.get(appointment=appointment).submission
    assert response["Location"].endswith(f"/check-in/round/{submission.round}/")


def test_the_window_is_a_setting(client, patient, appointment, settings):
    settings.CHECK_IN_OPENS_HOURS = 72
    with time_machine.travel(VISIT - dt.timedelta(hours=49), tick=False):
        assert open_link(client, link(patient, appointment)).status_code == 302


def test_the_gate_refuses_a_round_opened_earlier_outside_the_window(appointment, settings):
    settings.CHECK_IN_OPENS_HOURS = 72  # opened under a wider window (or the old three days)
    submission = check_in_open(appointment_id=appointment.pk, now=VISIT - dt.timedelta(hours=60))
    settings.CHECK_IN_OPENS_HOURS = 48

    early = check_in_gate(submission.pk, VISIT - dt.timedelta(hours=49))
    assert early is not None and early.startswith("Your check-in opens on Tue, Mar 9, 2027")
    assert check_in_gate(submission.pk, VISIT - dt.timedelta(hours=47)) is None
    assert "already started" in check_in_gate(submission.pk, VISIT)
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CANCELLED)
    assert "no longer booked" in check_in_gate(submission.pk, VISIT - dt.timedelta(hours=1))


def test_scheduling_registers_the_gate_with_intake(appointment):
    submission = check_in_open(appointment_id=appointment.pk, now=VISIT - dt.timedelta(hours=1))
    assert check_in_closed(submission.pk, VISIT - dt.timedelta(hours=1)) is None
    assert check_in_closed(submission.pk, VISIT + dt.timedelta(minutes=1)) is not None


def test_saving_a_step_of_an_early_round_shows_when_it_opens(client, patient, appointment):
    submission = check_in_open(appointment_id=appointment.pk, now=VISIT - dt.timedelta(hours=47))
    data = section_post_data("phq9", {f"phq9_{n}": 0 for n in range(1, 10)}, kind="check_in")
    with time_machine.travel(VISIT + dt.timedelta(minutes=5), tick=False):
        # The link is made at the time it is used: one made today expires before March 2027.
        response = client.post(check_in_step_url(patient, submission, "phq9"), data)
    assert response.status_code == 200
    assert "already started" in response.text
    submission.refresh_from_db()
    assert submission.answers == {}
