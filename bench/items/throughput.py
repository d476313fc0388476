"""3. Throughput: the public slot page under wrk against a bare view in the same server and run;
8. Memory (web): a gunicorn worker's resident memory under that load against the same worker idle.

One gunicorn (2 sync workers, production settings, CPU 0) on the large database; wrk (one thread,
CONNECTIONS connections, CPU 1) alternates between /bench/bare/ (same middleware, no template, no
query: bench/views.py) and /book/ with no parameters, the page a patient lands on (the first
bookable day), for ROUNDS rounds of SECONDS each, so drift hits both alike. The figure is the
median over the rounds of each round's share (slot page requests/s over the bare view's in the
same round), with the lowest and highest share beside it; the target holds only if every round
meets it. p99 is wrk's, median over the rounds.

Memory: each worker's VmRSS after a warm-up that runs until the workers' memory is steady
(_warm_up: rounds of the same load until two in a row raise no worker's peak by more than
SETTLED_KB), then its VmHWM (peak resident memory since it started) after each round. Peak over
idle is the figure; "no leak" means the peak after the last round is within LEAK_TOLERANCE_KB
of the peak after the first: VmHWM only rises, and it rises again only if each round needs
memory the last one did not give back (a leak), not for the same work repeated. VmRSS after
each round is in the note as a second view.
"""

from __future__ import annotations

import concurrent.futures
import statistics
import urllib.request

from bench.harness import LARGE_DB, Bench, Server, peak_rss_kb, rss_kb, wrk
from bench.report import Row

ITEM_THROUGHPUT = "3. Throughput"
ITEM_MEMORY = "8. Memory"
ROUNDS = 5
SECONDS = 10.0
CONNECTIONS = 4
TARGET_SHARE = 0.25
WARM_UP_REQUESTS = 40  # per page, 4 at a time: both workers serve some (a status check)
# The warm-up's rounds: each page under wrk for WARM_UP_SECONDS, at least WARM_UP_MIN_ROUNDS,
# until two rounds in a row raise no worker's peak by more than SETTLED_KB, at most
# WARM_UP_ROUNDS. 40 requests a page were too few: a fresh worker's peak rose for thousands of
# requests more (the allocator settling in the shared request path, docs/benchmarks.md item 8),
# so round 1 started below steady state.
WARM_UP_SECONDS = 5.0
WARM_UP_MIN_ROUNDS = 4
WARM_UP_ROUNDS = 16
SETTLED_KB = 64
LEAK_TOLERANCE_KB = 2048
PAGES = {"bare": "/bench/bare/", "slot": "/book/"}


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our own server)
        response.read()
        return response.status


def _warm_up(
    server: Server, workers: list[int], seconds: float
) -> tuple[list[dict[int, int]], bool]:
    """Both pages until the workers' memory is steady; each worker's VmHWM after every warm-up
    round (the first entry: after the status check), and whether it got steady before
    WARM_UP_ROUNDS ran out."""
    urls = [server.url + path for path in PAGES.values() for _ in range(WARM_UP_REQUESTS)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        statuses = list(pool.map(_get, urls))
    if any(status != 200 for status in statuses):
        raise RuntimeError(f"warm-up answered {sorted(set(statuses))}")
    trail = [{pid: peak_rss_kb(pid) for pid in workers}]
    for _ in range(WARM_UP_ROUNDS):
        for path in PAGES.values():
            wrk(server.url + path, seconds=seconds, connections=CONNECTIONS)
        trail.append({pid: peak_rss_kb(pid) for pid in workers})
        if len(trail) > WARM_UP_MIN_ROUNDS and all(
            later[pid] - earlier[pid] <= SETTLED_KB
            for earlier, later in zip(trail[-3:-1], trail[-2:], strict=True)
            for pid in workers
        ):
            return trail, True
    return trail, False


def _mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def measure(bench: Bench) -> list[Row]:
    seconds = bench.seconds(SECONDS)
    results: dict[str, list] = {name: [] for name in PAGES}
    with bench.gunicorn(LARGE_DB, workers=2) as server:
        workers = sorted(server.worker_pids())
        warm_up, steady = _warm_up(server, workers, bench.seconds(WARM_UP_SECONDS))
        idle = {pid: rss_kb(pid) for pid in workers}
        peaks: list[dict[int, int]] = []
        settled: list[dict[int, int]] = []
        for round_number in range(ROUNDS):
            # Alternate which page goes first, so neither always runs on a warmer server.
            order = list(PAGES) if round_number % 2 == 0 else list(reversed(PAGES))
            for name in order:
                results[name].append(
                    wrk(server.url + PAGES[name], seconds=seconds, connections=CONNECTIONS)
                )
            peaks.append({pid: peak_rss_kb(pid) for pid in workers})
            settled.append({pid: rss_kb(pid) for pid in workers})
        if sorted(server.worker_pids()) != workers:
            raise RuntimeError("a gunicorn worker was replaced during the load (see gunicorn.log)")

    errors = sum(r.non_2xx + r.socket_errors for runs in results.values() for r in runs)
    rps = {
        name: statistics.median(r.requests_per_second for r in runs)
        for name, runs in results.items()
    }
    p99 = {name: statistics.median(r.p99_ms for r in runs) for name, runs in results.items()}
    p50 = {name: statistics.median(r.p50_ms for r in runs) for name, runs in results.items()}
    pairs = list(zip(results["slot"], results["bare"], strict=True))
    per_round = ", ".join(
        f"{slot.requests_per_second:.0f}/{bare.requests_per_second:.0f}" for slot, bare in pairs
    )
    shares = [slot.requests_per_second / bare.requests_per_second for slot, bare in pairs]
    load = (
        f"wrk 1 thread, {CONNECTIONS} connections, {ROUNDS} alternating rounds of "
        f"{seconds:.0f} s per page, 2 gunicorn workers"
    )
    share = statistics.median(shares)
    rows = [
        Row(
            ITEM_THROUGHPUT,
            "slot page /book/ (first bookable day) vs bare view, requests/s",
            f"{rps['slot']:.0f} req/s",
            f"{rps['bare']:.0f} req/s",
            share,
            f">= {TARGET_SHARE:.0%} in every round",
            min(shares) >= TARGET_SHARE and errors == 0,
            f"{share:.0%}, median of {ROUNDS} rounds' shares (lowest {min(shares):.0%}, highest "
            f"{max(shares):.0%}; slot/bare req/s per round: {per_round}); requests/s columns: "
            f"medians over the rounds; {load}; non-2xx + socket errors: {errors}",
        ),
        Row(
            ITEM_THROUGHPUT,
            "slot page vs bare view, p99 latency under the same load",
            f"{p99['slot']:.1f} ms",
            f"{p99['bare']:.1f} ms",
            p99["slot"] / p99["bare"],
            "",
            None,
            f"wrk's p99, median of rounds; p50 slot {p50['slot']:.1f} ms, "
            f"bare {p50['bare']:.1f} ms",
        ),
    ]

    # The worker that grew most relative to idle is the one judged.
    ratios = {pid: peaks[-1][pid] / idle[pid] for pid in workers}
    worst = max(workers, key=lambda pid: ratios[pid])
    growth = {pid: peaks[-1][pid] - peaks[0][pid] for pid in workers}
    most = max(workers, key=lambda pid: growth[pid])
    rss_trend = "; ".join(
        f"worker {n + 1}: idle {_mb(idle[pid])}, peak after rounds "
        + " / ".join(_mb(p[pid]) for p in peaks)
        + ", resident after rounds "
        + " / ".join(_mb(s[pid]) for s in settled)
        for n, pid in enumerate(workers)
    )
    rows += [
        Row(
            ITEM_MEMORY,
            "web worker peak resident memory under item 3's load vs idle",
            _mb(peaks[-1][worst]),
            _mb(idle[worst]),
            ratios[worst],
            "<= 1.5x",
            ratios[worst] <= 1.5,
            f"VmHWM after {ROUNDS} rounds vs VmRSS after warm-up, the worse of 2 workers; "
            + rss_trend,
        ),
        Row(
            ITEM_MEMORY,
            f"web worker peak growth from round 1 to round {ROUNDS} (leak)",
            f"+{growth[most] / 1024:.1f} MB",
            _mb(peaks[0][most]),
            None,
            f"<= +{LEAK_TOLERANCE_KB / 1024:.0f} MB",
            growth[most] <= LEAK_TOLERANCE_KB,
            "VmHWM after the last round minus after the first, the worse of 2 workers: the same "
            "load repeated needs no new memory unless something is kept between requests; "
            f"measured after a warm-up of {len(warm_up) - 1} rounds of both pages "
            f"({bench.seconds(WARM_UP_SECONDS):.0f} s each), "
            + (
                f"steady: two in a row raised no worker's peak by more than {SETTLED_KB} KB"
                if steady
                else f"NOT steady after {WARM_UP_ROUNDS} rounds (the peak still rose)"
            )
            + "; peaks during it: "
            + "; ".join(
                f"worker {n + 1}: " + " / ".join(_mb(p[pid]) for p in warm_up)
                for n, pid in enumerate(workers)
            ),
        ),
    ]
    return rows
