"""Celery in the test's own process: tasks run eagerly (nothing reaches a broker), one task run
in-process when it is queued, and the check that a test meant for the real Redis broker has it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings

from propel.celery import app as celery_app


@contextmanager
def eager_tasks(*, propagate: bool = True) -> Iterator[None]:
    """Tasks queued (after commit) run in the test's process, so nothing reaches a real broker;
    with `propagate`, a task's exception is raised in the test (without, that setting is left as
    it is). The previous settings come back afterwards."""
    conf = celery_app.conf
    previous = (conf.task_always_eager, conf.task_eager_propagates)
    conf.task_always_eager = True
    if propagate:
        conf.task_eager_propagates = True
    try:
        yield
    finally:
        conf.task_always_eager, conf.task_eager_propagates = previous


def run_when_queued(monkeypatch: pytest.MonkeyPatch, task) -> list[tuple]:
    """Replace `task.delay`: each call is run in-process (ids only, as Celery would get them) and
    its arguments recorded in the list returned."""
    calls: list[tuple] = []

    def delay(*args):
        calls.append(args)
        return task.apply(args=args)

    monkeypatch.setattr(task, "delay", delay)
    return calls


def assert_redis_broker() -> None:
    """The suite's REDIS_URL is Celery's broker and answers: fails (does not skip) when Redis is
    down."""
    redis_url = os.environ.get("REDIS_URL", "")
    assert redis_url.startswith(("redis://", "rediss://")), (
        "REDIS_URL must point to a running Redis (run the suite with `make test`)"
    )
    assert redis_url == settings.CELERY_BROKER_URL == celery_app.conf.broker_url
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=5)
