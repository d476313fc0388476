"""Bench-only Celery tasks: the floor of item 6 (bench/items/reminders.py).

The bench starts its worker with `--include bench.tasks` (Bench.celery_worker(include=...)); the
app never imports this module, so production workers do not have these tasks.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

# Executions of bench.noop, counted in the broker's Redis so the publisher can tell when the
# last one ran.
NOOP_COUNTER = "bench:noop:executed"

_client: Any = None


def redis_client() -> Any:
    """One connection per process (created after the prefork pool forks)."""
    global _client
    if _client is None:
        import redis
        from django.conf import settings

        _client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return _client


@shared_task(name="bench.noop", ignore_result=True)
def noop() -> None:
    """Nothing but a counter increment: what a task costs the worker with no work in it. It is
    delivered, acknowledged (acks late, as the app's tasks) and counted like a real one."""
    redis_client().incr(NOOP_COUNTER)
