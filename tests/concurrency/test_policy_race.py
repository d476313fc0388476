"""Issue 14, "booking re-checks the policy at commit": an admin turns clearance back on for
infusions while a desk is booking an uncleared patient's infusion, on real PostgreSQL connections.
The booking reads the type's policy FOR SHARE under its locks, so it waits for the admin's change
and refuses; the control shows the same race books the infusion when the booking trusts the value
it loaded before its locks."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from scheduling import rechecks
from scheduling.booking import appointment_book
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentType
from tests.clinic_time import LA, at
from tests.factories import (
    PatientFactory,
    UserFactory,
    infusion_clinic,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)
START = at(dt.date(2027, 1, 5), 10)
HOLD_SECONDS = 1.0


@pytest.fixture
def clinic():
    kind = infusion_clinic().infusion
    # The policy as an admin left it earlier: clearance switched off for infusions.
    AppointmentType.objects.filter(pk=kind.pk).update(needs_clearance=False)
    return {
        "kind": kind,
        "patient": PatientFactory(),  # never cleared
        "desk": UserFactory(front_desk=True),
    }


def race(clinic) -> object:
    """The admin's transaction turns clearance on and holds its row lock for HOLD_SECONDS while
    the desk books; returns what the booking returned or raised."""
    changed = threading.Event()
    result: list[object] = [None]

    def admin() -> None:
        try:
            with transaction.atomic():
                AppointmentType.objects.filter(pk=clinic["kind"].pk).update(needs_clearance=True)
                changed.set()
                time.sleep(HOLD_SECONDS)
        finally:
            connection.close()

    def desk() -> None:
        try:
            changed.wait(timeout=10)
            result[0] = appointment_book(
                patient_id=clinic["patient"].pk,
                appointment_type_id=clinic["kind"].pk,
                start=START,
                actor=clinic["desk"],
                now=NOW,
            )
        except Exception as error:
            result[0] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=admin), threading.Thread(target=desk)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return result[0]


def test_a_booking_racing_a_policy_change_sees_it_and_refuses(clinic):
    outcome = race(clinic)
    assert isinstance(outcome, SchedulingError), outcome
    assert outcome.code == "needs_clearance"
    assert not Appointment.objects.exists()


def test_control_trusting_the_value_loaded_before_the_locks_books_the_infusion(clinic, monkeypatch):
    monkeypatch.setattr(
        rechecks, "_needs_clearance_now", lambda appointment_type: appointment_type.needs_clearance
    )
    outcome = race(clinic)
    assert isinstance(outcome, Appointment), outcome
