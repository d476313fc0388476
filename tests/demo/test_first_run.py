"""A newcomer's first run (issue 19): what `make run` runs (scripts/run-demo) on a free port, with
nothing but Python (SQLite and the filesystem broker in a temporary PROPEL_VAR_DIR), answers the
home page, and the patient link the banner prints opens the questionnaire. The console has one
line per request and none of the framework's start-up noise."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90  # seconds: migrate, seed and three processes on a busy CI machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str, str]:
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, ""


class FirstRun:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "console.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "SITE_URL", "PROPEL_MODE", "SECRET_KEY"}
        }
        env.update(PROPEL_VAR_DIR=str(tmp_path / "var"), PORT=str(self.port), PYTHON=sys.executable)
        with self.log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own script
                [str(ROOT / "scripts" / "run-demo")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_home_page(self) -> int:
        opener = urllib.request.build_opener()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                status, _, _ = get(opener, self.base + "/")
                return status
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"no answer on {self.base} in {START_TIMEOUT} s:\n{self.output()}")

    def stop(self) -> None:
        """Ctrl-C's signal to honcho, which stops web, worker and beat; the whole group only if
        something is left after that."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def first_run(tmp_path: Path) -> Iterator[FirstRun]:
    run = FirstRun(tmp_path)
    try:
        yield run
    finally:
        run.stop()


def test_make_run_on_a_free_port_serves_the_demo_and_its_patient_link_opens_the_questionnaire(
    first_run: FirstRun,
) -> None:
    assert first_run.wait_for_home_page() == 200

    banner = first_run.output()
    links = re.findall(rf"{re.escape(first_run.base)}/p/\S+/intake/", banner)
    assert links, banner
    assert re.search(rf"{re.escape(first_run.base)}/p/\S+/$", banner, re.MULTILINE), banner
    for login in ("frontdesk", "clinician1", "admin"):
        assert login in banner
    assert f"Emails: written to {first_run.log.parent / 'var' / 'mail'}/" in banner
    assert f"Texts (SMS): written to {first_run.log.parent / 'var' / 'sms'}/" in banner

    patient = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    status, url, page = get(patient, links[0])
    assert status == 200, (url, first_run.output())
    assert re.search(r"/p/me/intake/[\w-]+/$", url), url
    assert 'name="csrfmiddlewaretoken"' in page
    get(urllib.request.build_opener(), first_run.base + "/no-such-page/")

    time.sleep(1)  # the access log line of the last request
    console = first_run.output()
    assert console.count('"GET /no-such-page/ HTTP/1.1" 404') == 1, console
    assert "Not Found:" not in console  # Django's second line for the same request
    assert "celery@" not in console  # the worker's banner
    assert "Applying " not in console  # migrate's line per migration
    assert "Booting worker" not in console  # gunicorn's start-up lines
