"""Lighthouse (mobile) on the public pages, served as in production; median of 3 runs a page.

    python scripts/lighthouse.py [--runs 3] [--mode production|demo] [--keep DIR] [PATH ...]

What it measures on (docs/lighthouse.md): production settings (PROPEL_MODE=production, DEBUG off)
behind gunicorn and WhiteNoise after `collectstatic` (hashed, gzip- and brotli-compressed files
with far-future cache headers), on a PostgreSQL database of its own (LH_DATABASE_URL, default
propel_lighthouse on the local server, dropped and rebuilt: migrate + seed_demo), Redis
(LH_REDIS_URL, default db 9) and a free port. Plain HTTP on 127.0.0.1, so the SSL redirect is
off; everything else is the production setting. `--mode demo` serves the same pages with the
settings of `make run` instead (no collectstatic: uncompressed, unhashed static files), to
compare. Lighthouse: LIGHTHOUSE (default /tmp/lh/node_modules/.bin/lighthouse), CHROME_PATH
(default /usr/bin/chromium). Prints one line per page with the median score of each category,
the metrics and the audits below 0.9 of the median run; exits 1 when a page misses a target.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAGES = ["/", "/book/", "/link/", "/questions/about/", "/accounts/login/"]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
TARGETS = {"performance": 0.97, "accessibility": 1.0, "best-practices": 1.0, "seo": 1.0}
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/propel_lighthouse"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(db_url: str, var_dir: Path, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "REDIS_URL", "PORT")}
    env.update(
        PROPEL_MODE=mode,
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SITE_URL="http://127.0.0.1",
        DATABASE_URL=db_url,
        REDIS_URL=os.environ.get("LH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        STATIC_ROOT=str(var_dir / "static"),
        PROPEL_VAR_DIR=str(var_dir),
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        SMS_BACKEND="propel.sms.ConsoleBackend",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def rebuild_database(db_url: str) -> None:
    server, name = db_url.rsplit("/", 1)
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True)  # noqa: S603, S607


def manage(env: dict[str, str], *args: str, **extra: str) -> None:
    subprocess.run(  # noqa: S603 (fixed command)
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env | extra,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(120):
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 (our own local server)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"no answer from {url}")


def lighthouse(url: str, out: Path) -> dict[str, dict[str, object]]:
    command = [
        os.environ.get("LIGHTHOUSE", "/tmp/lh/node_modules/.bin/lighthouse"),  # noqa: S108
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox",
    ]
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    subprocess.run(  # noqa: S603 (fixed command)
        command, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    report: dict[str, dict[str, object]] = json.loads(out.read_text())
    return report


Report = dict[str, dict[str, object]]
METRICS = (
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
)


def score(report: Report, category: str) -> float:
    # A run Lighthouse could not score (e.g. NO_NAVSTART under load) counts as 0, never as a pass.
    value = report["categories"][category]["score"]  # type: ignore[index]
    return float(value) if value is not None else 0.0


def summarize(path: str, reports: list[Report]) -> tuple[list[str], bool]:
    """The lines printed for one page, and whether it missed a target (on the median scores)."""
    medians = {c: statistics.median(score(r, c) for r in reports) for c in CATEGORIES}
    misses = [c for c in CATEGORIES if medians[c] < TARGETS[c]]
    # The run whose performance is the median one names the metrics and the audits below 0.9.
    middle = sorted(reports, key=lambda r: score(r, "performance"))[len(reports) // 2]
    audits: dict[str, dict[str, object]] = middle["audits"]  # type: ignore[assignment]
    low = [
        name
        for name, audit in audits.items()
        if isinstance(audit.get("score"), (int, float))
        and float(audit["score"]) < 0.9  # type: ignore[arg-type]
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]
    lines = [
        f"{path:20} "
        + " ".join(f"{c}={medians[c]:.2f}" for c in CATEGORIES)
        + ("  MISSED " + ",".join(misses) if misses else "  met"),
        "    median run: "
        + ", ".join(f"{k} {audits[k].get('displayValue', '')}" for k in METRICS if k in audits),
    ]
    if low:
        lines.append("    below 0.9: " + ", ".join(low))
    return lines, bool(misses)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", default=PAGES)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--mode",
        choices=["production", "demo"],
        default="production",
        help="demo: the settings of `make run` (static files from the source folders), to compare",
    )
    parser.add_argument("--keep", type=Path, help="keep the JSON reports in this folder")
    args = parser.parse_args()

    db_url = os.environ.get("LH_DATABASE_URL", DEFAULT_DB)
    var_dir = Path(tempfile.mkdtemp(prefix="propel-lh-"))
    try:
        return measure(args, db_url, var_dir)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)  # the collected files; --keep's reports stay


def measure(args: argparse.Namespace, db_url: str, var_dir: Path) -> int:
    reports_dir = args.keep or var_dir / "reports"
    reports_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(db_url, var_dir, args.mode)
    rebuild_database(db_url)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    # The demo clinic (seed_demo refuses production, so it runs in demo mode on the same database).
    manage(env, "seed_demo", "--url", "http://127.0.0.1/", PROPEL_MODE="demo")
    if args.mode == "production":
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = subprocess.Popen(  # noqa: S603 (fixed command)
        [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "propel.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--no-control-socket",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    missed = False
    try:
        wait_for(f"{base}/", gunicorn)  # /healthz also wants a Celery worker
        for path in args.paths:
            slug = path.strip("/").replace("/", "-") or "home"
            reports = [
                lighthouse(base + path, reports_dir / f"{slug}-{run}.json")
                for run in range(1, args.runs + 1)
            ]
            lines, page_missed = summarize(path, reports)
            missed |= page_missed
            print("\n".join(lines), flush=True)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
