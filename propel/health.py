"""The service's own health: the /healthz view and the worker heartbeat it reads.

`/healthz` is for load balancers and monitors. It answers 200 when the database, the broker and
at least one Celery worker are all fine, 503 otherwise, and never 500: each check catches its own
errors and reports a short reason. Reasons name an exception class or a fact ("no heartbeat yet"),
never a URL, host name, user or password, because the page needs no login.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from propel.celery import app as celery_app
from propel.models import WorkerHeartbeat

# Seconds: a monitor polling /healthz must get its answer well before its own timeout, and a dead
# Redis must not tie up a web worker for kombu's default 4 s connect timeout plus retries.
BROKER_TIMEOUT = 1.0

Check = dict[str, Any]


def heartbeat_record(*, worker: str, now: datetime) -> None:
    """Record that `worker` was alive at `now` (one row per worker, upserted; idempotent)."""
    WorkerHeartbeat.objects.update_or_create(worker=worker[:200], defaults={"seen_at": now})


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _fail(f"query failed ({type(exc).__name__})")
    return {"status": "ok"}


def check_broker() -> Check:
    try:
        conn = celery_app.connection_for_write(
            connect_timeout=BROKER_TIMEOUT,
            transport_options={
                "socket_connect_timeout": BROKER_TIMEOUT,
                "socket_timeout": BROKER_TIMEOUT,
            },
        )
    except Exception as exc:
        return _fail(f"misconfigured ({type(exc).__name__})")
    transport = conn.transport_cls if isinstance(conn.transport_cls, str) else "custom"
    try:
        # celery-types says int; kombu sleeps for these seconds and takes fractions.
        conn.ensure_connection(
            max_retries=1,
            interval_start=0,
            interval_step=0.2,  # type: ignore[arg-type]
            interval_max=0.2,  # type: ignore[arg-type]
            timeout=2 * BROKER_TIMEOUT,  # type: ignore[arg-type]
        )
        if conn.transport.driver_type == "filesystem":
            # kombu's filesystem "connection" always succeeds; what can actually break is the
            # folders, and then every .delay() raises.
            # kombu makes it {} when none are given; the stubs allow None.
            options = conn.transport_options or {}
            for key in ("data_folder_in", "data_folder_out", "control_folder"):
                folder = options.get(key)
                if folder and not os.access(folder, os.W_OK | os.X_OK):
                    return _fail(f"{key} is missing or not writable", transport=transport)
    except Exception as exc:
        return _fail(f"unreachable ({type(exc).__name__})", transport=transport)
    finally:
        conn.release()
    return {"status": "ok", "transport": transport}


def check_worker(*, now: datetime) -> Check:
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE.total_seconds()
    try:
        last = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
    except Exception as exc:
        return _fail(f"cannot read heartbeats ({type(exc).__name__})")
    if last is None:
        return _fail("no heartbeat recorded yet", max_age_seconds=int(max_age))
    # A worker whose clock runs ahead of the web node's would give a negative age: call it 0.
    age = max(0, int((now - last).total_seconds()))
    result: Check = {"age_seconds": age, "max_age_seconds": int(max_age)}
    if age > max_age:
        return _fail("last heartbeat too old", **result)
    return {"status": "ok", **result}


def _fail(reason: str, **extra: Any) -> Check:
    return {"status": "fail", "reason": reason, **extra}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "worker": check_worker(now=timezone.now()),
    }
    healthy = all(check["status"] == "ok" for check in checks.values())
    # never_cache sends Cache-Control: no-store (with max-age=0 and friends): a cached "ok" would
    # hide an outage from the monitor.
    return JsonResponse(
        {"status": "ok" if healthy else "fail", **checks}, status=200 if healthy else 503
    )
