"""Hostile input to the questionnaire steps (a valid link, any POST): never a 500, text shown back
escaped, nothing stored under a key the questionnaire does not ask, and a POST cannot send the
round, change its status or touch the patient's record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from intake.answers import all_entries, section_entries
from intake.examples import COMPLETE_ANSWERS
from intake.forms import ROW_FIELDS, ROWS_FIELD, row_field_name
from intake.links import patient_link_token
from intake.models import IntakeSubmission, SubmissionStatus
from tests.clinic_time import stopped_clock
from tests.factories import PatientFactory, section_post_data
from tests.hostile import HOSTILE, assert_escaped, assert_no_500, hostile_data, text_value

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 20, 0, tzinfo=dt.UTC)
SECTIONS = ("about", "pain", "medications", "phq9", "blood_pressure", "consent")
KNOWN_KEYS = frozenset(all_entries())


def field_names(section_key: str) -> tuple[str, ...]:
    names = [entry.key for entry in section_entries(section_key)]
    if section_key == "medications":
        names += [ROWS_FIELD, "add_rows"]
        names += [row_field_name(i, part) for i in (0, 1, 2, 7, 99) for part in ROW_FIELDS]
    return tuple(names)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[time_machine.Traveller]:
    yield from stopped_clock(NOW)


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Quinn", email="quinn@example.test")


def section_data(section_key: str):
    raw = hostile_data(field_names(section_key))
    valid = section_post_data(section_key, COMPLETE_ANSWERS)
    return st.one_of(raw, raw.map(lambda d: {**valid, **d}))


def check_stored(patient) -> None:
    for submission in IntakeSubmission.objects.filter(patient=patient):
        assert set(submission.answers) <= KNOWN_KEYS, set(submission.answers) - KNOWN_KEYS
        assert submission.status == SubmissionStatus.DRAFT
        assert submission.submitted_at is None
        assert submission.round == 1
        assert set(submission.completed_sections) <= set(SECTIONS)
    patient.refresh_from_db()
    assert (patient.first_name, patient.email) == ("Quinn", "quinn@example.test")


@pytest.mark.parametrize("section_key", SECTIONS)
def test_each_step_takes_any_post(patient, section_key):
    token = patient_link_token(patient)
    url = reverse("intake:section", kwargs={"token": token, "section_key": section_key})

    @HOSTILE
    @given(data=section_data(section_key), rows=text_value)
    def run(data, rows):
        client = Client()
        shown = client.get(url, {"rows": rows})
        assert_no_500(shown)
        response = client.post(url, data)
        assert_no_500(response)
        assert response.status_code in (200, 302, 400)
        assert_escaped(response, data)
        check_stored(patient)

    run()


@HOSTILE
@given(data=hostile_data(("confirm", "submit", "send")))
def test_review_and_send_with_hostile_data_sends_nothing_incomplete(patient, data):
    token = patient_link_token(patient)
    client = Client()
    client.post(
        reverse("intake:section", kwargs={"token": token, "section_key": "about"}),
        section_post_data("about", COMPLETE_ANSWERS),
    )
    response = client.post(reverse("intake:review", kwargs={"token": token}), data)
    assert_no_500(response)
    assert_escaped(response, data)
    check_stored(patient)
