"""`python -m bench [--quick] [--only NAME ...] [--keep]`: build the states, run every item,
print the table and write docs/benchmarks.md. `make bench` runs it."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import shutil
import sys
import time

from bench import harness
from bench.harness import (
    HISTORY_APPOINTMENTS,
    HISTORY_DB,
    LARGE_DB,
    SCALE_LARGE,
    SCALE_SMALL,
    SMALL_DB,
    TEMPLATE_DB,
    Bench,
    log,
)
from bench.report import FAILED, Row, failed_row, write

# Run in this order (the report keeps it). Each module has measure(bench) -> list[Row].
ITEMS = [
    "queries",  # 1. query counts at 10 vs 10,000 appointments
    "availability",  # 2. 8 weeks of slots, full vs empty calendar
    "throughput",  # 3. slot page vs bare view under wrk; 8. web worker memory
    "booking",  # 4. one consultation vs create(); a course vs one booking
    "hot_slot",  # 5. 32 clients on one slot
    "reminders",  # 6. draining 10,000 reminders vs no-op tasks; 8. Celery worker memory
    "audit",  # 7. chart with read-audit on vs off
    "history",  # 9. slot page, calendar week, booking with 1,000,000 past appointments vs without
]


def _scale_args(scale: dict[str, int]) -> list[str]:
    return [arg for key, value in scale.items() for arg in (f"--{key}", str(value))]


def prepare(bench: Bench, *, history: bool) -> list[Row]:
    """The template (migrated, demo clinic), then the small and the large state from it, and
    with `history` the large state with a million past appointments."""
    rows = []
    log("template database: migrate, seed_demo, collectstatic")
    bench.create_db(TEMPLATE_DB)
    bench.manage(TEMPLATE_DB, "migrate", "--noinput")
    # The seeding commands refuse production mode (they must never run on a real clinic).
    bench.manage(TEMPLATE_DB, "seed_demo", PROPEL_MODE="demo")
    bench.manage(TEMPLATE_DB, "collectstatic", "--noinput")
    for db, scale in ((SMALL_DB, SCALE_SMALL), (LARGE_DB, SCALE_LARGE)):
        log(f"{db}: seed_scale {scale}")
        bench.create_db(db, template=TEMPLATE_DB)
        started = time.monotonic()
        bench.manage(db, "seed_scale", *_scale_args(scale), PROPEL_MODE="demo")
        seconds = time.monotonic() - started
        (appointments,) = bench.query(db, "SELECT count(*) FROM scheduling_appointment")[0]
        (patients,) = bench.query(db, "SELECT count(*) FROM intake_patient")[0]
        rows.append(
            Row(
                "0. Data",
                f"{db.rsplit('_', 1)[-1]} state",
                f"{appointments:,} appointments, {patients:,} patients",
                "",
                None,
                "",
                None,
                f"seed_scale {scale['appointments']:,} took {seconds:.0f} s (demo clinic included)",
            )
        )
    if history:
        rows.append(prepare_history(bench))
    return rows


def prepare_history(bench: Bench) -> Row:
    log(f"{HISTORY_DB}: the large state + {HISTORY_APPOINTMENTS:,} past appointments")
    bench.create_db(HISTORY_DB, template=LARGE_DB)
    started = time.monotonic()
    bench.add_history(HISTORY_DB, HISTORY_APPOINTMENTS)
    seconds = time.monotonic() - started
    (appointments, first) = bench.query(
        HISTORY_DB, "SELECT count(*), min(start)::date FROM scheduling_appointment"
    )[0]
    return Row(
        "0. Data",
        "history state",
        f"{appointments:,} appointments since {first}",
        "",
        None,
        "",
        None,
        f"the large state + {HISTORY_APPOINTMENTS:,} past ones in one INSERT ... SELECT "
        f"(generate_series) took {seconds:.0f} s, VACUUM ANALYZE included",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short loads: a smoke run")
    parser.add_argument("--only", nargs="+", choices=ITEMS, help="run just these items")
    parser.add_argument("--reuse", action="store_true", help="keep the databases of a last run")
    parser.add_argument("--keep", action="store_true", help="leave the databases afterwards")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("wrk", "taskset", "redis-cli") if not shutil.which(tool)]
    if missing:
        print(f"bench: missing {', '.join(missing)} (make bench installs wrk)", file=sys.stderr)
        return 2

    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
    bench = Bench(quick=args.quick)
    bench.flush_redis()
    history = "history" in (args.only or ITEMS)
    rows = [] if args.reuse else prepare(bench, history=history)
    for name in args.only or ITEMS:
        log(f"item {name}")
        try:
            module = importlib.import_module(f"bench.items.{name}")
            rows += module.measure(bench)
        except Exception as error:  # one broken item must not hide the others' figures
            log(f"item {name} failed: {error}")
            rows.append(failed_row(name, error))
    if not args.keep:
        for db in (SMALL_DB, LARGE_DB, HISTORY_DB, TEMPLATE_DB):
            bench.drop_db(db)
    text = write(rows, started=started_at, seconds=time.monotonic() - started, quick=args.quick)
    print(text)
    # A missed target is a finding, reported in the table; only a measurement that could not be
    # made fails the run.
    return 1 if any(row.what == FAILED for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
