"""6. Reminders: draining 10,000 due reminders through the console backends vs 10,000 no-op tasks
on the same worker; 8. (Celery part) the worker's pool process memory while draining vs idle.

On a copy of the large state (the reminder rows and consents it writes stay out of the later
items), with one Celery worker (prefork, concurrency 1, pinned to CPU 0, production settings,
console email and SMS backends) that also loads the bench-only bench.tasks (`--include`).

- Rows: `prepare` deletes every reminder of the copy and writes `count` due rows for future booked
  appointments, the kinds and channels scheduling.reminder_plan.plan_reminders gives each
  appointment (the follow-up left out: it is only sent after a visit), every patient concerned
  consenting to email and SMS, so the channels split about evenly. SMS quiet hours are switched off
  for the run (SMS_QUIET_HOURS_START = END = 0): a run at night would otherwise put every SMS back
  to 08:00.
- Drain: `drain` runs the beat's sweep once (scheduling.reminders.dispatch.dispatch_due, as
  scheduling.tasks.dispatch_reminders does): it claims chunks of REMINDER_CHUNK_SIZE messages while
  fewer than REMINDER_IN_FLIGHT_MAX rows are in flight, one send_reminders task per chunk, and each
  full chunk's task claims the next itself; nothing else drives the drain (no second sweep, as in
  production within the minute). It then polls the database until no row is pending or sending.
  Timed from the sweep to the last `sent`.
- Floor: `noop` publishes bench.noop tasks (a Redis INCR) the way the sweep queues sends
  (`delay()` per task) and polls the counter until every one has run: `count` of them, half
  before the drain and half after (drift on the shared machine hits both sides), times summed.
- Duplicates: every row must end `sent` with attempts == 1, and the worker's log for the drain
  must show each email row's Message-ID `<reminder-<id>@...>` and each SMS row's key
  `reminder-<id>` exactly once; every no-op must run exactly once.
- Memory: the pool process's resident set when idle (after start) vs its peak (VmHWM, reset
  through /proc/<pid>/clear_refs before each drain) while draining; then three more drains of
  MEMORY_DRAIN fresh rows each on the same process, whose peaks must not grow (no leak).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

from bench.harness import LARGE_DB, LOG_DIR, NAME, Bench, log, peak_rss_kb, rss_kb
from bench.report import Row

ITEM_6 = "6. Reminders"
ITEM_8 = "8. Memory"
WORK_DB = f"{NAME}_reminders"
# The three drains of the leak check: smaller than item 6's, to keep the item within ~3 minutes.
MEMORY_DRAIN = 1_000
# No quiet hours during the run (start == end means none; scheduling.reminder_plan.in_quiet_hours).
QUIET_OFF = {"SMS_QUIET_HOURS_START": "0", "SMS_QUIET_HOURS_END": "0"}
MESSAGE_ID = re.compile(r"Message-ID: <reminder-(\d+)@")
SMS_KEY = re.compile(r"\[key reminder-(\d+)\]")


def measure(bench: Bench) -> list[Row]:
    count = bench.count(10_000)
    bench.create_db(WORK_DB, template=LARGE_DB)
    try:
        return _measure(bench, count)
    finally:
        bench.drop_db(WORK_DB)


def _reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _pool_pid(worker: Any) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = worker.child_pids()
        if pids:
            return pids[0]
        time.sleep(0.2)
    raise RuntimeError("the Celery worker started no pool process")


def _measure(bench: Bench, count: int) -> list[Row]:
    log_file = LOG_DIR / "celery.log"
    problems: list[str] = []

    def run(action: str, size: int, **extra: str) -> dict[str, Any]:
        return bench.run_item("bench.items.reminders", WORK_DB, action, str(size), **extra)

    def noop(size: int) -> float:
        result = run("noop", size)
        if result["executed"] != size:
            problems.append(f"no-op run: {result['executed']} executions of {size}")
        log(
            f"reminders: {size:,} no-ops in {result['seconds']:.1f} s"
            f" (published in {result['published']:.1f} s)"
        )
        return result["seconds"]

    def drain(size: int, label: str) -> dict[str, Any]:
        planned = run("prepare", size, **QUIET_OFF)
        reset = _reset_peak(pool)
        offset = log_file.stat().st_size if log_file.exists() else 0
        result = run("drain", size, **QUIET_OFF)
        result.update(
            label=label,
            planned=planned,
            peak_kb=peak_rss_kb(pool),
            peak_reset=reset,
            after_kb=rss_kb(pool),
            pools=worker.child_pids(),
        )
        problems.extend(_duplicates(label, result, log_file, offset))
        log(
            f"reminders: {label}: {size:,} sent in {result['seconds']:.1f} s,"
            f" pool peak {result['peak_kb'] / 1024:.0f} MiB"
        )
        return result

    with bench.celery_worker(
        WORK_DB, concurrency=1, include=("bench.tasks",), **QUIET_OFF
    ) as worker:
        pool = _pool_pid(worker)
        time.sleep(1)
        idle_kb = rss_kb(pool)
        log(f"reminders: worker pool pid {pool} idle at {idle_kb / 1024:.0f} MiB")
        # Half the no-ops before the drain and half after, so drift on the shared machine hits
        # both sides alike; their sum is the floor.
        noops = [noop(count // 2)]
        main = drain(count, "drain")
        noops.append(noop(count - count // 2))
        size = bench.count(MEMORY_DRAIN)
        repeats = [drain(size, f"memory drain {n + 1}") for n in range(3)]
        if any(d["pools"] != [pool] for d in [main, *repeats]):
            problems.append("the pool process was replaced during the runs")
    return _rows(count, main, noops, repeats, idle_kb, problems)


def _duplicates(label: str, drain: dict[str, Any], log_file: Path, offset: int) -> list[str]:
    """Each row sent once: in the database (state, attempts) and in the backends' output."""
    problems = []
    states = drain["states"]
    if states.get("sent", 0) != drain["planned"]["rows"] or drain["attempts_over_1"]:
        problems.append(f"{label}: states {states}, {drain['attempts_over_1']} retried")
    with log_file.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    for channel, pattern in (("email", MESSAGE_ID), ("sms", SMS_KEY)):
        seen: dict[int, int] = {}
        for match in pattern.finditer(text):
            seen[int(match.group(1))] = seen.get(int(match.group(1)), 0) + 1
        twice = sum(1 for n in seen.values() if n > 1)
        expected = set(drain["sent_ids"][channel])
        if twice or set(seen) != expected:
            problems.append(
                f"{label} {channel}: {len(seen)} ids in the output for {len(expected)} rows"
                f" sent, {twice} more than once, {len(expected - set(seen))} missing"
            )
    return problems


def _mib(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def _rows(
    count: int,
    main: dict[str, Any],
    noops: list[float],
    repeats: list[dict[str, Any]],
    idle_kb: int,
    problems: list[str],
) -> list[Row]:
    drain_s = main["seconds"]
    noop_s = sum(noops)
    ratio = drain_s / noop_s
    drains = [main, *repeats]
    peak_kb = max(d["peak_kb"] for d in drains)
    peaks = [d["peak_kb"] for d in repeats]
    growth_kb = peaks[-1] - peaks[0]
    # "No growth": the third repeat's peak within 2% (or 2 MiB) of the first's.
    no_growth = growth_kb <= max(2048, peaks[0] * 0.02)
    channels = main["planned"]["channels"]
    mix = ", ".join(f"{n:,} {channel}" for channel, n in sorted(channels.items()))
    reset = all(d["peak_reset"] for d in drains)
    sent = sum(d["planned"]["rows"] for d in drains)
    return [
        Row(
            ITEM_6,
            f"drain {count:,} due reminders (console email/SMS) vs {count:,} no-op tasks",
            f"{drain_s:.1f} s ({count / drain_s:.0f}/s)",
            f"{noop_s:.1f} s ({count / noop_s:.0f}/s)",
            ratio,
            "<= 2x",
            ratio <= 2,
            "one prefork worker, concurrency 1, on CPU 0; the no-ops in two halves, before and"
            f" after the drain ({' + '.join(f'{n:.1f}' for n in noops)} s); {mix};"
            " SMS quiet hours off",
        ),
        Row(
            ITEM_6,
            "reminders sent more than once",
            f"{len(problems)} problem(s)" if problems else "0 duplicates",
            "0",
            None,
            "zero duplicates",
            not problems,
            "; ".join(problems)
            or f"{sent:,} rows in 4 drains: each sent, attempts 1, its Message-ID or SMS key"
            " exactly once in the worker's output; each no-op executed once",
        ),
        Row(
            ITEM_8,
            "Celery pool process: peak RSS while draining vs idle",
            f"{_mib(peak_kb)} MiB peak",
            f"{_mib(idle_kb)} MiB idle",
            peak_kb / idle_kb,
            "<= 1.5x",
            peak_kb / idle_kb <= 1.5,
            f"VmHWM of the pool process (reset before each drain: {'yes' if reset else 'NO'});"
            f" highest of the {count:,} drain ({_mib(main['peak_kb'])}) and the repeats",
        ),
        Row(
            ITEM_8,
            f"Celery pool process: growth across three drains of {repeats[0]['planned']['rows']:,}",
            " -> ".join(_mib(p) for p in peaks) + " MiB peak",
            f"{_mib(peaks[0])} MiB (first)",
            peaks[-1] / peaks[0],
            "no growth",
            no_growth,
            "fresh rows each time, same worker; RSS after each: "
            + ", ".join(_mib(d["after_kb"]) for d in repeats)
            + " MiB; no growth = third peak within 2% or 2 MiB of the first",
        ),
    ]


# --- Inside Django (python -m bench.items.reminders prepare|noop|drain COUNT) -------------------


def prepare(count: int) -> dict[str, Any]:
    """Delete every reminder, then write `count` due rows for future booked appointments."""
    from django.db import transaction
    from django.db.models import Value
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from intake.models import Patient
    from intake.selectors import questionnaire_status
    from scheduling.models import Appointment, AppointmentStatus, Reminder, ReminderKind
    from scheduling.reminder_plan import (
        CONSULTATION,
        appointment_kind,
        plan_reminders,
        reminder_times,
    )
    from scheduling.slots import clinic_tz

    now = timezone.now()
    due = now - dt.timedelta(minutes=1)
    times = reminder_times()
    tz = clinic_tz()
    rows: list[Reminder] = []
    patient_ids: set[int] = set()
    appointments = (
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED, start__gt=now + dt.timedelta(hours=6)
        )
        .select_related("appointment_type")
        .order_by("start", "id")
    )
    for appointment in appointments.iterator(chunk_size=500):
        kind = appointment_kind(appointment)
        plan = plan_reminders(
            appointment_kind=kind,
            start=appointment.start,
            end=appointment.end,
            now=appointment.start - dt.timedelta(days=7),  # booked a week ahead: every kind
            email_ok=True,
            sms_ok=True,
            intake_done=kind != CONSULTATION
            or questionnaire_status(appointment.patient_id) == "submitted",
            tz=tz,
            times=times,
        )
        for reminder_kind, channel, _ in plan:
            if reminder_kind != ReminderKind.FOLLOW_UP_NEXT_DAY:
                rows.append(
                    Reminder(
                        appointment_id=appointment.pk,
                        kind=reminder_kind,
                        channel=channel,
                        due_at=due,
                    )
                )
        patient_ids.add(appointment.patient_id)
        if len(rows) >= count:
            break
    rows = rows[:count]
    if len(rows) < count:
        raise RuntimeError(f"future booked appointments give only {len(rows)} reminders")
    with transaction.atomic():
        Reminder.objects.all().delete()
        patients = Patient.objects.filter(pk__in=patient_ids)
        patients.update(
            consent_email=True,
            consent_email_at=Coalesce("consent_email_at", Value(now)),
            consent_sms=True,
            consent_sms_at=Coalesce("consent_sms_at", Value(now)),
        )
        patients.filter(mobile="").update(mobile="+19165550100")
        patients.filter(email="").update(email="bench@example.test")
        Reminder.objects.bulk_create(rows, batch_size=2000)
    channels: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for row in rows:
        channels[row.channel] = channels.get(row.channel, 0) + 1
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
    return {"rows": len(rows), "channels": channels, "kinds": kinds, "patients": len(patient_ids)}


def _wait(done: Any, what: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not finish within {timeout:.0f} s")
        time.sleep(0.05)


def drain(count: int) -> dict[str, Any]:
    from django.db.models import Count
    from django.utils import timezone

    from scheduling.models import Reminder, ReminderState
    from scheduling.reminders.dispatch import dispatch_due

    unfinished = Reminder.objects.filter(state__in=(ReminderState.PENDING, ReminderState.SENDING))
    started = time.perf_counter()
    # One beat sweep; the chunks' tasks claim the rest of the backlog as they finish.
    claimed = len(dispatch_due(now=timezone.now()))
    _wait(lambda: not unfinished.exists(), "the drain")
    seconds = time.perf_counter() - started
    states = dict(
        Reminder.objects.order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    sent = Reminder.objects.filter(state=ReminderState.SENT)
    return {
        "seconds": seconds,
        "first_sweep_claimed": claimed,
        "states": states,
        "attempts_over_1": Reminder.objects.filter(attempts__gt=1).count(),
        "sent_ids": {
            channel: list(sent.filter(channel=channel).values_list("pk", flat=True))
            for channel in ("email", "sms")
        },
    }


def noop(count: int) -> dict[str, Any]:
    from bench.tasks import NOOP_COUNTER, noop, redis_client

    client = redis_client()
    client.set(NOOP_COUNTER, 0)
    started = time.perf_counter()
    for _ in range(count):
        noop.delay()
    published = time.perf_counter() - started
    _wait(lambda: int(client.get(NOOP_COUNTER) or 0) >= count, "the no-op run")
    seconds = time.perf_counter() - started
    time.sleep(0.5)  # a duplicate delivery would show up as an extra count
    executed = int(client.get(NOOP_COUNTER) or 0)
    return {"seconds": seconds, "published": published, "executed": executed}


def main() -> None:
    from bench.django_side import emit, setup

    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=("prepare", "drain", "noop"))
    parser.add_argument("count", type=int)
    args = parser.parse_args()
    setup()
    emit({"prepare": prepare, "drain": drain, "noop": noop}[args.action](args.count))


if __name__ == "__main__":
    main()
