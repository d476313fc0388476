"""1. Query scaling: the queries each busy page runs at 10 and at 10,000 appointments.

Each page is asked for twice by the test Client in one process (production settings); the second
answer is counted with CaptureQueriesContext, so per-process caches filled by the first request
do not count against either state. A page that does not answer 200 is a failed measurement.

The subjects are chosen by the same rule in both states, so the large state shows each page at
its busiest: the calendar day with the most appointments, the busiest room and clinician of that
week, and the patient with the fullest chart (a submitted screening round, flags, a decision and
an alert where there are any, then the most appointments and rounds). The public slot page is
counted served from its cache and with the cache read patched to miss (the booking window's
free times computed, the first bookable day shown).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from typing import Any

from bench.harness import LARGE_DB, SMALL_DB, Bench
from bench.report import Row

ITEM = "1. Query scaling"


def measure(bench: Bench) -> list[Row]:
    small = bench.run_item("bench.items.queries", SMALL_DB)
    large = bench.run_item("bench.items.queries", LARGE_DB)
    rows = []
    for key, page in large.items():
        floor = small[key]
        note = page["subject"]
        if floor["subject"] != note:
            note += f"; at 10: {floor['subject']}"
        rows.append(
            Row(
                ITEM,
                page["what"],
                _queries(page["queries"]),
                _queries(floor["queries"]),
                None,
                "identical",
                page["queries"] == floor["queries"],
                note,
            )
        )
    return rows


def _queries(count: int) -> str:
    return f"{count} query" if count == 1 else f"{count} queries"


# --- In Django ------------------------------------------------------------------------------------


def busiest_patient() -> tuple[int, str]:
    """The patient with the fullest chart, and a few words on what it holds."""
    from django.db.models import Count

    from intake.models import ClearanceDecision, CrisisAlert, Flag, IntakeSubmission
    from scheduling.models import Appointment

    def counts(queryset: Any, field: str = "patient_id") -> Counter[int]:
        rows = queryset.order_by().values(field).annotate(n=Count("pk")).values_list(field, "n")
        return Counter(dict(rows))

    screened = counts(IntakeSubmission.objects.screenings().submitted())
    submissions = counts(IntakeSubmission.objects.all())
    flags = counts(Flag.objects.all(), "submission__patient_id")
    decisions = counts(ClearanceDecision.objects.all())
    alerts = counts(CrisisAlert.objects.all())
    appointments = counts(Appointment.objects.all())

    def rank(patient_id: int) -> tuple[int, ...]:
        shape = (screened, flags, decisions, alerts)
        return (
            *(int(table[patient_id] > 0) for table in shape),
            appointments[patient_id] + submissions[patient_id],
            -patient_id,
        )

    patient_id = max(set(submissions) | set(appointments), key=rank)
    return patient_id, (
        f"patient {patient_id}: {appointments[patient_id]} appointments, "
        f"{submissions[patient_id]} rounds, {flags[patient_id]} flags, "
        f"{decisions[patient_id]} decisions, {alerts[patient_id]} alerts"
    )


def _busiest_day() -> tuple[dt.date, int]:
    """The clinic-local date, open by the weekly hours and not closed, with most appointments."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from scheduling.models import Appointment, Closure, OpeningHours
    from scheduling.slots import clinic_tz

    weekdays = set(OpeningHours.objects.values_list("weekday", flat=True))
    closures = list(Closure.objects.values_list("start_date", "end_date"))
    per_day = (
        Appointment.objects.annotate(day=TruncDate("start", tzinfo=clinic_tz()))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("-n", "day")
        .values_list("day", "n")
    )
    for day, n in per_day:
        if day.weekday() in weekdays and not any(a <= day <= b for a, b in closures):
            return day, n
    raise RuntimeError("no appointment on an open day")


def _busiest_in_week(monday: dt.date, field: str) -> tuple[int, int]:
    from django.db.models import Count

    from scheduling.models import Appointment
    from scheduling.slots import clinic_tz, utc_range

    span = utc_range(monday, monday + dt.timedelta(days=6), clinic_tz())
    pk, n = (
        Appointment.objects.filter(
            start__lt=span.end, end__gt=span.start, **{f"{field}__isnull": False}
        )
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .order_by("-n", field)
        .values_list(field, "n")
        .first()
    )
    return pk, n


def count_queries(client: Any, url: str, *, cache_miss: bool = False) -> int:
    """Queries of the second GET of `url` (the first fills per-process caches and the slot
    page's cache). `cache_miss`: the slot page's cache answers nothing, so the booking window is
    computed as for the first visitor after a change."""
    from unittest import mock

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduling.online import slot_page

    client.get(url)
    with contextlib.ExitStack() as stack:
        if cache_miss:
            stack.enter_context(mock.patch.object(slot_page, "_cache_get", return_value=None))
        captured = stack.enter_context(CaptureQueriesContext(connection))
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}, not 200")
    return len(captured.captured_queries)


def run() -> dict[str, dict[str, Any]]:
    from django.test import Client
    from django.urls import reverse

    from bench.django_side import staff_client
    from intake.review import queue_queryset

    day, on_day = _busiest_day()
    monday = day - dt.timedelta(days=day.weekday())
    room, in_room = _busiest_in_week(monday, "room_id")
    clinician, with_clinician = _busiest_in_week(monday, "clinician_id")
    patient, shape = busiest_patient()
    anonymous = Client(HTTP_HOST="127.0.0.1")
    frontdesk = staff_client("frontdesk")
    clinician1 = staff_client("clinician1")
    calendar = reverse("scheduling:calendar")
    week = reverse("scheduling:calendar_week")
    pages = {
        "book": (
            "public slot page (/book/, first bookable day), cache hit",
            anonymous,
            reverse("scheduling:book"),
            "anonymous visitor; the day from the slot page's cache",
        ),
        "book_miss": (
            "public slot page (/book/, first bookable day), cache miss",
            anonymous,
            reverse("scheduling:book"),
            "anonymous visitor; the booking window computed (cache read patched to miss)",
        ),
        "day": (
            "calendar day (front desk)",
            frontdesk,
            f"{calendar}?date={day}",
            f"{day}: {on_day} appointments",
        ),
        "week_room": (
            "calendar week, by room (front desk)",
            frontdesk,
            f"{week}?date={day}&room={room}",
            f"room {room}, week of {monday}: {in_room} appointments",
        ),
        "week_clinician": (
            "calendar week, by clinician (front desk)",
            frontdesk,
            f"{week}?date={day}&clinician={clinician}",
            f"clinician {clinician}, week of {monday}: {with_clinician} appointments",
        ),
        "queue": (
            "review queue (clinician1)",
            clinician1,
            reverse("intake:review_queue"),
            f"{queue_queryset().count()} rounds waiting (50 a page)",
        ),
        "chart": (
            "patient chart (clinician1)",
            clinician1,
            reverse("intake:chart", kwargs={"patient_id": patient}),
            shape,
        ),
    }
    return {
        key: {
            "what": what,
            "queries": count_queries(client, url, cache_miss=key == "book_miss"),
            "subject": subject,
        }
        for key, (what, client, url, subject) in pages.items()
    }


if __name__ == "__main__":
    from bench import django_side

    django_side.setup()
    django_side.emit(run())
