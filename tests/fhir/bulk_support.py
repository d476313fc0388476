"""Helpers of the bulk export tests: kick off, run the queued task in-process, read the manifest
and its NDJSON files (every line validated by fhir.resources' R4B models)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from django.test import Client
from fhir.resources.R4B import get_fhir_model_class

from scheduling.fhir.access import NewClient
from scheduling.models import ExportJob
from tests.eager import eager_tasks
from tests.fhir.support import basic

BASE = "/fhir/R4/"
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@contextmanager
def queued_tasks(capture: Any) -> Iterator[list[Any]]:
    """Kick-offs inside the block queue their run after commit; the runs happen (eagerly, in this
    process) when `run(callbacks)` is called, so a test can poll a job before it runs."""
    with capture(execute=False) as callbacks:
        yield callbacks


def run(callbacks: list[Any]) -> None:
    with eager_tasks():
        for callback in callbacks:
            callback()
    callbacks.clear()


def kick_off(
    client: Client, new: NewClient | None, query: str = "", *, path: str = "$export", **headers: Any
) -> Any:
    extra = {**ASYNC, **headers}
    return client.get(
        f"{BASE}{path}{'?' + query if query else ''}", **(basic(new) if new else {}), **extra
    )


def status_path(response: Any) -> str:
    return urlsplit(response["Content-Location"]).path


def job_of(response: Any) -> ExportJob:
    return ExportJob.objects.get(public_id=status_path(response).rsplit("/", 1)[1])


def poll(client: Client, new: NewClient, path: str, **headers: Any) -> Any:
    return client.get(path, **basic(new), HTTP_ACCEPT="application/json", **headers)


def lines_of(client: Client, new: NewClient, url: str) -> list[dict[str, Any]]:
    """A file of the manifest, each line parsed and validated as its resourceType."""
    response = client.get(urlsplit(url).path, **basic(new), HTTP_ACCEPT="application/fhir+ndjson")
    assert response.status_code == 200, (
        response.content[:300] if hasattr(response, "content") else ""
    )
    assert response["Content-Type"] == "application/fhir+ndjson"
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n")
    found = []
    for line in text.splitlines():
        body = json.loads(line)
        get_fhir_model_class(body["resourceType"]).model_validate(body)
        found.append(body)
    return found


def export_done(
    client: Client,
    new: NewClient,
    query: str = "",
    *,
    path: str = "$export",
    capture: Any,
    **headers: Any,
) -> dict[str, Any]:
    """Kick off, run, and return the manifest (asserting the 200)."""
    with queued_tasks(capture) as callbacks:
        response = kick_off(client, new, query, path=path, **headers)
        assert response.status_code == 202, response.content
    run(callbacks)
    done = poll(client, new, status_path(response))
    assert done.status_code == 200, done.content
    return done.json()
