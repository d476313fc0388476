"""The pieces the fault tests run the real app with: private Redis and PostgreSQL servers, gunicorn
and Celery worker subprocesses, a cookie-keeping HTTP client, and readers for the mail and SMS
files the app writes.

Every process is started in its own session (its own process group), so a kill takes the whole
group: gunicorn's master and workers, Celery's main process and its pool children. Nothing here
touches the shared PostgreSQL and Redis the rest of the suite uses: the private servers listen on
free ports, and the app subprocesses are pointed at them (or at pytest-django's test database)
through DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import contextlib
import glob
import http.cookiejar
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
# The venv pytest runs from: gunicorn and celery are installed next to its python.
VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
HOST = "127.0.0.1"
# Short enough to keep the suite fast, long enough for a loaded CI machine.
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 20.0
# The smallest values the settings accept (propel.settings), given to the app processes: the tests
# age rows past them rather than wait.
HEARTBEAT_MAX_AGE_SECONDS = 30
SEND_TIMEOUT_SECONDS = 30

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for(
    check: Callable[[], T], *, timeout: float, what: str, logs: Callable[[], str] = str
) -> T:
    """Poll `check` until it returns something truthy; fail the test with `what` (and the logs of
    the processes involved) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception as error:  # a server still starting refuses connections
            result, last = None, error
        else:
            last = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} ({last!r})\n{logs()}")
        time.sleep(0.1)


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"[{path.name}: no log]"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {path.name} (last {len(text)} lines)\n" + "\n".join(text)


class Process:
    """A subprocess in a process group of its own, its output in a log file."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 (our own argv)
                self.argv,
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group, then reap the leader."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # Pool children die with the group; give the kernel a moment to close their sockets.
        wait_for(
            lambda: not _group_alive(self.pid), timeout=10, what=f"{self.name}'s group to exit"
        )

    def log(self, lines: int = 80) -> str:
        return tail(self.log_path, lines)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies do not count)."""
    for status in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(status).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


# One SECRET_KEY for every app process of the run (web, workers, commands), as in production: a
# link a worker signs into an email opens on the web. (Demo mode would make one per var folder.)
APP_SECRET_KEY = secrets.token_urlsafe(50)


def app_env(
    *, database_url: str, redis_url: str, var_dir: Path, **extra: str | int | float
) -> dict[str, str]:
    """The environment of an app subprocess: demo mode, files for mail and SMS under `var_dir`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_", "PROPEL_", "EMAIL_", "SMS_", "CELERY"))
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PROPEL_VAR_DIR=str(var_dir),
        PROPEL_MODE="demo",
        SECRET_KEY=APP_SECRET_KEY,
        DJANGO_SETTINGS_MODULE="propel.settings",
        PYTHONPATH=str(BASE_DIR),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        SMS_BACKEND="propel.sms.FileBackend",
        # No SMS quiet hours (start == end): the tests run at any hour and expect texts at once.
        SMS_QUIET_HOURS_START="0",
        SMS_QUIET_HOURS_END="0",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def database_url_of_test_session() -> str:
    """DATABASE_URL of pytest-django's test database, for the app subprocesses."""
    from django.db import connection

    settings = connection.settings_dict
    credentials = settings["USER"] or ""
    if settings["PASSWORD"]:
        credentials += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{settings['NAME']}"


def other_client_connections() -> set[int]:
    """Backend pids of the other clients connected to the test database. Autovacuum and other
    background workers do not count: DROP DATABASE ends them itself."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return {row[0] for row in cursor.fetchall()}


def wait_for_other_connections_to_close(already_there: Collection[int] = ()) -> None:
    """pytest-django drops the test database at the end of the session, which PostgreSQL refuses
    while a killed process's backend is still on its way out. `already_there`: connections open
    before the killed process started (not its own), which are not waited for."""

    def alone() -> bool:
        return not other_client_connections() - set(already_there)

    wait_for(alone, timeout=15, what="the app's database connections to close")


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `manage.py <args>` as the app would, failing the test with its output if it fails."""
    done = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


# Redis -------------------------------------------------------------------------------------------


class RedisServer(Process):
    """A throwaway redis-server (no persistence) that can be killed and started again on the
    same port."""

    def __init__(self, *, log_dir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "the fault tests need redis-server on PATH (apt-get install redis-server)"
        self.port = free_port()
        argv = [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly"]
        argv += ["no", "--daemonize", "no", "--protected-mode", "no"]
        super().__init__(f"redis-{self.port}", argv, env=dict(os.environ), log_dir=log_dir)

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def client(self) -> Any:
        import redis

        return redis.Redis(host=HOST, port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        super().start()
        wait_for(lambda: self.client().ping(), timeout=START_TIMEOUT, what="redis", logs=self.log)

    def stop(self) -> None:
        self.kill()
        wait_for(lambda: not port_open(self.port), timeout=10, what="redis to stop listening")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


# PostgreSQL --------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "the fault tests need PostgreSQL's initdb (apt-get install postgresql)"
    return Path(found[-1]).parent


class PostgresCluster:
    """A private PostgreSQL cluster in a temporary folder, on a free port, its socket in the data
    folder. As root (CI) the server runs as the `postgres` user, which owns the folder."""

    def __init__(self, root: Path) -> None:
        self.bin = postgres_bin()
        self.root = root
        self.data = root / "data"
        self.log_path = root / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(root, owner.pw_uid, owner.pw_gid)

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        argv = [str(self.bin / program), *args]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        # No pipes for the server to inherit: pg_ctl's child would hold them open for ever.
        done = subprocess.run(  # noqa: S603
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"{program} {' '.join(args)} failed ({done.returncode})\n{self.log()}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"
        )

    def _ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log_path), "-w", *extra)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses={HOST} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._ctl("start", "-o", options, "-t", "30")

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is closed, the server comes back."""
        self._ctl("restart", "-m", "fast", "-t", "30")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode, "-t", "30")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            argv = [str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate"]
            if self.as_root:
                argv = ["runuser", "-u", "postgres", "--", *argv]
            subprocess.run(  # noqa: S603
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{dbname}"

    def query(self, sql: str, dbname: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(dbname), connect_timeout=5, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    def log(self) -> str:
        return tail(self.log_path)


# The app -----------------------------------------------------------------------------------------


class Gunicorn(Process):
    """`gunicorn -c gunicorn.conf.py propel.wsgi` as the Procfile runs it, with one sync worker so
    every request is served by the same worker process; its access log to `access_log` (a file)
    or, by default, its own output."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        log_dir: Path,
        name: str = "gunicorn",
        access_log: Path | None = None,
    ) -> None:
        self.port = free_port()
        argv = [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "propel.wsgi"]
        argv += ["--bind", f"{HOST}:{self.port}"]
        argv += ["--workers", "1", "--timeout", "30", "--graceful-timeout", "2"]
        argv += ["--access-logfile", str(access_log or "-"), "--no-control-socket"]
        super().__init__(name, argv, env=env, log_dir=log_dir)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        super().start()
        wait_for(
            lambda: Client(self.base_url).get("/healthz").status,
            timeout=START_TIMEOUT,
            what="gunicorn to answer",
            logs=self.log,
        )

    def worker_pids(self) -> list[int]:
        """The master's live children: its worker processes."""
        pids = []
        for status in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(status).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid and fields[0] != "Z":
                pids.append(int(Path(status).parent.name))
        return sorted(pids)


class CeleryWorker(Process):
    """`celery -A propel worker` (prefork, as the Procfile), ready when it says so."""

    def __init__(self, name: str, *, env: dict[str, str], log_dir: Path) -> None:
        self.node = f"{name}@localhost"
        argv = [str(VENV_BIN / "celery"), "-A", "propel", "worker", "-l", "info", "-P", "prefork"]
        argv += ["--concurrency", "1", "-n", self.node]
        # Nothing to talk to: skip the start-up rounds with other workers.
        argv += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        super().__init__(name, argv, env=env, log_dir=log_dir)

    def start(self) -> None:
        super().start()
        wait_for(
            lambda: f"{self.node} ready." in self.log_path.read_text(errors="replace"),
            timeout=START_TIMEOUT,
            what=f"the Celery worker {self.node}",
            logs=self.log,
        )

    def _count(self, task_name: str, event: str) -> int:
        text = self.log_path.read_text(errors="replace")
        return len(re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] {event}", text))

    def received(self, task_name: str) -> int:
        """How many `task_name` messages this worker has taken from the broker."""
        return self._count(task_name, "received")

    def succeeded(self, task_name: str) -> int:
        """How many runs of `task_name` this worker has logged as succeeded."""
        return self._count(task_name, "succeeded")

    def idle(self, task_name: str) -> bool:
        """Whether every `task_name` this worker took (at least one) has finished."""
        received = self.received(task_name)
        return received > 0 and self.succeeded(task_name) == received


def send_task(broker_url: str, name: str, *args: Any) -> None:
    """Queue a task by name on a private broker, as beat does, without touching the app's own
    Celery configuration (which points at the shared Redis in this process)."""
    from celery import Celery

    sender = Celery("propel-faults-sender", broker=broker_url, set_as_current=False)
    try:
        sender.send_task(name, args=list(args))
    finally:
        sender.close()


# HTTP --------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Any
    text: str
    elapsed: float

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("Location", "")).path

    def json(self) -> Any:
        return json.loads(self.text)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Client:
    """A browser in miniature: keeps cookies, never follows redirects, never raises on a status."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def _open(self, request: urllib.request.Request) -> Response:
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        return Response(status, headers, body.decode(errors="replace"), time.monotonic() - started)

    def get(self, path: str) -> Response:
        return self._open(urllib.request.Request(self.base_url + path))  # noqa: S310

    def post(self, path: str, data: dict[str, str]) -> Response:
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(self.base_url + path, data=body))  # noqa: S310

    def submit(self, path: str, page: Response, data: dict[str, str]) -> Response:
        """POST `data` to `path` with the CSRF token of the form on `page`."""
        match = CSRF_INPUT.search(page.text)
        assert match, f"no CSRF token on the page:\n{page.text[:500]}"
        return self.post(path, {"csrfmiddlewaretoken": match[1], **data})


# What the app delivered --------------------------------------------------------------------------


MESSAGE_ID = re.compile(r"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)


def email_message_ids(var_dir: Path) -> Counter[str]:
    """Message-IDs of every email the file backend wrote, with how many times each."""
    counts: Counter[str] = Counter()
    for path in sorted((var_dir / "mail").glob("*")):
        counts.update(MESSAGE_ID.findall(path.read_text(errors="replace")))
    return counts


def email_subjects(var_dir: Path) -> list[str]:
    subjects = []
    for path in sorted((var_dir / "mail").glob("*")):
        subjects += re.findall(r"^Subject: (.+)$", path.read_text(errors="replace"), re.MULTILINE)
    return subjects


def sms_lines(var_dir: Path) -> list[dict]:
    path = var_dir / "sms" / "messages.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
