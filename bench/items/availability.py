"""2. Availability: 8 weeks of free slots for every room and clinician, at 10,000 appointments vs
an empty calendar.

"Every room and clinician" is find_slots for each active appointment type: a type asks for every
active room of its kind and every active clinician, and between them the types cover every room
(each kind has a type) and every clinician. The call is the staff one (scheduling.views
.availability, the calendar's booking form): from the clinic's today for 56 days, the default
step, extra openings included, nothing before now.

Both sides run on the large database in one process. The empty calendar is the same database
after `TRUNCATE scheduling_appointment, scheduling_slothold CASCADE` inside a savepoint that is
rolled back: TRUNCATE gives the transaction truly empty tables (a DELETE would leave 10,000 dead
rows the indexes still visit, flattering the ratio). Full and empty alternate round by round so
drift hits both alike; each figure is the median of the rounds (time.perf_counter).

Two rows: find_slots whole (its seven queries and the engine), and the pure engine
(scheduling.availability.free_slots) on the very inputs find_slots loaded.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
import time
from typing import Any

from bench.harness import LARGE_DB, Bench
from bench.report import Row

ITEM = "2. Availability"
WEEKS = 8
ROUNDS = 15


def measure(bench: Bench) -> list[Row]:
    result = bench.run_item("bench.items.availability", LARGE_DB, str(bench.count(ROUNDS)))
    rows = []
    for key, what in (
        ("find_slots", f"{WEEKS} weeks of slots, all types (find_slots: queries + engine)"),
        ("engine", f"{WEEKS} weeks of slots, all types (engine only: free_slots)"),
    ):
        full, empty = result["full"][key], result["empty"][key]
        ratio = full / empty
        rows.append(
            Row(
                ITEM,
                what,
                f"{full:.0f} ms",
                f"{empty:.0f} ms",
                ratio,
                "<= 1.5x",
                ratio <= 1.5,
                f"median of {result['rounds']} alternating rounds; {result['note']}",
            )
        )
    return rows


# --- In Django ------------------------------------------------------------------------------------


def run(rounds: int) -> dict[str, Any]:
    from unittest import mock

    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from propel.append_only import MAINTENANCE_SETTING
    from scheduling import slots as slots_module
    from scheduling.availability import free_slots
    from scheduling.models import Appointment, AppointmentType
    from scheduling.slots import clinic_tz, find_slots, utc_range

    now = timezone.now()
    first = now.astimezone(clinic_tz()).date()
    last = first + dt.timedelta(weeks=WEEKS, days=-1)
    types = list(AppointmentType.objects.filter(active=True).order_by("pk"))
    span = utc_range(first, last, clinic_tz())
    in_window = Appointment.objects.active().overlapping(span.start, span.end).count()

    def all_types() -> list[list[Any]]:
        return [
            find_slots(
                appointment_type=appointment_type,
                start_date=first,
                end_date=last,
                include_extra_openings=True,
                not_before=now,
                step=dt.timedelta(minutes=settings.SLOT_STEP_MINUTES),
                now=now,
            )
            for appointment_type in types
        ]

    def sample(into: dict[str, list[float]]) -> int:
        """Time find_slots for every type, then the engine alone on the inputs it loaded;
        returns the number of slots found."""
        calls: list[dict[str, Any]] = []

        def record(**kwargs: Any) -> list[Any]:
            calls.append(kwargs)
            return free_slots(**kwargs)

        gc.collect()
        with mock.patch.object(slots_module, "free_slots", record):
            started = time.perf_counter()
            found = all_types()
            into["find_slots"].append((time.perf_counter() - started) * 1000)
        gc.collect()
        started = time.perf_counter()
        for kwargs in calls:
            free_slots(**kwargs)
        into["engine"].append((time.perf_counter() - started) * 1000)
        return sum(len(slots) for slots in found)

    def sample_empty(into: dict[str, list[float]]) -> int:
        with transaction.atomic():  # a savepoint, rolled back
            with connection.cursor() as cursor:
                # CASCADE reaches the append-only tables, whose trigger refuses TRUNCATE outside
                # a maintenance session (propel.append_only); SET LOCAL ends with the rollback.
                cursor.execute(f"SET LOCAL {MAINTENANCE_SETTING} = 'on'")
                cursor.execute("TRUNCATE scheduling_appointment, scheduling_slothold CASCADE")
            if Appointment.objects.exists():
                raise RuntimeError("the calendar is not empty after TRUNCATE")
            found = sample(into)
            transaction.set_rollback(True)
        return found

    full: dict[str, list[float]] = {"find_slots": [], "engine": []}
    empty: dict[str, list[float]] = {"find_slots": [], "engine": []}
    with transaction.atomic():
        all_types()  # warm-up: imports, settings, the first plans
        sample_empty({"find_slots": [], "engine": []})
        for index in range(rounds):
            if index % 2:
                found_empty = sample_empty(empty)
                found_full = sample(full)
            else:
                found_full = sample(full)
                found_empty = sample_empty(empty)
        transaction.set_rollback(True)
    if not Appointment.objects.exists():
        raise RuntimeError("the TRUNCATE was not rolled back")
    return {
        "rounds": rounds,
        "full": {key: statistics.median(values) for key, values in full.items()},
        "empty": {key: statistics.median(values) for key, values in empty.items()},
        "note": (
            f"{len(types)} types ({', '.join(t.code for t in types)}), {first} to {last}; "
            f"{in_window:,} active appointments in the window; "
            f"{found_full:,} slots found vs {found_empty:,} on the empty calendar"
        ),
    }


if __name__ == "__main__":
    import sys

    from bench import django_side

    django_side.setup()
    django_side.emit(run(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS))
