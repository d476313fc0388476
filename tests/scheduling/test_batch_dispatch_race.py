"""Batches on real PostgreSQL connections: sweeps racing over many batches claim each batch
whole, once, and every batch goes out as one message per channel; send tasks racing for rows of
one batch send it once; recovery leaves a batch alone while a worker holds one of its rows."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, transaction

import scheduling.reminders.dispatch
from scheduling.models import Reminder, ReminderState
from scheduling.reminders.dispatch import dispatch_due, recover_stuck, reminder_send
from tests.clinic_time import LA, at
from tests.scheduling.reminder_support import batched_rows, consenting_patient, sms_lines
from tests.threads import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.race]

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)
PATIENTS = 8
SESSIONS = 3
THREADS = 4


def starts(index: int) -> list[dt.datetime]:
    return [at(dt.date(2027, 1, 5) + dt.timedelta(weeks=n), 9 + index % 8) for n in range(SESSIONS)]


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr(scheduling.reminders.dispatch, "_enqueue", lambda ids: None)


def test_racing_sweeps_send_each_batch_once_per_channel(no_broker):
    batches = [
        batched_rows(consenting_patient(), starts(i), due_at=NOW - dt.timedelta(minutes=1))
        for i in range(PATIENTS)
    ]

    def sweep_and_send(_index: int) -> list[int]:
        mine: list[int] = []
        while claimed := dispatch_due(now=NOW, limit=2):
            mine += claimed
            for pk in claimed:
                reminder_send(reminder_id=pk, now=NOW)
        return mine

    claims = run_together(sweep_and_send, THREADS)
    flat = [pk for claim in claims for pk in claim]
    assert sorted(flat) == sorted(r.pk for rows in batches for r in rows), "each row claimed once"
    for claim in claims:
        # A sweep that claimed a row of a batch and channel claimed all of them.
        for rows in batches:
            for channel in ("email", "sms"):
                ids = {r.pk for r in rows if r.channel == channel}
                assert ids <= set(claim) or not ids & set(claim)
    assert set(Reminder.objects.values_list("state", "attempts")) == {(ReminderState.SENT, 1)}
    assert len(mail.outbox) == PATIENTS
    lines = sms_lines()
    assert len(lines) == PATIENTS == len({line["key"] for line in lines})


def test_send_tasks_racing_for_rows_of_one_batch_send_it_once(no_broker):
    rows = batched_rows(consenting_patient(), starts(0), due_at=NOW)
    claimed = dispatch_due(now=NOW)
    outcomes = run_together(lambda i: reminder_send(reminder_id=claimed[i], now=NOW), len(claimed))
    assert sorted(outcomes) == sorted(["sent", "sent"] + ["not_claimed"] * (len(rows) - 2))
    assert len(mail.outbox) == 1 and len(sms_lines()) == 1


def test_recovery_waits_for_the_whole_batch_to_be_free(no_broker):
    rows = batched_rows(consenting_patient(), starts(0), due_at=NOW, channels=("email",))
    dispatch_due(now=NOW)
    later = NOW + dt.timedelta(seconds=301)
    locked, release = threading.Event(), threading.Event()

    def live_worker(_index: int) -> None:
        with transaction.atomic():
            Reminder.objects.select_for_update().filter(pk=rows[1].pk).get()
            locked.set()
            release.wait(30)

    thread = threading.Thread(target=lambda: _closing(live_worker))
    thread.start()
    try:
        assert locked.wait(30)
        assert recover_stuck(now=later) == []
    finally:
        release.set()
        thread.join(30)
    assert set(Reminder.objects.values_list("state", flat=True)) == {ReminderState.SENDING}
    assert sorted(recover_stuck(now=later)) == sorted(r.pk for r in rows)
    assert set(Reminder.objects.values_list("state", flat=True)) == {ReminderState.PENDING}


def _closing(target) -> None:
    try:
        target(0)
    finally:
        connection.close()
