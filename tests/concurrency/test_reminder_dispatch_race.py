"""Reminder dispatch on real PostgreSQL connections: sweeps running at the same moment claim
disjoint rows and every message goes out exactly once; a duplicated send task sends once; and a
real Celery worker on the real Redis runs the beat task end to end.

The Redis test needs Redis at REDIS_URL (`make test` sets it) and fails, rather than skips,
without it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core import mail
from django.db import connections
from django.utils import timezone

import scheduling.reminders.dispatch
from propel.celery import app as celery_app
from scheduling.models import Reminder, ReminderState
from scheduling.reminders.dispatch import dispatch_due, reminder_send
from scheduling.tasks import dispatch_reminders
from tests.clinic_time import LA
from tests.eager import assert_redis_broker
from tests.factories import AppointmentFactory
from tests.scheduling.reminder_support import CONSENTED, sms_lines
from tests.threads import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)
THREADS = 4
APPOINTMENTS = 15
TEST_QUEUE = "propel-test-reminders"
WORKER_NAME = "propel-test-reminder-worker@localhost"


def due_reminders(count: int, *, due_at: dt.datetime) -> list[int]:
    ids = []
    for _ in range(count):
        appointment = AppointmentFactory(
            patient__consent_email=True,
            patient__consent_email_at=CONSENTED,
            patient__consent_sms=True,
            patient__consent_sms_at=CONSENTED,
        )
        for channel in ("email", "sms"):
            ids.append(
                Reminder.objects.create(
                    appointment=appointment, kind="confirmation", channel=channel, due_at=due_at
                ).pk
            )
    return ids


@pytest.fixture
def no_broker(monkeypatch):
    """The sweeps' after-commit queueing is replaced: each thread sends what it claimed."""
    monkeypatch.setattr(scheduling.reminders.dispatch, "_enqueue", lambda ids: None)


def test_concurrent_sweeps_claim_disjoint_rows_and_send_each_message_once(no_broker):
    all_ids = due_reminders(APPOINTMENTS, due_at=NOW - dt.timedelta(minutes=1))

    def sweep_and_send(_index: int) -> list[int]:
        mine: list[int] = []
        while claimed := dispatch_due(now=NOW, limit=4):
            mine += claimed
            for pk in claimed:
                assert reminder_send(reminder_id=pk, now=NOW) == ReminderState.SENT
        return mine

    claims = run_together(sweep_and_send, THREADS)
    flat = [pk for claim in claims for pk in claim]
    assert sorted(flat) == sorted(all_ids)  # every row claimed, none twice
    assert sum(1 for claim in claims if claim) >= 2, "the sweeps did not overlap"
    rows = Reminder.objects.filter(pk__in=all_ids)
    assert {(r.state, r.attempts) for r in rows} == {(ReminderState.SENT, 1)}
    assert len(mail.outbox) == APPOINTMENTS
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == APPOINTMENTS
    lines = sms_lines()
    assert len(lines) == APPOINTMENTS == len({line["key"] for line in lines})


def test_a_duplicated_send_task_sends_once(no_broker):
    [email_id, sms_id] = due_reminders(1, due_at=NOW - dt.timedelta(minutes=1))
    assert sorted(dispatch_due(now=NOW)) == [email_id, sms_id]
    outcomes = run_together(
        lambda index: reminder_send(reminder_id=(email_id, sms_id)[index % 2], now=NOW), 6
    )
    assert sorted(outcomes) == sorted(["sent", "sent"] + ["not_claimed"] * 4)
    assert len(mail.outbox) == 1 and len(sms_lines()) == 1


# --- A real worker on the real Redis ------------------------------------------------------------


@pytest.fixture
def worker_on_test_queue() -> Iterator[None]:
    assert_redis_broker()
    conf = celery_app.conf
    previous = {
        "task_default_queue": conf.task_default_queue,
        "worker_hijack_root_logger": conf.worker_hijack_root_logger,
        "task_always_eager": conf.task_always_eager,
    }
    conf.task_default_queue = TEST_QUEUE
    conf.worker_hijack_root_logger = False
    conf.task_always_eager = False

    def close_worker_thread_connections(**kwargs: object) -> None:
        # The app keeps a worker's connection between tasks (CELERY_DB_REUSE_MAX); this worker
        # is a thread, whose connection would outlive it and block dropping the test database.
        connections.close_all()

    task_postrun.connect(close_worker_thread_connections)
    try:
        with start_worker(
            celery_app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            queues=[TEST_QUEUE],
            hostname=WORKER_NAME,
            shutdown_timeout=30,
        ):
            yield
    finally:
        task_postrun.disconnect(close_worker_thread_connections)
        conf.update(previous)
        celery_app.amqp.queues = conf.task_queues


@pytest.mark.redis
def test_real_worker_on_redis_dispatches_and_sends_once(worker_on_test_queue, settings):
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0  # whatever the time now
    appointment = AppointmentFactory(
        start=timezone.now() + dt.timedelta(days=3),
        patient__consent_sms=True,
        patient__consent_sms_at=CONSENTED,
    )
    row = Reminder.objects.create(
        appointment=appointment,
        kind="consultation_24h",
        channel="sms",
        due_at=timezone.now() - dt.timedelta(minutes=1),
    )

    dispatch_reminders.delay()

    deadline = time.monotonic() + 30
    while (current := Reminder.objects.get(pk=row.pk)).state != ReminderState.SENT:
        if time.monotonic() > deadline:
            pytest.fail(f"the reminder was not sent within 30 s (state {current.state})")
        time.sleep(0.2)
    dispatch_reminders.delay()  # a second sweep finds nothing to send
    time.sleep(1)
    [line] = sms_lines()
    assert line["key"] == f"reminder-{row.pk}"
    assert current.provider_message_id == line["id"] and current.attempts == 1
