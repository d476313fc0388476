"""9. History: the slot page, the calendar week and a booking on the large state with 1,000,000
past appointments added (HISTORY_DB, ten years of every room busy) against the large state
itself, in time and in queries.

Measured in one process (`python -m bench.items.history`, production settings) holding a
connection to each state: the two alternate operation by operation (ABBA), swapping which
connection Django's default alias names, so load on the shared machine that changes within a
second lands on both alike; the figure is the median over ROUNDS such processes of their medians.
The pages go through the test Client, one client per state (sessions live in the database):
- the slot page as the first visitor after a change sees it: /book/ with the page's cache read
  patched to miss, so the booking window is computed (find_slots' queries and the engine);
- the calendar week of the current week for its busiest room (front desk);
- a front-desk booking (scheduling.booking.appointment_book) of a consultation at a free time
  two days ahead, inside a transaction rolled back afterwards, so every repetition books the
  same time in the same state (its commit is not timed; item 4 times that).
The history is all before the first appointment of the large state, so both states show the same
week and book the same time. The busy query's plan (EXPLAIN ANALYZE, BUFFERS) on the history
state goes to the bench log and, with the plan of the previous form of the query
(`start < window end AND end > window start`) for comparison, into the result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.harness import HISTORY_APPOINTMENTS, HISTORY_DB, LARGE_DB, Bench, log
from bench.report import Row

ITEM = "9. History"
ROUNDS = 3
REPEATS = 20
WARMUP = 3
TARGET = 1.2
CASES = {
    "slot_page": "public slot page (/book/, first bookable day), window computed",
    "calendar_week": "calendar week, busiest room (front desk)",
    "booking": "one consultation, front desk (appointment_book, rolled back)",
}


def measure(bench: Bench) -> list[Row]:
    repeats = str(max(5, bench.count(REPEATS)))
    runs = [
        bench.run_item("bench.items.history", LARGE_DB, "--other", HISTORY_DB, "--repeats", repeats)
        for _ in range(ROUNDS)
    ]
    (appointments,) = bench.query(HISTORY_DB, "SELECT count(*) FROM scheduling_appointment")[0]
    plans = runs[-1]["plans"]
    log("history: busy query on the history state\n" + plans["window"]["text"])
    log("history: the same query as start < end AND end > start\n" + plans["before"]["text"])
    rows = []
    for key, what in CASES.items():
        history = statistics.median(run["ms"]["history"][key] for run in runs)
        floor = statistics.median(run["ms"]["large"][key] for run in runs)
        queries = {run["queries"]["history"][key] for run in runs}
        floor_queries = {run["queries"]["large"][key] for run in runs}
        ratio = history / floor
        per_round = ", ".join(
            f"{run['ms']['history'][key]:.1f}/{run['ms']['large'][key]:.1f}" for run in runs
        )
        rows.append(
            Row(
                ITEM,
                what,
                f"{history:.1f} ms, {_queries(queries)}",
                f"{floor:.1f} ms, {_queries(floor_queries)}",
                ratio,
                f"<= {TARGET}x, same queries",
                ratio <= TARGET and queries == floor_queries and len(queries) == 1,
                f"{appointments:,} appointments ({HISTORY_APPOINTMENTS:,} past ones added to the "
                f"large state) vs the large state; median of {ROUNDS} runs of {repeats} ABBA "
                f"pairs (history/large ms per run: {per_round}); {runs[-1]['subjects'][key]}",
            )
        )
    window, before = plans["window"], plans["before"]
    rows.append(
        Row(
            ITEM,
            "busy query (find_slots) on the history state: appointment rows read",
            f"{window['rows_read']:,} rows, {window['ms']:.1f} ms",
            f"{before['rows_read']:,} rows, {before['ms']:.1f} ms",
            window["ms"] / before["ms"] if before["ms"] else None,
            "",
            None,
            "EXPLAIN (ANALYZE, BUFFERS) of the slot page's busy query as written now (range "
            "overlap on the GiST indexes) vs as it was (start < end AND end > start); floor "
            "column = the old form; plans in docs/benchmarks.md, item 9",
        )
    )
    return rows


def _queries(counts: set[int]) -> str:
    return " or ".join(f"{n} queries" for n in sorted(counts))


# --- In Django ------------------------------------------------------------------------------------


def _paired_ms(
    operations: dict[str, Callable[[], Any]], use: Callable[[str], None], repeats: int
) -> dict[str, float]:
    """Median ms of each state's operation, the states alternating ABBA after a warm-up."""
    names = list(operations)
    for name in names:
        use(name)
        for _ in range(WARMUP):
            operations[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            use(name)
            started = time.perf_counter()
            operations[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def _count(operation: Callable[[], Any]) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        operation()
    return len(captured), [query["sql"] for query in captured.captured_queries]


def _get(client: Any, url: str) -> Callable[[], None]:
    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}, not 200")

    return get


def plan_rows_read(text: str) -> int:
    """Rows of the appointment table an EXPLAIN ANALYZE text plan read from the heap, kept or
    filtered out; a parallel node's rows and removals are per loop (worker)."""
    read = 0
    node_on_table, loops = False, 1
    for line in text.splitlines():
        if "->" in line or line.lstrip().startswith(("Seq Scan", "Index", "Bitmap")):
            node_on_table = "scheduling_appointment" in line
            found = re.search(r"actual time=\S+ rows=(\d+) loops=(\d+)", line)
            rows, loops = (int(found.group(1)), int(found.group(2))) if found else (0, 1)
            if node_on_table and "Bitmap Index Scan" not in line:
                read += rows * loops
        elif node_on_table and "Rows Removed by" in line:
            # Per loop, like the node's rows (a parallel scan's workers are its loops).
            read += int(line.rsplit(":", 1)[1]) * loops
    return read


def _plan(sql: str) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of an executed query: its text, execution time and the rows
    of the appointment table it read (kept or filtered out)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        text = "\n".join(line for (line,) in cursor.fetchall())
    read = plan_rows_read(text)
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", text).group(1))  # type: ignore[union-attr]
    return {"text": text, "ms": ms, "rows_read": read}


def before_form(sql: str) -> str:
    """The busy query with its overlap written as before: bounded by the window's end only."""
    return re.sub(
        r"tstzrange\(\"scheduling_appointment\"\.\"start\", \"scheduling_appointment\"\.\"end\", "
        r"'\[\)'\) && tstzrange\(('[^']+'::timestamptz), ('[^']+'::timestamptz), '\[\)'\)",
        r'("scheduling_appointment"."start" < \2 AND "scheduling_appointment"."end" > \1)',
        sql,
    )


def run(repeats: int, other: str) -> dict[str, Any]:
    """Time the cases on this process's database ("large") and on `other` ("history")."""
    import random
    from unittest import mock

    from django.contrib.auth import get_user_model
    from django.db import connections, transaction
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from bench.django_side import staff_client
    from bench.items.booking import Patients, _free_slots
    from bench.items.queries import _busiest_in_week
    from scheduling.booking import appointment_book
    from scheduling.models import AppointmentType
    from scheduling.online import slot_page
    from scheduling.slots import clinic_today

    large = connections["default"]
    history = connections.create_connection("default")
    history.settings_dict = {**large.settings_dict, "NAME": other}
    wrappers = {"large": large, "history": history}

    def use(state: str) -> None:
        connections["default"] = wrappers[state]

    now = timezone.now()
    today = clinic_today()
    monday = today - dt.timedelta(days=today.weekday())
    room, in_room = _busiest_in_week(monday, "room_id")
    consultation = AppointmentType.objects.get(code="consultation")
    slot = _free_slots(now, consultation)[0]
    patient_id = Patients(random.Random(9)).take(slot.start, slot.end, online=False)  # noqa: S311
    book_url = reverse("scheduling:book")
    week_url = f"{reverse('scheduling:calendar_week')}?date={today}&room={room}"

    actor = get_user_model().objects.get(username="frontdesk")  # the same row in both states

    def book() -> None:
        with transaction.atomic():
            appointment_book(
                patient_id=patient_id,
                appointment_type_id=consultation.pk,
                start=slot.start,
                actor=actor,
                now=now,
            )
            transaction.set_rollback(True)

    cases: dict[str, dict[str, Callable[[], Any]]] = {key: {} for key in CASES}
    for state in wrappers:
        use(state)  # each state's clients hold sessions in that state's database
        cases["slot_page"][state] = _get(Client(HTTP_HOST="127.0.0.1"), book_url)
        cases["calendar_week"][state] = _get(staff_client("frontdesk"), week_url)
        cases["booking"][state] = book
    subjects = {
        "slot_page": "anonymous visitor, the page's cache read patched to miss",
        "calendar_week": f"room {room}, week of {monday}: {in_room} appointments",
        "booking": f"patient {patient_id} at {slot.start:%Y-%m-%d %H:%M} UTC",
    }
    result: dict[str, Any] = {
        "ms": {state: {} for state in wrappers},
        "queries": {state: {} for state in wrappers},
        "subjects": subjects,
    }
    with mock.patch.object(slot_page, "_cache_get", return_value=None):
        for key, operations in cases.items():
            for state, ms in _paired_ms(operations, use, repeats).items():
                result["ms"][state][key] = ms
            for state in wrappers:
                use(state)
                result["queries"][state][key], sqls = _count(operations[state])
                if key == "slot_page" and state == "history":
                    busy = next(sql for sql in sqls if "UNION ALL" in sql)
    use("history")
    result["plans"] = {"window": _plan(busy), "before": _plan(before_form(busy))}
    return result


def main() -> None:
    from bench.django_side import emit, setup

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--other", required=True, help="the database with the history")
    args = parser.parse_args()
    setup()
    emit(run(args.repeats, args.other))


if __name__ == "__main__":
    main()
