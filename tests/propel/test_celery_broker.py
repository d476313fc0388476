"""A real worker on the real Redis broker runs the heartbeat task sent with .delay().

Needs Redis at REDIS_URL (`make test` sets it) and fails, rather than skips, without it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from celery.utils.nodenames import gethostname

from propel.celery import app as celery_app
from propel.models import WorkerHeartbeat
from propel.tasks import heartbeat
from tests.eager import assert_redis_broker

# A queue of the test's own, so a worker of a `make run` on the same Redis cannot take the task
# (and write to the wrong database), and this worker takes nothing of theirs.
TEST_QUEUE = "propel-test-heartbeat"
WORKER_NAME = "propel-test-worker@localhost"

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_broker() -> None:
    assert_redis_broker()


@pytest.fixture
def worker_on_test_queue(redis_broker) -> Iterator[None]:
    conf = celery_app.conf
    previous = {
        "task_default_queue": conf.task_default_queue,
        "worker_hijack_root_logger": conf.worker_hijack_root_logger,
    }
    # .delay() reads the default queue at send time; the worker consumes only that queue.
    conf.task_default_queue = TEST_QUEUE
    # Leave pytest's log capture alone.
    conf.worker_hijack_root_logger = False
    try:
        with start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,  # the ping needs a result backend; we have none
            queues=[TEST_QUEUE],
            hostname=WORKER_NAME,
            shutdown_timeout=30,
        ):
            yield
    finally:
        conf.update(previous)
        # Worker start-up narrowed the app's consumed queues to ours; restore the defaults.
        celery_app.amqp.queues = conf.task_queues


def test_worker_on_redis_runs_heartbeat_sent_with_delay(worker_on_test_queue) -> None:
    assert not WorkerHeartbeat.objects.exists()

    heartbeat.delay()

    deadline = time.monotonic() + 20
    while (row := WorkerHeartbeat.objects.first()) is None:
        if time.monotonic() > deadline:
            pytest.fail("the in-process worker recorded no heartbeat within 20 s")
        time.sleep(0.2)

    # The prefork pool (the Procfile's worker) puts the node name in the request; the solo pool
    # used here puts the machine's host name. Either way it is the worker's, not made up.
    assert row.worker in (WORKER_NAME, gethostname())
    assert WorkerHeartbeat.objects.count() == 1
    assert 0 <= time.time() - row.seen_at.timestamp() < 30
