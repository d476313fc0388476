"""A booking that waits for locks another transaction holds gives up after BOOKING_LOCK_TIMEOUT_MS
and says "busy" (never a 500, never an endless wait), on real PostgreSQL connections. The front
desk's and the online booking's lock timeout is set by their transaction's first read
(scheduling.locking.with_lock_timeout), not by a statement of its own: these show it is set."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from scheduling.booking import appointment_book
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, Room
from scheduling.online.booking import online_consultation_book
from scheduling.online.rules import PatientDetails
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import PatientFactory, consult_clinic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)
START = at(dt.date(2027, 1, 5), 10)
HELD_SECONDS = 10


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def rooms_held(settings):
    """Another transaction holds every room's lock for HELD_SECONDS (or until released)."""
    settings.BOOKING_LOCK_TIMEOUT_MS = 300
    clinic = consult_clinic()
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(Room.objects.select_for_update())
                locked.set()
                release.wait(timeout=HELD_SECONDS)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(timeout=30)
    yield clinic
    release.set()
    thread.join(timeout=30)


def timed(attempt):
    began = time.monotonic()
    with pytest.raises(SchedulingError) as refused:
        attempt()
    return refused.value, time.monotonic() - began


def test_a_front_desk_booking_waiting_for_a_room_says_busy(rooms_held):
    patient = PatientFactory()
    refused, seconds = timed(
        lambda: appointment_book(
            patient_id=patient.pk,
            appointment_type_id=rooms_held.consultation.pk,
            start=START,
            now=NOW,
        )
    )
    assert refused.code == "busy"
    assert seconds < HELD_SECONDS / 2
    assert not Appointment.objects.exists()


def test_an_online_booking_waiting_for_a_room_says_busy(rooms_held):
    details = PatientDetails(
        first_name="Robin",
        last_name="Example",
        date_of_birth=dt.date(1980, 3, 27),
        email="robin@example.test",
        mobile="",
        consent_email=True,
        consent_sms=False,
    )
    refused, seconds = timed(
        lambda: online_consultation_book(
            details=details, start=START, hold_key="no-hold-key-0123456789", now=NOW
        )
    )
    assert refused.code == "busy"
    assert seconds < HELD_SECONDS / 2
    assert not Appointment.objects.exists()
