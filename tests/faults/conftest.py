"""Fixtures of the fault tests: a private Redis for the whole session, a gunicorn serving
pytest-django's test database through it, Celery workers per test, and a private PostgreSQL
cluster per module that needs one. Each fixture kills what it started (whole process groups) and
removes its folders, also when a test fails; a failed test prints the tail of every log.

The shared PostgreSQL and Redis the rest of the suite uses are never stopped or flushed: the only
thing the fault tests keep there is pytest-django's own test database, which the subprocesses
reach through DATABASE_URL (rows a `transactional_db` test writes are committed, so they see them).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.harness import (
    HEARTBEAT_MAX_AGE_SECONDS,
    SEND_TIMEOUT_SECONDS,
    CeleryWorker,
    Gunicorn,
    PostgresCluster,
    RedisServer,
    app_env,
    database_url_of_test_session,
    other_client_connections,
    tail,
    wait_for_other_connections_to_close,
)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def fault_dir() -> Iterator[Path]:
    """Logs and the app's var folders. Not pytest's tmp_path: the private PostgreSQL runs as the
    `postgres` user, who cannot enter /tmp/pytest-of-root (mode 700)."""
    path = Path(tempfile.mkdtemp(prefix="propel-faults-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest, fault_dir: Path) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for log in sorted(fault_dir.glob("*.log")):
            print(tail(log))


@pytest.fixture
def var_dir(request: pytest.FixtureRequest, fault_dir: Path) -> Path:
    """The PROPEL_VAR_DIR of this test's app processes: mail/ and sms/ land here."""
    path = fault_dir / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def private_redis(fault_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(log_dir=fault_dir)
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_server(private_redis: RedisServer) -> RedisServer:
    """The private Redis, running (a test before may have stopped it), emptied."""
    if not private_redis.alive():
        private_redis.start()
    private_redis.client().flushall()
    return private_redis


@pytest.fixture(scope="session")
def test_database_url(django_db_setup: None) -> str:
    return database_url_of_test_session()


@pytest.fixture(scope="session")
def web(
    test_database_url: str,
    django_db_blocker,
    private_redis: RedisServer,
    fault_dir: Path,
) -> Iterator[Gunicorn]:
    """gunicorn on the test database and the private Redis, for the whole session."""
    var = fault_dir / "web"
    var.mkdir()
    env = app_env(
        database_url=test_database_url,
        redis_url=private_redis.url(),
        var_dir=var,
        WORKER_HEARTBEAT_MAX_AGE_SECONDS=HEARTBEAT_MAX_AGE_SECONDS,
    )
    server = Gunicorn(env=env, log_dir=fault_dir)
    with django_db_blocker.unblock():
        already_there = other_client_connections()
    try:
        server.start()
        yield server
    finally:
        server.kill()
        with django_db_blocker.unblock():
            wait_for_other_connections_to_close(already_there)


@pytest.fixture
def worker_env(
    test_database_url: str, redis_server: RedisServer, var_dir: Path
) -> Callable[..., dict[str, str]]:
    """The environment of this test's workers and commands (extra variables as keywords)."""

    def env(**extra: str | int | float) -> dict[str, str]:
        return app_env(
            database_url=test_database_url,
            redis_url=redis_server.url(),
            var_dir=var_dir,
            REMINDER_SEND_TIMEOUT_SECONDS=SEND_TIMEOUT_SECONDS,
            **extra,
        )

    return env


@pytest.fixture
def start_worker(
    transactional_db: None, fault_dir: Path, worker_env: Callable[..., dict[str, str]]
) -> Iterator[Callable[..., CeleryWorker]]:
    """Start a Celery worker on this test's environment; every one is killed when the test ends
    (before its rows are flushed)."""
    started: list[CeleryWorker] = []

    def start(name: str, **extra: str | int | float) -> CeleryWorker:
        worker = CeleryWorker(name, env=worker_env(**extra), log_dir=fault_dir)
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture(scope="module")
def private_postgres(fault_dir: Path) -> Iterator[PostgresCluster]:
    """A migrated PostgreSQL cluster of the module's own, seeded with an online clinic."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="propel-faults-pg-")))
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
