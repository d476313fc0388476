"""FHIR resource ids: stable, not the database id, not guessable, looked up back in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.fhir import ids
from scheduling.models import FhirId

pytestmark = [pytest.mark.django_db]


def test_an_id_is_stable_valid_and_not_the_pk():
    first = ids.fhir_id("Patient", 7)
    assert ids.fhir_id("Patient", 7) == first
    assert first != "7" and first.lstrip("0") != "7"
    assert ids.FHIR_ID_PATTERN.match(first) and len(first) <= 64
    assert FhirId.objects.count() == 1


def test_neighbouring_rows_and_types_get_unrelated_ids():
    values = ids.fhir_ids("Patient", [1, 2, 3])
    assert len(set(values.values())) == 3
    assert ids.fhir_id("Appointment", 1) != values[1]
    # Random, so not computable from the pk: no shared prefix beyond chance.
    assert len({value[:8] for value in values.values()}) == 3


def test_reverse_lookup():
    value = ids.fhir_id("Location", 12)
    assert ids.resolve("Location", value) == 12
    assert ids.resolve("Patient", value) is None  # another type
    assert ids.resolve("Location", "0" * 32) is None  # never handed out
    assert ids.resolve("Location", "bad id/../") is None  # not a FHIR id
    assert ids.resolve_many("Location", [value, "nope"]) == {value: 12}
    assert ids.resolve_any(value, ["Observation.bp", "Location"]) == ("Location", 12)
    assert ids.resolve_any(value, ["Observation.bp"]) is None


def test_batch_ids_cost_constant_queries():
    ids.fhir_ids("Flag", [1])
    with CaptureQueriesContext(connection) as known:
        ids.fhir_ids("Flag", [1])
    with CaptureQueriesContext(connection) as fresh:
        ids.fhir_ids("Flag", range(2, 200))
    assert len(known) == 1
    assert len(fresh) == 3  # read, insert, read back
    assert ids.fhir_ids("Flag", []) == {}
