"""A double click that reaches two web workers at once: both requests carry the same hold key and
run on their own PostgreSQL connections. Exactly one appointment and one patient record result,
and both requests answer with that appointment."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
import time_machine
from django.core import mail

from intake.models import Patient
from scheduling.models import Appointment, BookingRequest, SlotHold
from scheduling.online.booking import (
    OnlineBooking,
    online_booking_confirm,
    online_booking_request,
    online_consultation_book,
    online_slot_hold,
)
from scheduling.online.rules import PatientDetails
from tests.clinic_time import at, stopped_clock
from tests.scheduling.reminder_support import deliver_due_reminders
from tests.threads import all_at_once as released_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.race]

NOW = at(dt.date(2027, 1, 4), 12)
START = at(dt.date(2027, 1, 5), 15)
DETAILS = PatientDetails(
    first_name="Robin",
    last_name="Example",
    date_of_birth=dt.date(1980, 3, 27),
    email="robin@example.test",
    mobile="+19165550123",
    consent_email=True,
    consent_sms=False,
)


def all_at_once(count: int, attempt: Callable[[], object]) -> list[object]:
    results, finished = released_together(count, lambda _: attempt(), wait=60, join=120)
    assert finished, "a booking thread hung"
    return results


@pytest.fixture
def held(online_clinic) -> SlotHold:
    with time_machine.travel(NOW, tick=False):
        return online_slot_hold(start=START)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.mark.parametrize("clicks", [2, 8])
def test_the_same_submission_twice_at_once_books_once(held, clicks):
    results = all_at_once(
        clicks,
        lambda: online_consultation_book(details=DETAILS, start=START, hold_key=held.key),
    )
    assert all(isinstance(result, OnlineBooking) for result in results), results
    assert {result.appointment.pk for result in results} == {Appointment.objects.get().pk}
    assert Patient.objects.count() == 1
    assert [result.replay for result in results].count(False) == 1
    assert [result.new_patient for result in results].count(True) == 1
    deliver_due_reminders()
    assert len(mail.outbox) == 1
    assert not SlotHold.objects.exists()


def test_two_people_racing_for_one_time_one_books_and_the_other_is_told(online_clinic):
    people = [
        DETAILS,
        PatientDetails(**{**DETAILS.__dict__, "email": "sam@example.test", "first_name": "Sam"}),
    ]
    # No holds: both go straight for the same free time with different keys.
    keys = iter(["race-key-aaaaaaaaaaaaaaaa", "race-key-bbbbbbbbbbbbbbbb"])
    lock = threading.Lock()

    def attempt() -> object:
        with lock:
            key = next(keys)
            details = people[0] if key.endswith("a") else people[1]
        return online_consultation_book(details=details, start=START, hold_key=key)

    results = all_at_once(2, attempt)
    booked = [result for result in results if isinstance(result, OnlineBooking)]
    refused = [result for result in results if not isinstance(result, OnlineBooking)]
    assert len(booked) == 1 and len(refused) == 1, results
    assert getattr(refused[0], "code", None) in {"slot_gone", "busy"}
    assert Appointment.objects.count() == 1
    assert Patient.objects.count() == 1  # the refused booking left no patient record behind


def test_control_without_the_advisory_lock_a_double_click_shows_an_error(held, monkeypatch):
    """Both requests check for an existing booking before either commits: each creates its own
    patient record, and the loser's booking is refused, so the person who clicked twice would
    see an error. The advisory lock is what makes the second click wait and return the first's
    appointment."""
    from scheduling.online import booking as online

    both_checked = threading.Barrier(2)
    check_window = online.check_window

    def after_both_checked(start, now):
        both_checked.wait(timeout=60)
        check_window(start, now)

    monkeypatch.setattr(online, "serialise_on", lambda key: None)
    monkeypatch.setattr(online, "check_window", after_both_checked)
    results = all_at_once(
        2, lambda: online_consultation_book(details=DETAILS, start=START, hold_key=held.key)
    )
    assert [type(result).__name__ for result in results].count("OnlineBooking") == 1
    (error,) = [result for result in results if not isinstance(result, OnlineBooking)]
    assert error.code == "key_reused"
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize("clicks", [2, 8])
def test_the_same_request_asked_and_confirmed_at_once_books_once(held, clicks, settings):
    settings.BOOKING_RATE_PER_EMAIL_PER_DAY = 100  # every click counts against the limits
    asked = all_at_once(
        clicks, lambda: online_booking_request(details=DETAILS, start=START, hold_key=held.key)
    )
    assert {getattr(result, "pk", result) for result in asked} == {BookingRequest.objects.get().pk}
    request_id = BookingRequest.objects.get().pk
    results = all_at_once(clicks, lambda: online_booking_confirm(booking_request_id=request_id))
    assert all(isinstance(result, OnlineBooking) for result in results), results
    assert {result.appointment.pk for result in results} == {Appointment.objects.get().pk}
    assert Patient.objects.count() == 1
    assert [result.replay for result in results].count(False) == 1
    deliver_due_reminders()
    # The confirmation once; the link's email, confirmed before it was sent, is skipped.
    assert [message.subject for message in mail.outbox] == ["Your appointment on Tue, Jan 5, 2027"]
