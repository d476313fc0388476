"""Processes and databases for the bench.

One PostgreSQL database per state (built from a migrated, demo-seeded template), gunicorn and
Celery started with production settings (PROPEL_MODE=production, bench.settings), wrk pinned to
one core and the server to the other, resident memory read from /proc. Items call these; nothing
here knows what an item measures.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
# BENCH_NAME keeps two benches on one machine apart (databases, logs); "propel_bench" normally.
NAME = os.environ.get("BENCH_NAME", "propel_bench")
VAR_DIR = BASE_DIR / "var" / NAME
LOG_DIR = VAR_DIR / "logs"
BIN = Path(sys.executable).parent

# The databases, all on the PostgreSQL of BENCH_POSTGRES_URL (the local server by default).
TEMPLATE_DB = f"{NAME}_template"  # migrated + seed_demo
SMALL_DB = f"{NAME}_small"  # template + 10 scale appointments
LARGE_DB = f"{NAME}_large"  # template + 10,000 appointments, 2,000 patients
SCALE_SMALL = {"appointments": 10, "patients": 10, "rooms": 12, "clinicians": 8}
SCALE_LARGE = {"appointments": 10_000, "patients": 2_000, "rooms": 12, "clinicians": 8}
HISTORY_DB = f"{NAME}_history"  # the large state + HISTORY_APPOINTMENTS past appointments
HISTORY_APPOINTMENTS = 1_000_000

# Two cores: the server (gunicorn, the Celery worker) on one, the load generator on the other.
SERVER_CPUS = "0"
LOAD_CPUS = "1"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpus: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *command] if (os.cpu_count() or 1) > 1 else command


@dataclass
class Bench:
    """Where the bench's databases, broker and logs are, and how to run things against them."""

    postgres_url: str = field(
        default_factory=lambda: os.environ.get(
            "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"
        ).rstrip("/")
    )
    redis_url: str = field(
        default_factory=lambda: os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    )
    # Short runs for a smoke test of the bench itself (`python -m bench --quick`).
    quick: bool = False
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(60))

    def seconds(self, full: float) -> float:
        """A load duration: `full` normally, a fifth of it (at least 2 s) with --quick."""
        return max(2.0, full / 5) if self.quick else full

    def count(self, full: int) -> int:
        return max(1, full // 20) if self.quick else full

    # --- Environment -------------------------------------------------------------------------

    def db_url(self, db: str) -> str:
        return f"{self.postgres_url}/{db}"

    def env(self, db: str, **extra: str) -> dict[str, str]:
        """Production settings against database `db`, console email/SMS, quiet logs."""
        env = dict(os.environ)
        for name in ("DEBUG", "PROPEL_VAR_DIR", "DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        env.update(
            PROPEL_MODE="production",
            DJANGO_SETTINGS_MODULE="bench.settings",
            SECRET_KEY=self.secret_key,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            SITE_URL="http://127.0.0.1",
            DATABASE_URL=self.db_url(db),
            REDIS_URL=self.redis_url,
            PROPEL_VAR_DIR=str(VAR_DIR / "var"),
            EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
            SMS_BACKEND="propel.sms.ConsoleBackend",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(BASE_DIR),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def manage(self, db: str, *args: str, **extra: str) -> str:
        """Run a manage.py command; its output goes to the log, its stdout is returned."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env(db, **extra),
            capture_output=True,
            text=True,
            check=False,
        )
        (LOG_DIR / "manage.log").open("a").write(result.stdout + result.stderr)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def run_item(self, module: str, db: str, *args: str, **extra: str) -> Any:
        """Run `python -m module args` inside Django against `db`; it prints one JSON document
        as its last stdout line, which is returned."""
        result = subprocess.run(
            pinned(SERVER_CPUS, [sys.executable, "-m", module, *args]),
            cwd=BASE_DIR,
            env=self.env(db, **extra),
            capture_output=True,
            text=True,
            check=False,
        )
        (LOG_DIR / f"{module.rsplit('.', 1)[-1]}.log").open("a").write(result.stderr)
        if result.returncode:
            raise RuntimeError(f"{module} {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    # --- Databases ---------------------------------------------------------------------------

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(f"{self.postgres_url}/postgres", autocommit=True)

    def create_db(self, name: str, *, template: str | None = None) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')

    def drop_db(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def add_history(self, db: str, appointments: int) -> None:
        """`appointments` past appointments before the earliest one in `db`: every active room
        busy in half-hour visits from 7:00 to 18:30 clinic time, day after day back for as many
        years as that takes (10 for a million with 12 rooms), the first 8 rooms with a clinician
        each, patients in turn; 90% completed, the rest cancelled or no-shows. One INSERT ...
        SELECT over generate_series; triggers (the availability counter, foreign keys) are off
        for it, the exclusion constraints are not. (Dropping the GiST indexes and building them
        after took as long on this machine, about 5 minutes in all.)"""
        with psycopg.connect(self.db_url(db), autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                conn.execute(_HISTORY_SQL, {"n": appointments})
            conn.execute("VACUUM ANALYZE scheduling_appointment")

    def query(self, db: str, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.db_url(db), autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()

    # --- Processes ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def gunicorn(self, db: str, *, workers: int = 2, **extra: str) -> Iterator[Server]:
        """gunicorn serving bench.settings (production) on a free port, pinned to SERVER_CPUS."""
        port = free_port()
        command = [
            str(BIN / "gunicorn"),
            "propel.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--no-control-socket",
            "--log-level",
            "warning",
        ]
        with _process(
            pinned(SERVER_CPUS, command), self.env(db, **extra), LOG_DIR / "gunicorn.log"
        ) as proc:
            server = Server(url=f"http://127.0.0.1:{port}", pid=proc.pid)
            _wait_http(server.url + "/healthz", proc)
            deadline = time.monotonic() + 30
            while len(server.worker_pids()) < workers and time.monotonic() < deadline:
                time.sleep(0.1)
            yield server

    @contextlib.contextmanager
    def celery_worker(
        self,
        db: str,
        *,
        concurrency: int = 1,
        pool: str = "prefork",
        include: tuple[str, ...] = (),
        **extra: str,
    ) -> Iterator[Worker]:
        """A Celery worker (no beat) on the bench broker, pinned to SERVER_CPUS; yields once
        it answers a ping. `include`: extra task modules it imports (`--include`), e.g. the
        bench-only bench.tasks."""
        name = f"bench-{secrets.token_hex(3)}@%h"
        command = [
            str(BIN / "celery"),
            "-A",
            "propel",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            str(concurrency),
            "--pool",
            pool,
            "--hostname",
            name,
            "--without-gossip",
            "--without-mingle",
            *(["--include", ",".join(include)] if include else []),
        ]
        with _process(
            pinned(SERVER_CPUS, command), self.env(db, **extra), LOG_DIR / "celery.log"
        ) as proc:
            worker = Worker(pid=proc.pid)
            _wait_celery(self.env(db, **extra), proc)
            yield worker


# Slots are numbered back from the day before the first appointment; slot k of a day is
# 7:00 + 30k minutes clinic time, 23 a day, one visit per active room in each.
_HISTORY_SQL = """
WITH settings AS (
    SELECT (SELECT min("start") FROM scheduling_appointment) AS first,
           %(n)s::bigint AS n
), rooms AS (
    SELECT r.id, r.kind, row_number() OVER (ORDER BY r.id) - 1 AS i
    FROM scheduling_room r WHERE r.active
), clinicians AS (
    SELECT c.id, row_number() OVER (ORDER BY c.id) - 1 AS i
    FROM scheduling_clinician c WHERE c.active
), types AS (
    SELECT DISTINCT ON (room_kind) room_kind, id FROM scheduling_appointmenttype
    WHERE active ORDER BY room_kind, needs_clinician DESC, id
), patients AS (
    SELECT array_agg(id ORDER BY id) AS ids, count(*) AS total FROM intake_patient
), slots AS (
    SELECT g AS k,
           ((s.first AT TIME ZONE z.zone)::date - 1 - (g / (23 * rc.total))::int) AS day,
           ((g / rc.total) %% 23)::int AS slot,
           (g %% rc.total)::int AS room_i
    FROM settings s,
         (SELECT count(*) AS total FROM rooms) rc,
         (SELECT 'America/Los_Angeles'::text AS zone) z,
         generate_series(0, (SELECT n FROM settings) - 1) AS g
)
INSERT INTO scheduling_appointment (
    patient_id, appointment_type_id, "start", "end", room_id, clinician_id, status,
    booked_via, booked_by_id, course_id, idempotency_key, sequence, created_at, updated_at
)
SELECT p.ids[1 + (sl.k %% p.total)],
       t.id,
       v.start_at,
       v.start_at + interval '30 minutes',
       r.id,
       c.id,
       CASE WHEN sl.k %% 20 = 7 THEN 'cancelled' WHEN sl.k %% 33 = 5 THEN 'no_show'
            ELSE 'completed' END,
       'staff', NULL, NULL, NULL, 0,
       v.start_at - interval '14 days',
       v.start_at + interval '30 minutes'
FROM slots sl
JOIN rooms r ON r.i = sl.room_i
JOIN types t ON t.room_kind = r.kind
LEFT JOIN clinicians c ON c.i = sl.room_i
CROSS JOIN patients p
CROSS JOIN LATERAL (
    SELECT ((sl.day + time '07:00' + sl.slot * interval '30 minutes')
            AT TIME ZONE 'America/Los_Angeles') AS start_at
) v
"""


@dataclass
class Server:
    url: str
    pid: int

    def worker_pids(self) -> list[int]:
        return children(self.pid)


@dataclass
class Worker:
    pid: int

    def child_pids(self) -> list[int]:
        return children(self.pid)


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], log_file: Path) -> Iterator[subprocess.Popen]:
    with log_file.open("a") as out:
        proc = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {LOG_DIR}/gunicorn.log")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 (our own server)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (healthz is 503 without a worker) means it is serving
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} within {timeout} s")


def _wait_celery(env: dict[str, str], proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery exited ({proc.returncode}); see {LOG_DIR}/celery.log")
        ping = subprocess.run(
            [str(BIN / "celery"), "-A", "propel", "inspect", "ping", "--timeout", "1"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if ping.returncode == 0 and "pong" in ping.stdout:
            return
        time.sleep(0.5)
    raise RuntimeError(f"celery worker did not answer a ping within {timeout} s")


# --- /proc --------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Direct children of `pid` (gunicorn's workers, Celery's pool processes); for a process
    started under taskset the pid is the real program (taskset execs)."""
    result: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            result += [int(p) for p in (task / "children").read_text().split()]
    return result


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/{pid}/status")


def rss_kb(pid: int) -> int:
    """Resident memory now."""
    return _status_kb(pid, "VmRSS")


def peak_rss_kb(pid: int) -> int:
    """The process's high-water mark of resident memory since it started."""
    return _status_kb(pid, "VmHWM")


# --- Load ---------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def wrk(
    url: str, *, seconds: float, connections: int, headers: dict[str, str] | None = None
) -> WrkResult:
    """wrk on LOAD_CPUS, one thread: requests/s, latency percentiles, errors."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        pinned(LOAD_CPUS, [*command, url]), capture_output=True, text=True, check=True
    ).stdout
    (LOG_DIR / "wrk.log").open("a").write(f"$ {' '.join(command)} {url}\n{out}\n")
    return parse_wrk(out)


def parse_wrk(out: str) -> WrkResult:
    """wrk's report (run with --latency) as numbers."""
    percent = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percent["50"]),
        p99_ms=_ms(percent["99"]),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0-100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
