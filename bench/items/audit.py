"""7. Audit overhead: the chart page with read-audit on vs off.

clinician1 opens the fullest chart of the large state (bench.items.queries.busiest_patient) with
the test Client, in one process with production settings. "Off" patches the chart view's one
read-audit call (intake.review_views.audit_record, the "chart.viewed" event) with a no-op; "on"
is the page as shipped. On and off alternate request by request, in ABBA order, so drift and
load from elsewhere hit both alike; each figure is the median of the per-request times
(time.perf_counter around client.get, the whole middleware stack included). The audit table is
counted before and after to prove that exactly the "on" requests wrote a "chart.viewed" event.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.harness import LARGE_DB, Bench
from bench.report import Row

ITEM = "7. Audit overhead"
PAIRS = 150  # requests per side


def measure(bench: Bench) -> list[Row]:
    result = bench.run_item("bench.items.audit", LARGE_DB, str(bench.count(PAIRS)))
    on, off = result["on"], result["off"]
    ratio = on / off
    return [
        Row(
            ITEM,
            "patient chart (clinician1), read-audit on vs off",
            f"{on:.1f} ms",
            f"{off:.1f} ms",
            ratio,
            "<= 1.15x",
            ratio <= 1.15,
            f"median of {result['requests']} requests a side, on and off alternating (ABBA); "
            f"the audit call alone {result['audit_call']:.1f} ms (median); {result['subject']}",
        )
    ]


# --- In Django ------------------------------------------------------------------------------------


def run(pairs: int) -> dict[str, Any]:
    from unittest import mock

    from django.urls import reverse

    from bench.django_side import staff_client
    from bench.items.queries import busiest_patient
    from intake import review_views
    from propel.models import AuditEvent

    patient, subject = busiest_patient()
    url = reverse("intake:chart", kwargs={"patient_id": patient})
    client = staff_client("clinician1")
    real = review_views.audit_record

    calls: list[float] = []  # the audit call alone, inside the "on" requests

    def timed_audit(**kwargs: Any) -> Any:
        started = time.perf_counter()
        event = real(**kwargs)
        calls.append((time.perf_counter() - started) * 1000)
        return event

    def no_audit(**kwargs: Any) -> None:
        return None

    def get(audited: bool) -> float:
        with mock.patch.object(review_views, "audit_record", timed_audit if audited else no_audit):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}, not 200")
        return elapsed

    for _ in range(5):  # warm-up, not counted
        get(True)
        get(False)
    times: dict[bool, list[float]] = {True: [], False: []}
    before = AuditEvent.objects.filter(action="chart.viewed").count()
    for index in range(pairs):
        for audited in (True, False) if index % 2 == 0 else (False, True):
            times[audited].append(get(audited))
    written = AuditEvent.objects.filter(action="chart.viewed").count() - before
    if written != pairs:
        raise RuntimeError(f"{pairs} audited requests wrote {written} chart.viewed events")
    return {
        "on": statistics.median(times[True]),
        "off": statistics.median(times[False]),
        "requests": len(times[True]),
        "audit_call": statistics.median(calls),
        "subject": subject,
    }


if __name__ == "__main__":
    import sys

    from bench import django_side

    django_side.setup()
    django_side.emit(run(int(sys.argv[1]) if len(sys.argv) > 1 else PAIRS))
