"""/healthz: 200 only when database, broker and a recent worker heartbeat are fine; never 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError
from django.urls import reverse

from propel.celery import app as celery_app
from propel.health import heartbeat_record
from propel.models import WorkerHeartbeat
from propel.tasks import heartbeat
from tests.clinic_time import stopped_clock

NOW = datetime(2027, 3, 10, 17, 0, tzinfo=UTC)
CLOSED_REDIS_PORT_URL = "redis://:hunter2@127.0.0.1:6390/0"

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    yield from stopped_clock(NOW)


@pytest.fixture
def broker_down() -> Iterator[None]:
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = CLOSED_REDIS_PORT_URL
    try:
        yield
    finally:
        celery_app.conf.broker_url = previous


def get_health(client):
    response = client.get(reverse("propel:healthz"))
    assert response["Content-Type"] == "application/json"
    return response, response.json()


def test_healthy_when_heartbeat_is_fresh(client, frozen) -> None:
    WorkerHeartbeat.objects.create(worker="celery@node1", seen_at=NOW - timedelta(seconds=45))

    response, body = get_health(client)

    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"] == {"status": "ok"}
    assert body["broker"]["status"] == "ok"
    assert body["worker"] == {"status": "ok", "age_seconds": 45, "max_age_seconds": 120}


def test_worker_fails_when_heartbeat_is_stale(client, frozen, settings) -> None:
    settings.WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=120)
    WorkerHeartbeat.objects.create(worker="celery@node1", seen_at=NOW - timedelta(seconds=121))

    response, body = get_health(client)

    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["worker"]["status"] == "fail"
    assert body["worker"]["age_seconds"] == 121
    assert body["database"]["status"] == "ok"


def test_worker_age_comes_from_the_newest_heartbeat(client, frozen) -> None:
    WorkerHeartbeat.objects.create(worker="celery@dead", seen_at=NOW - timedelta(hours=3))
    WorkerHeartbeat.objects.create(worker="celery@alive", seen_at=NOW - timedelta(seconds=5))

    response, body = get_health(client)

    assert body["worker"]["status"] == "ok"
    assert body["worker"]["age_seconds"] == 5
    assert response.status_code == 200, body


def test_worker_fails_when_no_heartbeat_was_ever_recorded(client, frozen) -> None:
    response, body = get_health(client)

    assert response.status_code == 503
    assert body["worker"]["status"] == "fail"
    assert "no heartbeat" in body["worker"]["reason"]


def test_broker_fails_fast_when_redis_is_unreachable(client, frozen, broker_down) -> None:
    WorkerHeartbeat.objects.create(worker="celery@node1", seen_at=NOW)

    started = time.monotonic()
    response, body = get_health(client)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["broker"]["status"] == "fail"
    assert body["broker"]["transport"] == "redis"
    assert body["database"]["status"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert elapsed < 3
    assert "hunter2" not in response.content.decode()
    assert "6390" not in response.content.decode()


def test_broker_times_out_on_a_server_that_never_answers(client, frozen, settings) -> None:
    # A socket that accepts connections but never replies, like a hung Redis.
    import socket

    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        previous = celery_app.conf.broker_url
        celery_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
        try:
            started = time.monotonic()
            response, body = get_health(client)
            elapsed = time.monotonic() - started
        finally:
            celery_app.conf.broker_url = previous

    assert response.status_code == 503
    assert body["broker"]["status"] == "fail"
    assert elapsed < 3


def test_database_failure_is_reported_not_raised(client, frozen) -> None:
    failing = mock.MagicMock()
    failing.cursor.side_effect = OperationalError(
        'connection to server at "db.internal" failed: password=s3cret'
    )
    with mock.patch("propel.health.connection", failing):
        response, body = get_health(client)

    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["database"] == {"status": "fail", "reason": "query failed (OperationalError)"}
    content = response.content.decode()
    assert "s3cret" not in content
    assert "db.internal" not in content


def test_worker_check_survives_a_database_outage(client, frozen) -> None:
    with mock.patch.object(
        WorkerHeartbeat.objects, "aggregate", side_effect=OperationalError("gone")
    ):
        response, body = get_health(client)

    assert response.status_code == 503
    assert body["worker"]["status"] == "fail"
    assert "OperationalError" in body["worker"]["reason"]


def test_response_is_never_cached(client) -> None:
    response, _ = get_health(client)
    assert "no-store" in response["Cache-Control"]


def test_needs_no_login_and_only_answers_reads(client) -> None:
    assert client.get(reverse("propel:healthz")).status_code in (200, 503)
    assert client.head(reverse("propel:healthz")).status_code in (200, 503)
    assert client.post(reverse("propel:healthz")).status_code == 405


def test_heartbeat_record_upserts_one_row_per_worker() -> None:
    heartbeat_record(worker="celery@node1", now=NOW - timedelta(minutes=5))
    heartbeat_record(worker="celery@node1", now=NOW)
    heartbeat_record(worker="celery@node2", now=NOW - timedelta(minutes=1))

    rows = dict(WorkerHeartbeat.objects.values_list("worker", "seen_at"))
    assert rows == {"celery@node1": NOW, "celery@node2": NOW - timedelta(minutes=1)}


def test_heartbeat_task_records_a_heartbeat_now(frozen) -> None:
    # Run eagerly the request's hostname is this machine's; test_celery_broker.py checks that a
    # real worker records its own node name.
    heartbeat.apply()

    row = WorkerHeartbeat.objects.get()
    assert row.worker
    assert row.seen_at == NOW
