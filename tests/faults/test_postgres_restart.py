"""PostgreSQL restarted between requests: the running app recovers by itself, on the same worker
process, and while the database is down it says so calmly (503, never a 500 or a hang).

A private cluster (tests/faults/conftest.py), migrated and seeded through manage.py, serves a
gunicorn with one sync worker, so every request below is answered by the same process and its one
persistent connection (CONN_MAX_AGE=60 with CONN_HEALTH_CHECKS in propel/settings.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.flows import PAGE_SECONDS
from tests.faults.harness import (
    Client,
    Gunicorn,
    PostgresCluster,
    RedisServer,
    Response,
    app_env,
    manage,
)

pytestmark = [pytest.mark.postgres]

# manage.py migrate and the seed in one process: Django starts once.
MIGRATE_AND_SEED = "from tests.faults.seed import migrated_online_clinic; migrated_online_clinic()"


@pytest.fixture(scope="module")
def web_on_private_postgres(
    private_postgres: PostgresCluster, private_redis: RedisServer, fault_dir: Path
) -> Iterator[Gunicorn]:
    var = fault_dir / "web-private-postgres"
    var.mkdir()
    env = app_env(
        database_url=private_postgres.url(),
        redis_url=private_redis.url(),
        var_dir=var,
        # The seeded heartbeat must outlast the module: only the database is failed here.
        WORKER_HEARTBEAT_MAX_AGE_SECONDS=3600,
    )
    manage("shell", "-c", MIGRATE_AND_SEED, env=env)
    server = Gunicorn(env=env, log_dir=fault_dir, name="gunicorn-private-postgres")
    try:
        server.start()
        yield server
    finally:
        server.kill()


def app_backends(cluster: PostgresCluster) -> set[int]:
    """Server processes of the app's connections (every client but the one asking)."""
    rows = cluster.query(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
        "AND pid <> pg_backend_pid()"
    )
    return {pid for (pid,) in rows}


def ok(response: Response) -> Response:
    assert response.status == 200, f"{response.status}\n{response.text[:2000]}"
    assert response.elapsed < PAGE_SECONDS
    return response


def calm_503(response: Response) -> None:
    assert response.status == 503, f"{response.status}\n{response.text[:2000]}"
    assert response.elapsed < PAGE_SECONDS
    assert response.headers["Retry-After"] == "120"
    assert "nothing you entered on that page was saved" in response.text
    assert "try again in a few minutes" in response.text
    assert "Traceback" not in response.text and "OperationalError" not in response.text


def test_a_postgres_restart_is_ridden_out_by_the_same_worker(
    web_on_private_postgres: Gunicorn, private_postgres: PostgresCluster, redis_server
) -> None:
    web = web_on_private_postgres
    client = Client(web.base_url)
    picker = ok(client.get("/book/"))
    start = re.search(r'name="start" value="([^"]+)"', picker.text)
    assert start, "the seeded clinic offers times"
    assert ok(client.get("/healthz")).json()["status"] == "ok"
    workers = web.worker_pids()
    assert len(workers) == 1
    # The worker keeps one connection open between requests (CONN_MAX_AGE).
    before = app_backends(private_postgres)
    assert len(before) == 1

    private_postgres.restart()  # pg_ctl restart -m fast: that connection is closed under it

    # The very first request after the restart is answered: the health check on the persistent
    # connection finds it dead and opens a new one.
    ok(client.get("/book/"))
    assert ok(client.get("/healthz")).json()["database"] == {"status": "ok"}
    assert web.alive() and web.worker_pids() == workers, "served without restarting gunicorn"
    after = app_backends(private_postgres)
    assert len(after) == 1 and after.isdisjoint(before)

    private_postgres.stop()
    try:
        health = client.get("/healthz")
        assert health.status == 503 and health.elapsed < PAGE_SECONDS
        body = health.json()
        assert body["database"]["status"] == "fail"
        assert body["database"]["reason"].startswith("query failed")
        assert body["broker"]["status"] == "ok"
        calm_503(client.get("/book/"))
        # A form sent while the database is down: the same page, and nothing half-saved.
        calm_503(client.submit("/book/hold/", picker, {"start": start[1]}))
    finally:
        private_postgres.start()

    ok(client.get("/book/"))
    assert ok(client.get("/healthz")).json()["status"] == "ok"
    assert web.alive() and web.worker_pids() == workers
