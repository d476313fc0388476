"""Hostile requests to the bulk export: another client's job, expired files, a client without
the scope, a malformed _since, a huge _count, unserved parameters, junk query strings. Each is
the right OperationOutcome, never a 500."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlsplit

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling.models import ExportJob
from tests.factories import PatientFactory
from tests.fhir.bulk_support import (
    BASE,
    export_done,
    kick_off,
    lines_of,
    poll,
    queued_tasks,
    run,
)
from tests.fhir.support import api_client, basic, outcome, validated

pytestmark = pytest.mark.django_db

DEC_1 = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)


def test_another_clients_job_and_files_are_not_found(client, django_capture_on_commit_callbacks):
    owner, stranger = api_client(), api_client(name="Stranger")
    PatientFactory()
    manifest = export_done(client, owner, capture=django_capture_on_commit_callbacks)
    status = f"{BASE}$export-status/{ExportJob.objects.get().public_id}"
    file_path = urlsplit(manifest["output"][0]["url"]).path
    outcome(poll(client, stranger, status), 404, "not-found")
    outcome(client.delete(status, **basic(stranger)), 404, "not-found")
    outcome(client.get(file_path, **basic(stranger)), 404, "not-found")
    # The same answer as for an id that never existed: nothing tells the stranger it does.
    made_up = poll(client, stranger, f"{BASE}$export-status/{'0' * 32}")
    assert made_up.json() == poll(client, stranger, status).json()
    # The owner still has everything.
    assert ExportJob.objects.get().status == "completed"
    assert lines_of(client, owner, manifest["output"][0]["url"])


def test_without_credentials_every_export_address_is_a_401(client):
    for path in ("$export", "Patient/$export", f"$export-status/{'0' * 32}"):
        response = client.get(BASE + path, HTTP_PREFER="respond-async")
        outcome(response, 401, "login")
    outcome(client.get(f"{BASE}$export-file/{'0' * 32}/x.ndjson"), 401, "login")


def test_expired_files_are_not_found_with_a_clear_diagnostic(
    client, django_capture_on_commit_callbacks
):
    new = api_client()
    PatientFactory()
    with time_machine.travel(DEC_1, tick=False):
        manifest = export_done(client, new, capture=django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    with time_machine.travel(DEC_1 + dt.timedelta(days=2), tick=False):
        body = outcome(
            client.get(urlsplit(manifest["output"][0]["url"]).path, **basic(new)),
            404,
            "not-found",
        )
        assert "expired" in body["issue"][0]["diagnostics"]
        assert "start a new export" in body["issue"][0]["diagnostics"]
        outcome(poll(client, new, f"{BASE}$export-status/{job.public_id}"), 404, "not-found")


def test_a_file_of_a_job_still_running_or_a_made_up_name_is_not_found(
    client, django_capture_on_commit_callbacks
):
    new = api_client()
    PatientFactory()
    with queued_tasks(django_capture_on_commit_callbacks) as callbacks:
        kick_off(client, new)
    job = ExportJob.objects.get()
    outcome(
        client.get(f"{BASE}$export-file/{job.public_id}/Patient-1-x.ndjson", **basic(new)),
        404,
        "not-found",
    )
    run(callbacks)
    for name in ("Patient-1-x.ndjson", "..%2F..%2Fsecret", "x" * 300):
        response = client.get(f"{BASE}$export-file/{job.public_id}/{name}", **basic(new))
        outcome(response, 404, "not-found")


@pytest.mark.parametrize(
    ("scopes", "query", "status"),
    [
        (["system/Patient.read"], "_type=Appointment", 403),
        (["system/Patient.read"], "_type=Patient,Appointment", 403),
        ([], "", 403),
        ([], "_type=Patient", 403),
    ],
)
def test_a_client_without_the_scope_is_refused(client, scopes, query, status):
    new = api_client(scopes=scopes)
    body = outcome(kick_off(client, new, query), status, "forbidden")
    assert "scope" in body["issue"][0]["diagnostics"]
    assert not ExportJob.objects.exists()


def test_without_type_a_client_gets_only_the_types_of_its_scopes(
    client, django_capture_on_commit_callbacks
):
    new = api_client(scopes=["system/Patient.read"])
    PatientFactory()
    manifest = export_done(client, new, capture=django_capture_on_commit_callbacks)
    assert {item["type"] for item in manifest["output"]} == {"Patient"}


@pytest.mark.parametrize(
    "since",
    [
        "yesterday",
        "2026-12-01",  # a date, not an instant
        "2026-12-01T09:00:00",  # no zone
        "2026-13-01T09:00:00Z",
        "2026-02-30T09:00:00Z",
        "2026-12-01T25:00:00Z",
        "2026-12-01T09:00Z",
        "-1",
        "9" * 40,
    ],
)
def test_a_malformed_since_is_a_400(client, since):
    new = api_client()
    outcome(kick_off(client, new, f"_since={quote(since)}"), 400, "invalid")


def test_a_since_in_the_future_or_given_twice_is_a_400(client):
    new = api_client()
    with time_machine.travel(DEC_1, tick=False):
        body = outcome(kick_off(client, new, "_since=2026-12-02T00:00:00Z"), 400, "invalid")
        assert "future" in body["issue"][0]["diagnostics"]
        outcome(
            kick_off(client, new, "_since=2026-11-01T00:00:00Z&_since=2026-11-02T00:00:00Z"),
            400,
            "invalid",
        )


def test_an_unencoded_plus_in_since_is_read_as_a_plus(client):
    new = api_client()
    assert kick_off(client, new, "_since=2026-11-01T00:00:00+02:00").status_code == 202
    assert ExportJob.objects.get().since == dt.datetime(2026, 10, 31, 22, 0, tzinfo=dt.UTC)


def test_a_huge_count_on_the_export_is_a_400_and_on_a_search_is_capped(client):
    new = api_client()
    body = outcome(kick_off(client, new, f"_count={'9' * 30}"), 400, "invalid")
    assert "_count" in body["issue"][0]["diagnostics"]
    search = client.get(f"{BASE}Patient?_count={'9' * 18}", **basic(new))
    assert search.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "_type=Condition",
        "_type=Patient,Nonsense",
        "_type=Binary",  # read by id only: its files come through the DocumentReferences
        "_type=",
        "_type=,",
        "_typeFilter=Patient%3Factive%3Dtrue",
        "_elements=id",
        "_until=2026-12-01T00:00:00Z",
        "includeAssociatedData=LatestProvenanceResources",
        "_outputFormat=text/csv",
        "_outputFormat=ndjson&_outputFormat=ndjson",
        "frobnicate=1",
    ],
)
def test_unserved_parameters_and_types_are_a_400(client, query):
    new = api_client()
    outcome(kick_off(client, new, query), 400, "invalid")
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    "output_format", ["application/fhir%2Bndjson", "application/fhir+ndjson", "ndjson"]
)
def test_the_three_ndjson_spellings_are_accepted(client, output_format):
    new = api_client()
    assert kick_off(client, new, f"_outputFormat={output_format}").status_code == 202


def test_handling_lenient_drops_what_is_unserved_and_says_so_in_the_error_file(
    client, django_capture_on_commit_callbacks
):
    new = api_client(scopes=["system/Patient.read"])
    PatientFactory()
    manifest = export_done(
        client,
        new,
        "_type=Patient,Condition,Appointment&_typeFilter=Patient%3Factive%3Dtrue",
        capture=django_capture_on_commit_callbacks,
        HTTP_PREFER="respond-async, handling=lenient",
    )
    assert [item["type"] for item in manifest["output"]] == ["Patient"]
    [error] = manifest["error"]
    warnings = [o["issue"][0] for o in lines_of(client, new, error["url"])]
    assert all(w["severity"] == "warning" for w in warnings)
    texts = " ".join(w["diagnostics"] for w in warnings)
    assert "_typeFilter" in texts and "Condition" in texts
    assert "system/Appointment.read" in texts


def test_patient_level_type_outside_the_compartment_is_a_400(client):
    from scheduling.fhir.registry import REGISTRY

    assert not REGISTRY["Practitioner"].in_patient_compartment
    new = api_client(scopes=["system/Patient.read", "system/Practitioner.read"])
    body = outcome(
        kick_off(client, new, "_type=Practitioner", path="Patient/$export"), 400, "invalid"
    )
    assert "compartment" in body["issue"][0]["diagnostics"]


def test_wrong_methods_and_accept_headers(client):
    new = api_client()
    outcome(client.post(BASE + "$export", **basic(new)), 405, "not-supported")
    outcome(client.delete(BASE + "$export", **basic(new)), 405, "not-supported")
    outcome(kick_off(client, new, HTTP_ACCEPT="text/html"), 406, "not-supported")
    assert client.head(BASE + "$export", **basic(new)).status_code == 405
    assert not ExportJob.objects.exists()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["$export", "Patient/$export"]),
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["_since", "_type", "_outputFormat", "_typeFilter", "_count", "x", ""]),
            st.one_of(
                st.text(max_size=40),
                st.from_regex(r"[0-9]{1,5}(-[0-9]{1,3}){0,2}(T[0-9:.+Z-]{0,20})?"),
                st.sampled_from(["Patient", "Appointment", "Patient,Appointment", "ndjson"]),
            ),
        ),
        max_size=4,
    ),
    lenient=st.booleans(),
)
def test_no_kick_off_query_makes_a_500(client, path, pairs, lenient):
    new = api_client()
    ExportJob.objects.all().delete()  # the concurrency limit is tested on its own
    query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
    prefer = "respond-async, handling=lenient" if lenient else "respond-async"
    response = kick_off(client, new, query, path=path, HTTP_PREFER=prefer)
    assert response.status_code in (202, 400, 403), (query, response.content[:300])
    assert response["Content-Type"].startswith("application/fhir+json")
    validated(response.json())
