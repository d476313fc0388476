"""The bench's table: one row per comparison, printed and written to docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BASE_DIR

REPORT = BASE_DIR / "docs" / "benchmarks.md"
# Hand-written, one file per item ("3-throughput.md"): what the profiles showed and what was
# changed. Copied under the table in file-name order.
FINDINGS = Path(__file__).with_name("findings")


@dataclass
class Row:
    item: str  # "1. Query scaling"
    what: str  # "calendar week"
    measured: str  # "14 queries", "812 req/s"
    floor: str  # what it is compared with, same unit
    ratio: float | None  # measured / floor where that is the figure of merit
    target: str  # "identical", "<= 1.5x", ">= 25%"
    met: bool | None  # None: nothing to judge (context row)
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.met]


FAILED = "(the measurement failed)"


def failed_row(item: str, error: BaseException) -> Row:
    """A table cell holds one line: the error's last line (a traceback's is the exception); the
    whole of it is in the bench's log."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return Row(item, FAILED, "", "", None, "", False, (lines or [""])[-1][:300])


def _cmd(*command: str) -> str:
    """The first line a version command prints (wrk -v prints it, then its usage, and exits 1)."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0].strip() if text else "unknown"


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{model}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM; "
        f"Linux {platform.release()}; Python {platform.python_version()}; "
        f"{_cmd('psql', '--version')}; {_cmd('redis-server', '--version')}; "
        f"{_cmd('wrk', '-v').split(' Copyright')[0]}"
    )


def _ratio(row: Row) -> str:
    return "" if row.ratio is None else f"{row.ratio:.2f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| item | what | measured | floor | ratio | target | verdict | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row.item, row.what, row.measured, row.floor, _ratio(row), row.target]
        cells += [row.verdict, row.note]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def write(rows: list[Row], *, started: dt.datetime, seconds: float, quick: bool) -> str:
    missed = [r for r in rows if r.met is False]
    summary = (
        "All targets met."
        if not missed
        else f"{len(missed)} target(s) missed; see the notes and the findings below."
    )
    text = "\n".join(
        [
            "# Benchmarks",
            "",
            "Made by `make bench` (bench/). Every figure is a ratio of two measurements taken",
            "in the same run on the same machine: absolute times on a shared 2-core machine are",
            "noise.",
            "",
            f"- Date: {started:%Y-%m-%d %H:%M} UTC; the run took {seconds / 60:.1f} min"
            + (" (--quick: shortened smoke run, not for comparison)" if quick else ""),
            f"- Machine: {machine()}",
            "- Server: gunicorn (2 sync workers) and one Celery worker with production settings"
            " (PROPEL_MODE=production), pinned to CPU 0; wrk pinned to CPU 1.",
            "",
            summary,
            "",
            table(rows),
            "",
            "## What was found",
            "",
            *(path.read_text().strip() + "\n" for path in sorted(FINDINGS.glob("*.md"))),
        ]
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text.rstrip() + "\n")
    return text
