"""The bench's own arithmetic and parsing: a wrong parse would print a wrong table."""

import pytest
from django.test import override_settings

from bench import report
from bench.harness import parse_wrk, percentile
from bench.report import Row

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/book/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.10ms    3.20ms  80.00ms   90.00%
    Req/Sec   650.00     40.00   700.00     80.00%
  Latency Distribution
     50%  850.00us
     75%   12.00ms
     90%   15.00ms
     99%    1.20s
  6512 requests in 10.01s, 40.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:    650.55
Transfer/sec:      4.00MB
"""


def test_parse_wrk_reads_rate_percentiles_in_ms_and_errors():
    result = parse_wrk(WRK_OUTPUT)
    assert result.requests_per_second == 650.55
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.requests == 6512
    assert result.non_2xx == 7
    assert result.socket_errors == 5


def test_parse_wrk_without_error_lines_counts_zero():
    clean = "\n".join(
        line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    result = parse_wrk(clean)
    assert (result.non_2xx, result.socket_errors) == (0, 0)


def test_percentile_is_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0


def test_report_marks_missed_targets_and_lists_the_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "REPORT", tmp_path / "benchmarks.md")
    monkeypatch.setattr(report, "FINDINGS", tmp_path / "findings")
    (tmp_path / "findings").mkdir()
    (tmp_path / "findings" / "2-b.md").write_text("### second")
    (tmp_path / "findings" / "1-a.md").write_text("### first")
    rows = [
        Row("1. Query scaling", "calendar day", "9 queries", "9 queries", None, "identical", True),
        Row("2. Availability", "8 weeks", "3.0 s", "1.0 s", 3.0, "<= 1.5x", False, "why"),
    ]
    import datetime as dt

    text = report.write(
        rows, started=dt.datetime(2026, 11, 27, tzinfo=dt.UTC), seconds=600, quick=False
    )
    assert (tmp_path / "benchmarks.md").read_text() == text.rstrip() + "\n"
    assert "1 target(s) missed" in text
    assert "| 2. Availability | 8 weeks | 3.0 s | 1.0 s | 3.00 | <= 1.5x | MISSED | why |" in text
    assert "| met |" in text
    assert "Machine:" in text and "cores" in text and "2026-11-27" in text
    assert text.index("### first") < text.index("### second")


@override_settings(ROOT_URLCONF="bench.urls")
def test_bare_view_goes_through_the_middleware_stack(client):
    response = client.get("/bench/bare/")
    assert response.status_code == 200
    assert response.content == b"ok"
    # Headers set by middleware prove the request took the same path as the app's pages.
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"  # ours
    assert response.headers["X-Frame-Options"] == "DENY"  # Django's clickjacking middleware
    assert "Accept-Language" in response.headers["Vary"]  # the locale middleware


def test_a_failed_measurement_is_one_missed_row_naming_the_exception():
    error = RuntimeError(
        "bench.items.x failed:\nTraceback (most recent call last):\n  File x\nValueError: no slot"
    )
    row = report.failed_row("x", error)
    assert row.met is False
    assert row.note == "ValueError: no slot"
    assert len(report.table([row]).splitlines()) == 3  # header, rule, the row on one line


BUSY_SQL = (
    'SELECT "scheduling_appointment"."start" FROM "scheduling_appointment" WHERE '
    'tstzrange("scheduling_appointment"."start", "scheduling_appointment"."end", \'[)\') && '
    "tstzrange('2026-12-07 08:00:00+00:00'::timestamptz, '2026-12-14 08:00:00+00:00'::timestamptz,"
    " '[)')"
)

PARALLEL_PLAN = """\
Gather  (cost=1000.00..32512.15 rows=1706) (actual time=0.3..129.9 rows=257 loops=1)
  ->  Parallel Append  (cost=0.00..31341.55 rows=711) (actual time=34.6..114.0 rows=86 loops=3)
        ->  Bitmap Heap Scan on scheduling_slothold  (actual time=0.01..0.01 rows=4 loops=1)
              Rows Removed by Filter: 9
        ->  Parallel Seq Scan on scheduling_appointment  (actual time=34.6..114.0 rows=86 loops=3)
              Rows Removed by Filter: 336595
Execution Time: 129.968 ms
"""


def test_history_item_rewrites_the_busy_query_as_the_old_one_sided_comparison():
    from bench.items.history import before_form

    assert before_form(BUSY_SQL) == (
        'SELECT "scheduling_appointment"."start" FROM "scheduling_appointment" WHERE '
        '("scheduling_appointment"."start" < \'2026-12-14 08:00:00+00:00\'::timestamptz AND '
        '"scheduling_appointment"."end" > \'2026-12-07 08:00:00+00:00\'::timestamptz)'
    )


def test_history_item_counts_appointment_rows_read_per_worker():
    from bench.items.history import plan_rows_read

    assert plan_rows_read(PARALLEL_PLAN) == (86 + 336_595) * 3
