"""Two workers (the on-commit task and the beat sweep, each on its own PostgreSQL connection)
take the same freed slot at the same moment: it is offered exactly once."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling.models import FreedSlot, Reminder, ReminderKind, WaitlistInvite, WaitlistOffer
from scheduling.waitlist.freed import freed_slot_offer, freed_slots_sweep
from scheduling.waitlist.services import entry_add
from tests.clinic_time import at, stopped_clock
from tests.factories import PatientFactory
from tests.threads import all_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.race]

NOW = at(dt.date(2027, 1, 4), 12)
FREED = at(dt.date(2027, 1, 5), 15)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def test_the_task_and_the_sweep_at_once_offer_a_freed_slot_exactly_once(online_clinic):
    for _ in range(3):
        entry_add(patient_id=PatientFactory().pk, appointment_type=online_clinic.consultation)
    freed = FreedSlot.objects.create(
        appointment_type=online_clinic.consultation,
        start=FREED,
        room=online_clinic.room,
        clinician=online_clinic.clinician,
    )

    def work(index: int) -> object:
        if index == 0:
            return freed_slot_offer(freed_slot_id=freed.pk, now=NOW)
        return freed_slots_sweep(now=NOW)

    results, finished = all_at_once(2, work, wait=60, join=120)
    assert finished, "a worker thread hung"
    task_offered, swept = results
    assert (task_offered is True) + len(swept) == 1  # type: ignore[arg-type]
    assert WaitlistOffer.objects.count() == 1
    assert WaitlistInvite.objects.count() == 2  # WAITLIST_OFFER_AT_ONCE, not twice that
    assert Reminder.objects.filter(kind=ReminderKind.WAITLIST_OFFER).count() == 2
    assert FreedSlot.objects.get().processed_at == NOW
