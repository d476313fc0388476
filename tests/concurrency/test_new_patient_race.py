"""Issue 20 item 1: the same caller submitted by four front-desk screens at the very same moment
(a double click, two desks on one call) makes one patient; the others are shown it as a likely
duplicate (intake.patient_registration.registration_serialise around the check and the insert)."""

from __future__ import annotations

import pytest

from intake.models import Patient
from tests.factories import UserFactory
from tests.personas import verified_client
from tests.threads import all_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.race]

THREADS = 4
CALLER = {
    "first_name": "Alex",
    "last_name": "Sample",
    "date_of_birth": "03/27/1980",
    "email": "alex.sample@example.test",
    "preferred_language": "en",
    "send_link": ["email"],
}


def test_one_caller_submitted_four_times_at_once_is_one_patient():
    clients = [verified_client(UserFactory(front_desk=True)) for _ in range(THREADS)]
    results, finished = all_at_once(
        THREADS, lambda i: clients[i].post("/staff/patients/new/", CALLER).status_code, wait=60
    )
    assert finished
    assert sorted(results) == [200, 200, 200, 302], results
    assert Patient.objects.count() == 1
