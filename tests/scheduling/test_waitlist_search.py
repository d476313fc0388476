"""The front desk finds the caller to add to the waitlist with the new-appointment page's patient
search: the page names (and audits) only the waiting patients, the search's matches and the
caller chosen, never every patient, in a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from propel.models import AuditEvent
from scheduling.models import WaitlistEntry
from scheduling.waitlist.services import entry_add
from tests.clinic_time import at, stopped_clock
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "scheduling:waitlist"


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(at(dt.date(2027, 1, 4), 12))


def shown_ids() -> list[int]:
    return AuditEvent.objects.filter(action="patient.viewed").latest("pk").detail["patient_ids"]


def test_the_page_names_no_patient_until_searched_and_then_only_the_matches(
    client_for, front_desk, online_clinic
):
    client = client_for(front_desk)
    waiting = PatientFactory(first_name="Wendy", last_name="Waiting")
    entry_add(patient_id=waiting.pk, appointment_type=online_clinic.consultation)
    caller = PatientFactory(first_name="Casey", last_name="Caller")
    stranger = PatientFactory(first_name="Sam", last_name="Stranger")

    page = client.get(reverse(URL))
    assert page.status_code == 200
    assert "Stranger" not in page.content.decode() and "Caller" not in page.content.decode()
    assert shown_ids() == [waiting.pk]

    found = client.get(reverse(URL), {"q": "casey"})
    assert found.status_code == 200
    assert [patient.pk for patient in found.context["matches"]] == [caller.pk]
    assert "Stranger" not in found.content.decode()
    assert f"?patient={caller.pk}" in found.content.decode()
    assert shown_ids() == sorted([waiting.pk, caller.pk])
    assert stranger.pk not in shown_ids()


def test_the_chosen_caller_is_added_through_the_hidden_id(client_for, front_desk, online_clinic):
    client = client_for(front_desk)
    caller = PatientFactory(first_name="Casey", last_name="Caller")
    chosen = client.get(reverse(URL), {"patient": caller.pk})
    assert chosen.status_code == 200
    assert chosen.context["chosen"] == caller
    assert f'name="patient" value="{caller.pk}"' in chosen.content.decode()
    assert shown_ids() == [caller.pk]
    added = client.post(
        reverse(URL),
        {
            "action": "add",
            "patient": caller.pk,
            "appointment_type": online_clinic.consultation.pk,
            "part_of_day": "any",
        },
    )
    assert added.status_code == 302
    assert WaitlistEntry.objects.get().patient == caller


@pytest.mark.parametrize(
    "query", [{"q": ""}, {"q": "x" * 500}, {"patient": "abc"}, {"patient": "99999999"}]
)
def test_a_bad_search_or_choice_is_never_a_500(client_for, front_desk, online_clinic, query):
    response = client_for(front_desk).get(reverse(URL), query)
    assert response.status_code in (200, 400)
    assert response.context["chosen"] is None


def test_an_unknown_patient_posted_is_a_400_asking_to_choose_again(
    client_for, front_desk, online_clinic
):
    response = client_for(front_desk).post(
        reverse(URL),
        {"action": "add", "patient": 99999999, "appointment_type": online_clinic.consultation.pk},
    )
    assert response.status_code == 400
    assert "Choose the patient again" in response.content.decode()


def test_a_search_runs_the_same_queries_for_2_or_20_patients(client_for, front_desk, online_clinic):
    client = client_for(front_desk)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(URL), {"q": "smith"}).status_code == 200
        return len(captured)

    for _ in range(2):
        PatientFactory(last_name="Smith")
    few = count()
    for _ in range(18):
        PatientFactory(last_name="Smith")
    assert count() == few
    PatientFactory.create_batch(30)
    assert count() == few


def test_the_search_and_the_chosen_caller_are_valid_html(client_for, front_desk, online_clinic):
    from tests.propel.html_validity import parse_errors, unknown_attributes

    client = client_for(front_desk)
    caller = PatientFactory(first_name="Casey", last_name="Caller")
    for query in ({"q": "casey"}, {"q": "nobody"}, {"patient": caller.pk}):
        document = client.get(reverse(URL), query).content.decode()
        assert not parse_errors(document)
        assert not unknown_attributes(document)
