"""Issue 17 §6: the patient's pages say exactly what happened and what is next. The questionnaire
card says whether it was started, sent (and when) and when a clinician reviews it, never "pending"
for something not started; a cancelled visit says it is cancelled and offers to book again (online
for a consultation, by phone otherwise), on the patient's page and on every page of that visit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from intake.link_sessions import ME
from scheduling.models import Appointment, AppointmentStatus, Reminder
from scheduling.online.visit_status import REBOOK_BY_PHONE, REBOOK_ONLINE, visit_status
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    IntakeSubmissionFactory,
    RoomFactory,
    SubmittedScreeningFactory,
    consultation_at,
    infusion_type,
)
from tests.patient_links import open_session

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon
BOOK = 'href="/book/"'


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def cancelled(online_clinic, patient):
    start = at(dt.date(2027, 1, 7), 10)
    return consultation_at(online_clinic, start, patient=patient, status="cancelled")


@pytest.fixture
def cancelled_infusion(patient):
    return AppointmentFactory(
        patient=patient,
        appointment_type=infusion_type(),
        room=RoomFactory(infusion=True),
        start=at(dt.date(2027, 1, 8), 10),
        status=AppointmentStatus.CANCELLED,
    )


def home(client, patient) -> str:
    open_session(client, patient)
    return client.get(reverse("scheduling:patient_home", args=[ME])).content.decode()


def card(page: str) -> str:
    return page.split('id="questionnaire-heading"', 1)[1].split("</section>", 1)[0]


def test_a_questionnaire_not_started_is_never_called_pending(client, patient, online_clinic):
    text = card(home(client, patient))
    assert "You have not started the questionnaire yet." in text
    assert "pending" not in text.lower()
    assert reverse("intake:start", args=[ME]) in text


def test_a_sent_questionnaire_says_when_it_was_received_and_when_it_is_reviewed(
    client, patient, online_clinic
):
    SubmittedScreeningFactory(patient=patient)  # sent 2027-01-04 18:00 UTC, 10:00 in Sacramento
    text = card(home(client, patient))
    assert "Your questionnaire was received on Jan 4." in text
    assert "A clinician reviews it within 2 business days." in text
    assert reverse("intake:start", args=[ME]) not in text


def test_a_started_questionnaire_says_it_is_not_sent(client, patient, online_clinic):
    IntakeSubmissionFactory(patient=patient)
    text = card(home(client, patient))
    assert "and have not sent it yet." in text
    assert "Continue your questionnaire" in text


def test_the_patients_page_says_a_visit_was_cancelled_and_how_to_book_again(
    client, patient, cancelled, cancelled_infusion
):
    page = home(client, patient)
    earlier = page.split("Past and cancelled", 1)[1]
    assert "Your consultation on Thu, Jan 7, 2027 at 10:00 a.m. was cancelled." in earlier
    assert "Your infusion visit on Fri, Jan 8, 2027 at 10:00 a.m. was cancelled." in earlier
    assert BOOK in earlier  # the consultation is booked online again
    assert "To book a new time, call us at" in earlier  # the infusion by phone
    assert "is booked" not in earlier


@pytest.mark.parametrize(
    "page", ["scheduling:patient_reschedule", "scheduling:patient_cancel", "scheduling:check_in"]
)
def test_every_page_of_a_cancelled_visit_says_so_and_offers_to_rebook(
    client, patient, cancelled, page
):
    open_session(client, patient)
    url = reverse(page, args=[ME, cancelled.pk])
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Your consultation on Thu, Jan 7, 2027 at 10:00 a.m. was cancelled." in text
    assert BOOK in text
    assert "is now on" not in text and "is booked" not in text
    if page == "scheduling:patient_cancel":  # pressed again: harmless, back to the page
        assert client.post(url, {"reason": "other"}).status_code == 302
    move = reverse("scheduling:patient_reschedule_confirm", args=[ME, cancelled.pk])
    start = at(dt.date(2027, 1, 12), 10).isoformat()
    refused = client.post(move, {"start": start, "key": "k" * 32})
    assert refused.status_code == 409
    assert "was cancelled." in refused.content.decode()
    assert "is now on" not in refused.content.decode()
    assert Appointment.objects.get(pk=cancelled.pk).status == AppointmentStatus.CANCELLED
    assert not Reminder.objects.exists()


def test_a_cancelled_treatment_visit_is_rebooked_by_phone(client, patient, cancelled_infusion):
    open_session(client, patient)
    response = client.get(reverse("scheduling:check_in", args=[ME, cancelled_infusion.pk]))
    text = response.content.decode()
    assert "was cancelled." in text and "To book a new time, call us at" in text
    assert BOOK not in text.split('id="visit-status"', 1)[1].split("</main>", 1)[0]


def test_the_visit_wording():
    start = dt.datetime(2027, 1, 7, 10, 0, tzinfo=LA)
    before, after = start - dt.timedelta(days=1), start + dt.timedelta(hours=2)

    def say(status, now=before, self_bookable=True):
        return visit_status(
            type_name="consultation",
            status=status,
            start=start,
            now=now,
            self_bookable=self_bookable,
            tz=LA,
        )

    booked = say(AppointmentStatus.BOOKED)
    assert booked.said == "Your consultation is booked for Thu, Jan 7, 2027 at 10:00 a.m."
    assert not booked.is_off
    assert say(AppointmentStatus.BOOKED, now=after).said.startswith("Your consultation was on")
    assert say(AppointmentStatus.COMPLETED, now=after).said.startswith("You came to")
    assert say(AppointmentStatus.CANCELLED).rebook == REBOOK_ONLINE
    assert say(AppointmentStatus.CANCELLED, self_bookable=False).rebook == REBOOK_BY_PHONE
    assert say(AppointmentStatus.NO_SHOW, now=after).is_off
    assert say(AppointmentStatus.DEFERRED, now=after).rebook == REBOOK_BY_PHONE
