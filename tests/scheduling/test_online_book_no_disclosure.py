"""The public booking form answers the same for everyone (issue 16, finding 1): a stranger, a known
patient, a known patient with a hard stop and one at the cap of upcoming online consultations get
the same status, headers and body, run the same number of queries, and take the same time within
noise. Nothing about a patient is looked up before the emailed link is opened."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.models import Flag, Patient, Severity, SubmissionStatus
from scheduling.models import Appointment, BookedVia, BookingRequest
from scheduling.online.booking import online_slot_hold
from scheduling.online.offer import online_slots
from tests.clinic_time import MONDAY, at, stopped_clock
from tests.factories import IntakeSubmissionFactory, PatientFactory, consultation_at
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 12)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def starts(online_clinic):
    """Free online starts that do not overlap (Tuesday to Friday), to hold one per submission."""
    slots = online_slots(
        online_clinic.consultation,
        start_date=dt.date(2027, 1, 5),
        end_date=dt.date(2027, 1, 8),
        now=NOW,
    )
    chosen: list[dt.datetime] = []
    for slot in slots:
        if not chosen or slot.start >= chosen[-1] + online_clinic.consultation.duration:
            chosen.append(slot.start)
    return iter(chosen)


def details(email: str, *, last_name: str = "Example", born: str = "03/27/1980") -> dict:
    return {
        "first_name": "Sam",
        "last_name": last_name,
        "date_of_birth": born,
        "email": email,
        "mobile": "(916) 555-0123",
        "consent_email": "on",
    }


def known_patient(email: str) -> Patient:
    return PatientFactory(
        first_name="Sam", last_name="Example", email=email, date_of_birth=dt.date(1980, 3, 27)
    )


def with_hard_stop(email: str) -> None:
    submission = IntakeSubmissionFactory(
        patient=known_patient(email), status=SubmissionStatus.SUBMITTED, submitted_at=NOW
    )
    Flag.objects.create(
        submission=submission,
        rule_id="A11",
        severity=Severity.HARD_STOP,
        title="A hard stop",
        source="Clinic policy",
    )


def at_the_cap(email: str, online_clinic, settings) -> None:
    patient = known_patient(email)
    settings.ONLINE_MAX_UPCOMING_CONSULTATIONS = 1
    consultation_at(
        online_clinic, at(dt.date(2027, 1, 11), 10), patient=patient, booked_via=BookedVia.ONLINE
    )


def submit(starts, data: dict, *, count_queries: bool = False):
    """Hold the next free start and send the details form from a fresh browser."""
    hold = online_slot_hold(start=next(starts))
    client = Client()
    url = reverse("scheduling:book_details", args=[hold.key])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data)
    return client, response, len(queries)


def shape(client: Client, response) -> tuple:
    page = client.get(response["Location"])
    return (
        response.status_code,
        sorted(response.headers.items()),
        sorted(response.cookies),
        response.content,
        page.status_code,
        sorted(page.headers.items()),
        CSRF.sub("", page.content.decode()),
    )


def test_a_stranger_and_known_patients_get_the_same_answer(
    online_clinic, starts, settings, django_assert_num_queries
):
    submit(starts, details("warm.up@example.test"))  # first-request caches, not under test
    known_patient("known@example.test")
    with_hard_stop("stopped@example.test")
    at_the_cap("capped@example.test", online_clinic, settings)
    answers = {}
    counts = {}
    for name, email in (
        ("stranger", "nobody@example.test"),
        ("known", "known@example.test"),
        ("hard stop", "stopped@example.test"),
        ("at the cap", "capped@example.test"),
    ):
        client, response, counts[name] = submit(starts, details(email))
        answers[name] = shape(client, response)
    assert answers["stranger"][0] == 302
    assert "Check your email to confirm" in answers["stranger"][-1]
    for name, answer in answers.items():
        assert answer == answers["stranger"], name
    assert len(set(counts.values())) == 1, counts
    url = reverse("scheduling:book_details", args=[online_slot_hold(start=next(starts)).key])
    with django_assert_num_queries(counts["stranger"]):
        Client().post(url, details("known@example.test"))
    # Each got the same email, to the address typed; nothing was booked or looked up.
    deliver_due_reminders()
    assert Appointment.objects.filter(booked_via=BookedVia.ONLINE).count() == 1  # the capped one
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        BookingRequest.objects.values_list("email", flat=True)
    )
    assert {message.subject for message in mail.outbox} == {
        "Please confirm your booking with Propel Clinic"
    }


def test_a_known_and_an_unknown_person_take_the_same_time(online_clinic, starts, settings):
    settings.BOOKING_RATE_PER_EMAIL_PER_DAY = 1000
    settings.BOOKING_RATE_PER_IP_PER_HOUR = 1000
    known_patient("known@example.test")
    submit(starts, details("warm.up@example.test"))
    seconds: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(15):
        for name, email in (("known", "known@example.test"), ("unknown", "nobody@example.test")):
            began = time.perf_counter()
            _, response, _ = submit(starts, details(email))
            seconds[name].append(time.perf_counter() - began)
            assert response.status_code == 302
    known, unknown = (statistics.median(seconds[name]) for name in ("known", "unknown"))
    assert 0.5 < known / unknown < 2.0, (known, unknown)
