"""5. Hot slot: 32 patients' browsers choosing the same consultation time at the same moment.

Through the real online flow on gunicorn (2 sync workers, production settings, CPU 0) at the large
state: GET /book/ (the CSRF cookie and token, not timed), then POST /book/hold/ with the time,
GET the details form the hold redirects to, POST the details (a new patient each: "check your
email"), then open the emailed confirmation link (read from the database: the bench's email
backend is the console) and press "Confirm my booking". Each visitor
is a thread with its own cookies (kept by hand: production cookies are Secure and this is plain
HTTP) on CPU 1, timing every request from connect to the last byte.

- Contended: CLIENTS visitors released together at one start. "One slot" must mean room for one
  booking, so the start is the one with the fewest free rooms and clinicians in the window
  (find_slots, in Django), and if more than one booking still fits there it is first filled down
  to one by bookings made the same way one at a time. Target: exactly one more booking at that
  start (counted in the database), no 5xx.
- Floor for the latency: the same CLIENTS visitors released together, each on a different start
  (no two within a consultation's length, on other days than the contended start): the same
  load on the same two workers, without the shared slot. Contended p99 within 3x of it. The same
  flows one visitor at a time are a context row: on two sync workers, CLIENTS requests arriving
  together queue behind each other whatever they ask for, so that ratio measures the queue.

The per-address booking limits (BOOKING_RATE_PER_IP_PER_HOUR, BOOKING_RATE_PER_EMAIL_PER_DAY,
propel.ratelimit) are raised for this server through its environment: every visitor comes from
127.0.0.1. The bookings stay in the large state (it is thrown away after the run).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import http.client
import os
import re
import secrets
import statistics
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.harness import LARGE_DB, LOAD_CPUS, Bench, log, percentile
from bench.report import Row

ITEM = "5. Hot slot"
CLIENTS = 32
WINDOW_DAYS = 56
LIMITS = {"BOOKING_RATE_PER_IP_PER_HOUR": "1000000", "BOOKING_RATE_PER_EMAIL_PER_DAY": "1000000"}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ACTIVE = "('booked', 'checked_in', 'completed')"


@dataclass
class Timed:
    step: str
    status: int
    ms: float


@dataclass
class Visitor:
    """One browser: its own cookies, every request timed."""

    base: str
    name: str
    cookies: dict[str, str] = field(default_factory=dict)
    timings: list[Timed] = field(default_factory=list)
    token: str = ""

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, *, step: str = ""
    ) -> tuple[int, str, str]:
        url = urllib.parse.urlsplit(self.base)
        headers = {"Host": url.netloc, "User-Agent": "propel-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        assert url.hostname is not None  # the bench's own http://127.0.0.1:port
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        if step:
            self.timings.append(Timed(step, response.status, elapsed))
        found = CSRF.search(text)
        if found:
            self.token = found.group(1)
        return response.status, response.headers.get("Location", ""), text

    def open_picker(self) -> None:
        status, _, _ = self.request("GET", "/book/")
        if status != 200 or not self.token:
            raise RuntimeError(f"/book/ answered {status} without a form")

    def book(self, start: str) -> bool:
        """Hold `start`, open the details form, send it. True when the booking was asked for
        (the form answers "check your email"; `confirm` books)."""
        status, location, _ = self.request(
            "POST", "/book/hold/", {"csrfmiddlewaretoken": self.token, "start": start}, step="hold"
        )
        if status != 302 or "/book/" not in location:
            return False
        details = urllib.parse.urlsplit(location).path
        self.request("GET", details, step="details")
        status, location, _ = self.request(
            "POST",
            details,
            {
                "csrfmiddlewaretoken": self.token,
                "first_name": "Hot",
                "last_name": f"Slot {self.name}",
                "date_of_birth": "03/27/1980",
                "email": self.email,
                "mobile": "(916) 555-0144",
                "consent_email": "on",
                "website": "",
            },
            step="request",
        )
        return status == 302 and location.endswith("/book/check-email/")

    @property
    def email(self) -> str:
        return f"hot.{self.name}@example.test"

    def confirm(self, link: str) -> bool:
        """Open the emailed confirmation link and press the button. True when booked."""
        status, location, _ = self.request("GET", link, step="link")
        if status != 302:
            return False
        page = urllib.parse.urlsplit(location).path
        self.request("GET", page, step="confirm page")
        status, location, _ = self.request(
            "POST", page, {"csrfmiddlewaretoken": self.token}, step="confirm"
        )
        return status == 302 and "/p/" in location


@contextlib.contextmanager
def _on_load_cpus() -> Iterator[None]:
    """Threads started inside run on the load generator's core (they inherit the affinity)."""
    if (os.cpu_count() or 1) < 2:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(cpu) for cpu in LOAD_CPUS.split(",")})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def _together(visitors: list[Visitor], starts: list[str]) -> list[bool]:
    """Every visitor opens the picker, then all choose their time at the same moment."""
    gate = threading.Barrier(len(visitors))

    def run(visitor: Visitor, start: str) -> bool:
        visitor.open_picker()
        gate.wait(timeout=120)
        return visitor.book(start)

    with _on_load_cpus(), concurrent.futures.ThreadPoolExecutor(len(visitors)) as pool:
        return list(pool.map(run, visitors, starts))


def _one_by_one(visitors: list[Visitor], starts: list[str]) -> list[bool]:
    results = []
    with _on_load_cpus():
        for visitor, start in zip(visitors, starts, strict=True):
            visitor.open_picker()
            results.append(visitor.book(start))
    return results


def _confirmed(bench: Bench, visitors: list[Visitor], asked: list[bool]) -> list[bool]:
    """Each visitor whose booking was asked for opens the link the email carries (read from
    the database in one go: the bench's email backend is the console) and confirms, one at a
    time. True for each visitor booked."""
    wanted = [visitor.email for visitor, ok in zip(visitors, asked, strict=True) if ok]
    links = bench.run_item("bench.items.hot_slot", LARGE_DB, "links", *wanted) if wanted else {}
    with _on_load_cpus():
        return [
            ok and visitor.email in links and visitor.confirm(links[visitor.email])
            for visitor, ok in zip(visitors, asked, strict=True)
        ]


def _spread(
    slots: list[dict[str, Any]], *, avoid_day: str, gap_minutes: int, count: int
) -> list[str]:
    """`count` starts no two within `gap_minutes`, none on `avoid_day`, earliest first."""
    chosen: list[dt.datetime] = []
    for slot in slots:
        start = dt.datetime.fromisoformat(slot["start"])
        if slot["day"] == avoid_day or slot["capacity"] < 1:
            continue
        if all(abs(start - other) >= dt.timedelta(minutes=gap_minutes) for other in chosen):
            chosen.append(start)
        if len(chosen) == count:
            return [start.isoformat() for start in chosen]
    raise RuntimeError(f"only {len(chosen)} separate free starts in the window, {count} needed")


def _capacity(bench: Bench, start: str) -> int:
    result = bench.run_item("bench.items.hot_slot", LARGE_DB, "capacity", start)
    return result["capacity"]


def _samples(visitors: list[Visitor]) -> list[Timed]:
    return [timed for visitor in visitors for timed in visitor.timings]


def measure(bench: Bench) -> list[Row]:
    found = bench.run_item("bench.items.hot_slot", LARGE_DB, "slots", str(WINDOW_DAYS))
    slots = found["slots"]
    if not slots:
        raise RuntimeError("no free consultation time in the online window")
    target = min(slots, key=lambda slot: (slot["capacity"], slot["start"]))
    run = secrets.token_hex(3)
    spread = _spread(
        slots, avoid_day=target["day"], gap_minutes=found["duration_minutes"], count=2 * CLIENTS
    )

    with bench.gunicorn(LARGE_DB, workers=2, **LIMITS) as server:
        alone = [Visitor(server.url, f"{run}.alone.{n}") for n in range(CLIENTS)]
        booked_alone = _confirmed(bench, alone, _one_by_one(alone, spread[:CLIENTS]))
        apart = [Visitor(server.url, f"{run}.apart.{n}") for n in range(CLIENTS)]
        booked_apart = _confirmed(bench, apart, _together(apart, spread[CLIENTS:]))

        before = _capacity(bench, target["start"])
        fillers = [Visitor(server.url, f"{run}.filler.{n}") for n in range(max(0, before - 1))]
        filled = _confirmed(bench, fillers, _one_by_one(fillers, [target["start"]] * len(fillers)))
        left = _capacity(bench, target["start"])
        log(f"hot slot: {target['start']} fits {before}, {sum(filled)} filler(s), {left} left")

        hot = [Visitor(server.url, f"{run}.hot.{n}") for n in range(CLIENTS)]
        booked_hot = _confirmed(bench, hot, _together(hot, [target["start"]] * CLIENTS))

    (made,) = bench.query(
        LARGE_DB,
        "SELECT count(*) FROM scheduling_appointment a JOIN intake_patient p ON p.id = a.patient_id"
        f" WHERE a.start = %s AND a.status IN {ACTIVE} AND p.email LIKE %s",
        (dt.datetime.fromisoformat(target["start"]), f"hot.{run}.hot.%"),
    )[0]
    hot_samples, apart_samples, alone_samples = _samples(hot), _samples(apart), _samples(alone)
    for name, samples in (("hot", hot_samples), ("apart", apart_samples), ("alone", alone_samples)):
        steps = {
            step: statistics.median(t.ms for t in samples if t.step == step)
            for step in ("hold", "details", "request", "link", "confirm page", "confirm")
            if any(t.step == step for t in samples)
        }
        log(f"hot slot: {name} median ms per step {steps}")
    server_errors = {
        name: sum(1 for timed in samples if timed.status >= 500)
        for name, samples in (
            ("hot", hot_samples),
            ("apart", apart_samples),
            ("alone", alone_samples),
        )
    }
    statuses = sorted({timed.status for timed in hot_samples if timed.step == "hold"})
    p99 = {
        name: percentile([timed.ms for timed in samples], 99)
        for name, samples in (
            ("hot", hot_samples),
            ("apart", apart_samples),
            ("alone", alone_samples),
        )
    }
    limits = (
        "rate limits raised for the bench ("
        + ", ".join(f"{k}={v}" for k, v in LIMITS.items())
        + ")"
    )
    where = (
        f"start {target['start']}: fitted {before} booking(s), {len(fillers)} made first one at a "
        f"time, {left} left for the {CLIENTS} visitors"
    )
    rows = [
        Row(
            ITEM,
            f"bookings made when {CLIENTS} visitors choose the same time at once",
            f"{made}",
            "1",
            None,
            "exactly 1",
            made == 1 and left == 1,
            f"counted in the database; {sum(booked_hot)} visitor(s) reached the confirmation; hold "
            f"answers {statuses}; {where}",
        ),
        Row(
            ITEM,
            "5xx answers to the contended visitors",
            f"{server_errors['hot']}",
            "0",
            None,
            "0",
            server_errors["hot"] == 0,
            f"{len(hot_samples)} requests; 5xx in the floors: {server_errors['apart']} (together, "
            f"different times), {server_errors['alone']} (one at a time); {limits}",
        ),
        Row(
            ITEM,
            f"p99 latency, {CLIENTS} at once on one time vs {CLIENTS} at once on different times",
            f"{p99['hot']:.0f} ms",
            f"{p99['apart']:.0f} ms",
            p99["hot"] / p99["apart"],
            "<= 3x",
            p99["hot"] <= 3 * p99["apart"],
            f"every timed request (hold, details form, request, the emailed link, confirm): "
            f"{len(hot_samples)} contended, "
            f"{len(apart_samples)} floor; floor bookings made {sum(booked_apart)}/{CLIENTS}; "
            f"2 gunicorn workers",
        ),
        Row(
            ITEM,
            "p99 latency, same contended run vs the flows one visitor at a time",
            f"{p99['hot']:.0f} ms",
            f"{p99['alone']:.0f} ms",
            p99["hot"] / p99["alone"],
            "",
            None,
            f"context: {CLIENTS} requests arriving together queue on 2 sync workers whatever they "
            f"ask for; one-at-a-time bookings made {sum(booked_alone)}/{CLIENTS}",
        ),
    ]
    return rows


# --- In Django ------------------------------------------------------------------------------------


def slots(days: int) -> dict[str, Any]:
    """The online starts from the first bookable day for `days` days, with how many bookings
    each still fits (free rooms and clinicians pair up one to one)."""
    from django.utils import timezone

    from scheduling.online.offer import online_slots
    from scheduling.online.rules import consultation_type, current_window

    consultation = consultation_type()
    if consultation is None:
        raise RuntimeError("no self-bookable consultation")
    now = timezone.now()
    first = current_window(now).first_day
    found = online_slots(
        consultation, start_date=first, end_date=first + dt.timedelta(days=days), now=now
    )
    fits = [
        min(len(slot.room_ids), len(slot.clinician_ids))
        if consultation.needs_clinician
        else len(slot.room_ids)
        for slot in found
    ]
    return {
        "duration_minutes": consultation.duration_minutes,
        "slots": [
            {
                "start": timezone.localtime(slot.start).isoformat(),
                "day": timezone.localtime(slot.start).date().isoformat(),
                "capacity": capacity,
            }
            for slot, capacity in zip(found, fits, strict=True)
        ],
    }


def links(emails: list[str]) -> dict[str, str]:
    """The confirmation link each of these addresses was emailed (its latest open request)."""
    from django.urls import reverse

    from scheduling.booking_tokens import booking_confirm_token
    from scheduling.models import BookingRequest

    requests = BookingRequest.objects.filter(email__in=emails, appointment__isnull=True)
    return {
        request.email: reverse(
            "scheduling:book_confirm_link", args=[booking_confirm_token(request.pk)]
        )
        for request in requests.order_by("pk")
    }


def capacity(start: str) -> dict[str, Any]:
    """How many bookings `start` still fits now (0: not offered)."""
    from django.utils import timezone

    from scheduling.online.offer import online_slots
    from scheduling.online.rules import consultation_type

    moment = dt.datetime.fromisoformat(start)
    consultation = consultation_type()
    assert consultation is not None  # the bench seeds the clinic's types
    local_day = timezone.localtime(moment).date()
    found = online_slots(consultation, start_date=local_day, end_date=local_day, now=timezone.now())
    for slot in found:
        if slot.start == moment:
            rooms, clinicians = len(slot.room_ids), len(slot.clinician_ids)
            return {"capacity": min(rooms, clinicians) if consultation.needs_clinician else rooms}
    return {"capacity": 0}


if __name__ == "__main__":
    import sys

    from bench import django_side

    django_side.setup()
    if sys.argv[1] == "slots":
        django_side.emit(slots(int(sys.argv[2])))
    elif sys.argv[1] == "links":
        django_side.emit(links(sys.argv[2:]))
    else:
        django_side.emit(capacity(sys.argv[2]))
