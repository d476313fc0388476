"""Freed slots are durable (scheduling.models.FreedSlot, scheduling.waitlist.freed): the time a
cancellation frees is recorded in the cancellation's own transaction, so an offer task that never
reached the broker is made up by the beat sweep, and each freed slot is offered exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from scheduling.models import (
    AppointmentStatus,
    FreedSlot,
    Reminder,
    ReminderKind,
    WaitlistOffer,
)
from scheduling.transitions import appointment_transition
from scheduling.waitlist import tasks
from scheduling.waitlist.freed import freed_slot_offer, freed_slots_sweep
from scheduling.waitlist.services import entry_add
from tests.clinic_time import at, stopped_clock
from tests.factories import PatientFactory, consultation_at

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday
FREED = at(dt.date(2027, 1, 5), 15)  # Tuesday 3pm


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def cancel_with_waiting_patient(clinic, callbacks, *, execute: bool):
    waiting = PatientFactory()
    entry_add(patient_id=waiting.pk, appointment_type=clinic.consultation)
    visit = consultation_at(clinic, FREED, patient=PatientFactory())
    with callbacks(execute=execute):
        appointment_transition(appointment_id=visit.pk, to_status=AppointmentStatus.CANCELLED)
    return waiting


def test_a_cancellation_records_the_freed_time_and_its_task_offers_it_once(
    online_clinic, django_capture_on_commit_callbacks
):
    waiting = cancel_with_waiting_patient(
        online_clinic, django_capture_on_commit_callbacks, execute=True
    )
    freed = FreedSlot.objects.get()
    assert (freed.start, freed.room_id, freed.clinician_id) == (
        FREED,
        online_clinic.room.pk,
        online_clinic.clinician.pk,
    )
    assert freed.processed_at == NOW
    assert WaitlistOffer.objects.get().start == FREED
    # The task again (a redelivery) and the sweep: nothing more.
    assert freed_slot_offer(freed_slot_id=freed.pk) is False
    assert freed_slots_sweep() == []
    assert WaitlistOffer.objects.count() == 1
    assert Reminder.objects.filter(patient=waiting, kind=ReminderKind.WAITLIST_OFFER).count() == 1


def test_broker_down_at_commit_the_sweep_offers_the_slot_later_exactly_once(
    online_clinic, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.freed_slot_offer, "delay", broker_down)
    cancel_with_waiting_patient(online_clinic, django_capture_on_commit_callbacks, execute=True)
    assert "could not queue scheduling.waitlist.tasks.freed_slot_offer" in caplog.text
    freed = FreedSlot.objects.get()
    assert freed.processed_at is None
    assert not WaitlistOffer.objects.exists()

    assert freed_slots_sweep() == [freed.pk]
    assert WaitlistOffer.objects.get().start == FREED
    assert freed_slots_sweep() == []
    assert WaitlistOffer.objects.count() == 1


def test_a_rolled_back_cancellation_leaves_no_freed_slot(online_clinic):
    visit = consultation_at(online_clinic, FREED, patient=PatientFactory())
    with pytest.raises(RuntimeError), transaction.atomic():
        appointment_transition(appointment_id=visit.pk, to_status=AppointmentStatus.CANCELLED)
        raise RuntimeError
    assert not FreedSlot.objects.exists()


def test_a_freed_slot_nobody_wants_or_already_past_is_processed_without_an_offer(
    online_clinic, django_capture_on_commit_callbacks
):
    visit = consultation_at(online_clinic, FREED, patient=PatientFactory())
    with django_capture_on_commit_callbacks(execute=False):
        appointment_transition(appointment_id=visit.pk, to_status=AppointmentStatus.CANCELLED)
    late = FREED + dt.timedelta(minutes=1)
    assert freed_slots_sweep(now=late) == [FreedSlot.objects.get().pk]
    assert FreedSlot.objects.get().processed_at == late
    assert not WaitlistOffer.objects.exists()
    assert freed_slots_sweep(now=late) == []
