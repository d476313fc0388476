"""Availability and calendar queries read the rows of the window asked for, not the clinic's
history: the overlap is written as the GiST indexes answer it (scheduling.models.spans), and the
rows PostgreSQL reads do not grow with the appointments of past years.

Rows read are counted with EXPLAIN ANALYZE of each captured query, with sequential scans off for
the EXPLAIN: on a few hundred rows the planner would rightly read the whole table, on a million it
must not, and what it can do with an index is what this pins.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scheduling.calendar.feeds import clinician_feed_ics
from scheduling.models import Appointment, AppointmentStatus
from scheduling.slots import find_slots, utc_range
from tests.clinic_time import LA, MONDAY, TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    open_weekdays,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]

HISTORY_DAYS = 400  # one completed, one cancelled visit a day, in the window's room
# History ends this long before MONDAY: outside every window here (the feed reaches 30 days back).
HISTORY_GAP = dt.timedelta(days=60)
IN_WINDOW = 3
APPOINTMENT_TABLE = "scheduling_appointment"


@pytest.fixture
def clinic() -> dict[str, Any]:
    open_weekdays()
    return {
        "type": AppointmentTypeFactory(),
        "room": RoomFactory(name="Consult A"),
        "clinician": ClinicianFactory(display_name="Dr Window"),
        "patients": PatientFactory.create_batch(2),
    }


def add_history(clinic: dict[str, Any]) -> None:
    """Two visits a day (one completed, one cancelled) for HISTORY_DAYS days ending HISTORY_GAP
    before MONDAY, in the clinic's room with its clinician, in one bulk insert."""
    rows = []
    for back in range(1, HISTORY_DAYS + 1):
        day = MONDAY - HISTORY_GAP - dt.timedelta(days=back)
        for hour, status in ((9, AppointmentStatus.COMPLETED), (11, AppointmentStatus.CANCELLED)):
            rows.append(
                Appointment(
                    patient=clinic["patients"][hour % 2],
                    appointment_type=clinic["type"],
                    room=clinic["room"],
                    clinician=clinic["clinician"],
                    start=at(day, hour),
                    end=at(day, hour) + clinic["type"].duration,
                    status=status,
                )
            )
    Appointment.objects.bulk_create(rows)


def add_window(clinic: dict[str, Any]) -> None:
    for index in range(IN_WINDOW):
        AppointmentFactory(
            appointment_type=clinic["type"],
            room=clinic["room"],
            clinician=clinic["clinician"],
            patient=clinic["patients"][index % 2],
            start=at(TUESDAY, 10 + 2 * index),
        )


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def appointment_rows_read(sql: str) -> int:
    """Rows of the appointment table an executed query fetched, kept or not, plus the entries
    its bitmap index scans on that table's indexes returned (an index read whole is history
    read too)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [APPOINTMENT_TABLE])
        indexes = {name for (name,) in cursor.fetchall()}
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (document,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = on")
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        + node.get("Rows Removed by Filter", 0)
        + node.get("Rows Removed by Index Recheck", 0)
        for node in _plan_nodes(plan)
        if node.get("Relation Name") == APPOINTMENT_TABLE
        or (node["Node Type"] == "Bitmap Index Scan" and node["Index Name"] in indexes)
    )


def measured(operation: Callable[[], Any]) -> tuple[int, int, list[str]]:
    """The operation's query count, the appointment rows its queries read, and those queries."""
    with CaptureQueriesContext(connection) as captured:
        operation()
    reading = [
        query["sql"]
        for query in captured.captured_queries
        if APPOINTMENT_TABLE in query["sql"]
        and query["sql"].lstrip("( ").upper().startswith("SELECT")
    ]
    return len(captured), sum(appointment_rows_read(sql) for sql in reading), reading


def slots_of_the_week(clinic: dict[str, Any]) -> Callable[[], Any]:
    return lambda: find_slots(
        appointment_type=clinic["type"],
        start_date=MONDAY,
        end_date=MONDAY + dt.timedelta(days=6),
        include_extra_openings=True,
        patient_id=clinic["patients"][0].pk,
    )


def calendar_week(client: Any, clinic: dict[str, Any]) -> Callable[[], Any]:
    def get() -> None:
        url = reverse("scheduling:calendar_week")
        response = client.get(url, {"date": TUESDAY.isoformat(), "room": clinic["room"].pk})
        assert response.status_code == 200

    return get


def clinician_feed(clinic: dict[str, Any]) -> Callable[[], Any]:
    return lambda: clinician_feed_ics(clinic["clinician"], now=at(TUESDAY, 7))


def test_the_busy_query_asks_for_the_window_as_a_range_overlap(clinic):
    add_window(clinic)
    _, _, reading = measured(slots_of_the_week(clinic))
    span = utc_range(MONDAY, MONDAY + dt.timedelta(days=6), LA)
    busy = [sql for sql in reading if "UNION ALL" in sql]
    assert len(busy) == 1
    assert (
        'tstzrange("scheduling_appointment"."start", "scheduling_appointment"."end", \'[)\') &&'
        in (busy[0])
    )
    assert span.start.strftime("%Y-%m-%d") in busy[0]


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda client, clinic: slots_of_the_week(clinic), id="find_slots"),
        pytest.param(calendar_week, id="calendar_week_by_room"),
        pytest.param(lambda client, clinic: clinician_feed(clinic), id="clinician_feed"),
    ],
)
def test_a_year_of_history_changes_neither_queries_nor_rows_read(
    clinic, client_for, front_desk, operation
):
    run = operation(client_for(front_desk), clinic)
    add_window(clinic)
    run()  # per-process caches filled
    queries, rows_read, _ = measured(run)
    assert 0 < rows_read <= 4 * IN_WINDOW

    add_history(clinic)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {APPOINTMENT_TABLE}")
    queries_with_history, rows_read_with_history, _ = measured(run)

    assert Appointment.objects.count() == 2 * HISTORY_DAYS + IN_WINDOW
    assert queries_with_history == queries
    assert rows_read_with_history == rows_read
