"""Racing kick-offs of one client never run more exports at once than it is allowed: the lock on
the client's row makes each count wait for the other's insert (scheduling.fhir.export.
export_start). The control shows the race without the lock: both pass the count."""

from __future__ import annotations

import time

import pytest

from scheduling.fhir import export
from scheduling.fhir.access import NewClient
from scheduling.fhir.errors import FhirError
from scheduling.models import ExportJob
from tests.fhir.support import api_client
from tests.threads import all_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

RACERS = 4


@pytest.fixture
def slow_start(monkeypatch, settings):
    """One place per client; a wide gap between the count and the insert; nothing queued."""
    settings.FHIR_EXPORT_MAX_ACTIVE_PER_CLIENT = 1
    ttl = export._ttl
    monkeypatch.setattr(export, "_ttl", lambda: (time.sleep(0.3), ttl())[1])
    monkeypatch.setattr(export, "enqueue_on_commit", lambda *args, **kwargs: None)


def _race(new: NewClient) -> list[object]:
    kickoff = export.KickOff("system", ["Patient"], None, export.NDJSON)
    results, finished = all_at_once(
        RACERS,
        lambda i: export.export_start(client=new.client, kickoff=kickoff, request_url="x"),
    )
    assert finished
    return results


@pytest.mark.usefixtures("slow_start")
def test_racing_kick_offs_start_one_export_and_the_others_get_429():
    results = _race(api_client())
    assert sum(isinstance(r, ExportJob) for r in results) == 1, results
    assert all(r.status == 429 for r in results if isinstance(r, FhirError))
    assert ExportJob.objects.count() == 1


@pytest.mark.usefixtures("slow_start")
def test_control_without_the_clients_lock_the_race_starts_several(monkeypatch):
    class NoLock:
        def select_for_update(self):
            return self

        def filter(self, **kwargs):
            return self

        def first(self):
            return None

    new = api_client()
    monkeypatch.setattr(export.FhirClient, "objects", NoLock())
    _race(new)
    assert ExportJob.objects.count() > 1
