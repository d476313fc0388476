"""The drain in chunks (scheduling.reminders.dispatch): a sweep claims due messages in chunks of
at most REMINDER_CHUNK_SIZE, a batch never split; one task sends a chunk and a full chunk claims
the next, so a backlog drains at once; a worker killed mid-chunk sends nothing twice; a chunk's
queries do not grow with its size beyond one lock and one record per message."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

import scheduling.reminders.dispatch
from propel.sms import FileBackend
from scheduling.models import Reminder, ReminderState
from scheduling.reminders.dispatch import (
    claim_chunk,
    dispatch_due,
    recover_stuck,
    reminders_send,
)
from scheduling.tasks import send_reminder, send_reminders
from tests.clinic_time import LA, at
from tests.eager import eager_tasks, run_when_queued
from tests.factories import AppointmentFactory
from tests.scheduling.reminder_support import batched_rows, consenting_patient, sms_lines

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday 08:00


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def lone_rows(count: int, *, channel: str = "email") -> list[int]:
    """`count` due confirmations, each its own message, each for its own appointment."""
    ids = []
    for number in range(count):
        appointment = AppointmentFactory(
            patient=consenting_patient(),
            start=at(dt.date(2027, 1, 8), 9) + dt.timedelta(minutes=15 * number),
        )
        row = Reminder.objects.create(
            appointment=appointment, kind="confirmation", channel=channel, due_at=NOW
        )
        ids.append(row.pk)
    return ids


def test_a_chunk_claims_at_most_n_messages_in_due_order(settings):
    ids = lone_rows(7)
    leads, claimed = claim_chunk(now=NOW, size=3)
    assert leads == claimed == ids[:3]
    assert Reminder.objects.filter(state=ReminderState.SENDING).count() == 3
    settings.REMINDER_CHUNK_SIZE = 3
    assert dispatch_due(now=NOW) == ids[3:]
    assert set(Reminder.objects.values_list("state", flat=True)) == {ReminderState.SENDING}


def test_the_sweep_queues_one_task_per_chunk_of_at_most_n(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.REMINDER_CHUNK_SIZE = 10
    ids = lone_rows(23)
    queued: list[list[int]] = []
    monkeypatch.setattr(scheduling.reminders.dispatch, "_enqueue", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(now=NOW) == ids
    assert queued == [ids[:10], ids[10:20], ids[20:]]


def test_a_batch_is_never_split_across_chunks(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.REMINDER_CHUNK_SIZE = 2
    first = lone_rows(1)
    starts = [at(dt.date(2027, 1, 5) + dt.timedelta(weeks=n), 10) for n in range(3)]
    batch = batched_rows(consenting_patient(), starts, due_at=NOW)
    last = lone_rows(2)
    queued: list[list[int]] = []
    monkeypatch.setattr(scheduling.reminders.dispatch, "_enqueue", queued.append)
    chunks = []
    with django_capture_on_commit_callbacks(execute=True):
        while True:
            _leads, ids = claim_chunk(now=NOW, size=2)
            if not ids:
                break
            chunks.append(set(ids))
    assert sum(len(chunk) for chunk in chunks) == 1 + len(batch) + 2
    for channel in ("email", "sms"):
        rows = {r.pk for r in batch if r.channel == channel}
        assert [chunk for chunk in chunks if chunk & rows] == [
            chunk for chunk in chunks if rows <= chunk
        ], "a batch's rows on one channel in one chunk"
    assert all(len(leads) <= 2 for leads in queued)
    assert first[0] in chunks[0] and set(last) <= set().union(*chunks)


def test_a_backlog_larger_than_a_chunk_drains_in_one_sweep(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    """No minute's wait per chunk: each full chunk's task claims the next one itself, and no more
    than REMINDER_IN_FLIGHT_MAX rows are ever claimed and unsent at once."""
    settings.REMINDER_CHUNK_SIZE = 10
    settings.REMINDER_IN_FLIGHT_MAX = 10
    ids = lone_rows(35)
    chunks = run_when_queued(monkeypatch, send_reminders)
    singles = run_when_queued(monkeypatch, send_reminder)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(now=NOW) == ids[:10]
    assert [len(args[0]) for args in chunks] == [10, 10, 10]
    assert [args[0] for args in singles] == ids[30:]  # the short last chunk: one task each
    rows = Reminder.objects.filter(pk__in=ids)
    assert {(r.state, r.attempts) for r in rows} == {(ReminderState.SENT, 1)}
    assert len(mail.outbox) == 35
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 35


def test_the_sweep_claims_only_up_to_the_in_flight_cap(settings):
    settings.REMINDER_CHUNK_SIZE = 4
    settings.REMINDER_IN_FLIGHT_MAX = 6
    ids = lone_rows(9)
    Reminder.objects.filter(pk=ids[-1]).update(state=ReminderState.SENDING)  # another's claim
    assert dispatch_due(now=NOW) == ids[:5]
    assert dispatch_due(now=NOW) == []  # six in flight: nothing more until some are done


def test_a_worker_killed_mid_chunk_sends_nothing_twice(monkeypatch):
    """The worker dies after the provider accepted the third text of a chunk of five, before
    recording it: the first two were recorded as they went and are not sent again; the third is
    re-sent with the same key (the provider hands back the first message); the last two go
    once."""
    ids = lone_rows(5, channel="sms")
    claimed = dispatch_due(now=NOW)
    assert claimed == ids
    keys: list[str] = []
    real_send = FileBackend.send

    def counting_send(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        return real_send(self, **kwargs)

    def killed_on_third(reminder, **kwargs):
        if reminder.pk == ids[2]:
            raise SystemExit("worker killed")
        real_record(reminder, **kwargs)

    real_record = scheduling.reminders.dispatch.record_sent
    monkeypatch.setattr(FileBackend, "send", counting_send)
    with monkeypatch.context() as patch:
        patch.setattr(scheduling.reminders.dispatch, "record_sent", killed_on_third)
        with pytest.raises(SystemExit):
            reminders_send(reminder_ids=claimed, now=NOW)
    states = dict(Reminder.objects.values_list("pk", "state"))
    assert [states[pk] for pk in ids] == ["sent", "sent", "sending", "sending", "sending"]

    later = NOW + dt.timedelta(seconds=301)
    assert recover_stuck(now=later) == ids[2:]
    assert dispatch_due(now=later) == ids[2:]
    assert reminders_send(reminder_ids=ids[2:], now=later) == dict.fromkeys(ids[2:], "sent")

    assert keys == [f"reminder-{pk}" for pk in ids[:3] + ids[2:]]
    lines = sms_lines()
    assert sorted(line["key"] for line in lines) == sorted(f"reminder-{pk}" for pk in ids)
    rows = {r.pk: r for r in Reminder.objects.all()}
    # The two never reached were claimed again with the one in flight: recovery cannot tell.
    assert [rows[pk].attempts for pk in ids] == [1, 1, 2, 2, 2]
    assert {r.state for r in rows.values()} == {ReminderState.SENT}


def test_a_chunk_out_of_time_puts_the_rest_back_unsent(settings):
    ids = lone_rows(3)
    dispatch_due(now=NOW)
    settings.REMINDER_SEND_TIMEOUT_SECONDS = 0  # no time at all: nothing is taken
    assert reminders_send(reminder_ids=ids, now=NOW) == dict.fromkeys(ids, "pending")
    rows = Reminder.objects.filter(pk__in=ids)
    assert {(r.state, r.attempts, r.due_at) for r in rows} == {(ReminderState.PENDING, 0, NOW)}
    assert mail.outbox == []


def chunk_queries(count: int) -> int:
    ids = lone_rows(count)
    claimed = dispatch_due(now=NOW)
    with CaptureQueriesContext(connection) as queries:
        outcomes = reminders_send(reminder_ids=claimed, now=NOW)
    assert set(outcomes.values()) == {ReminderState.SENT} and len(outcomes) == len(ids)
    # Each message's transaction is a savepoint inside the test's: BEGIN and COMMIT in a worker.
    return sum(1 for q in queries.captured_queries if "SAVEPOINT" not in q["sql"])


def test_a_chunk_costs_its_bulk_reads_plus_a_lock_and_a_record_per_message():
    """Per chunk: the leads' keys, the patients' questionnaire states, the lock timeout set and
    reset. Per message only its lock (which re-reads it) and its record: nothing is looked up
    per message any more (questionnaire state, batch key, SET LOCAL)."""
    four = chunk_queries(4)
    Reminder.objects.all().delete()
    eight = chunk_queries(8)
    assert eight - four == 2 * 4
    assert four == 4 + 2 * 4
