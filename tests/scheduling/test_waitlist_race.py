"""Two patients offered the same freed time accept it at the same moment, each on their own
PostgreSQL connection: exactly one books it, the other is told it went."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling.models import Appointment, OfferState
from scheduling.waitlist.services import WaitlistError, entry_add, offer_accept, slot_freed
from tests.clinic_time import at, stopped_clock
from tests.factories import PatientFactory
from tests.threads import all_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.race]

NOW = at(dt.date(2027, 1, 4), 12)
FREED = at(dt.date(2027, 1, 5), 15)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def test_two_patients_accepting_at_once_book_exactly_once(online_clinic):
    patients = [PatientFactory(), PatientFactory()]
    for patient in patients:
        entry_add(patient_id=patient.pk, appointment_type=online_clinic.consultation)
    offer = slot_freed(
        appointment_type_id=online_clinic.consultation.pk,
        start=FREED,
        room_id=online_clinic.room.pk,
        clinician_id=online_clinic.clinician.pk,
        now=NOW,
    )
    invites = [offer.invites.get(entry__patient=patient) for patient in patients]

    def accept(index: int) -> object:
        try:
            return offer_accept(invite_id=invites[index].pk, patient=patients[index], now=NOW)
        except WaitlistError as error:
            return error.code

    results, finished = all_at_once(2, accept, wait=60, join=120)
    assert finished, "an accepting thread hung"
    booked = [result for result in results if isinstance(result, Appointment)]
    assert len(booked) == 1
    assert [result for result in results if not isinstance(result, Appointment)] == ["gone"]
    assert Appointment.objects.filter(start=FREED).count() == 1
    offer.refresh_from_db()
    assert offer.state == OfferState.TAKEN
