"""Hostile query strings against the FHIR search: always an answer, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling.fhir.registry import REGISTRY
from tests.fhir.support import api_client, basic, validated

pytestmark = pytest.mark.django_db

# Every parameter any served type takes, and some none does.
NAMES = st.sampled_from(
    [
        *sorted({p.name for kind in REGISTRY.values() for p in kind.params}),
        *["_count", "_offset", "_format", "_since", "_type", "x", ""],
    ]
)
VALUES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"(eq|ge|gt|lt|le|ne|ap)?[0-9]{1,5}(-[0-9]{1,3}){0,2}(T[0-9:.+Z-]{0,20})?"),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    resource_type=st.sampled_from([*REGISTRY, "Patient/x", "Medication", "$export-status/x"]),
    pairs=st.lists(st.tuples(NAMES, VALUES), max_size=5),
)
def test_no_query_string_makes_a_500(client, resource_type, pairs):
    new = api_client()
    query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
    response = client.get(f"/fhir/R4/{resource_type}?{query}", **basic(new))
    assert response.status_code in (200, 400, 404, 405, 406), (query, response.content[:300])
    assert response["Content-Type"].startswith("application/fhir+json")
    validated(response.json())


def test_too_many_parameters_is_a_400(client):
    new = api_client()
    query = "&".join(f"p{i}=1" for i in range(1200))
    response = client.get(f"/fhir/R4/Patient?{query}", **basic(new))
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
