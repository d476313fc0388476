"""Batches (scheduling.reminders.dispatch): the rows one action planned for one patient with the
same `batch` go out as ONE message per channel, claimed together, sent once, recorded together;
a crash mid-send, a failure and recovery keep them together."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail

import scheduling.reminders.dispatch
from propel.sms import FileBackend, SmsTransientError
from scheduling.models import AppointmentStatus, Reminder, ReminderState
from scheduling.reminders.dispatch import dispatch_due, recover_stuck, reminder_send
from tests.clinic_time import LA, at
from tests.factories import AppointmentFactory
from tests.scheduling.reminder_support import batched_rows, consenting_patient, sms_lines

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday 08:00
STARTS = [at(dt.date(2027, 1, 5) + dt.timedelta(weeks=n), 10) for n in range(3)]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rows():
    return batched_rows(consenting_patient(first_name="Robin"), STARTS, due_at=NOW)


def states(rows) -> set[tuple[str, int]]:
    return {(r.state, r.attempts) for r in Reminder.objects.filter(pk__in=[r.pk for r in rows])}


def test_a_batch_is_claimed_whole_and_sent_as_one_message_per_channel(
    rows, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[list[int]] = []
    monkeypatch.setattr(scheduling.reminders.dispatch, "_enqueue", queued.append)
    lone = Reminder.objects.create(
        appointment=AppointmentFactory(start=at(dt.date(2027, 1, 8), 10)),
        kind="confirmation",
        channel="email",
        due_at=NOW,
    )
    with django_capture_on_commit_callbacks(execute=True):
        claimed = dispatch_due(now=NOW)
    assert sorted(claimed) == sorted([r.pk for r in rows] + [lone.pk])
    leads = {min(r.pk for r in rows if r.channel == c) for c in ("email", "sms")}
    # Only the lead of each batch and channel is queued: one task per message.
    assert [set(ids) for ids in queued] == [leads | {lone.pk}]
    for pk in claimed:
        reminder_send(reminder_id=pk, now=NOW)
    assert states(rows) == {(ReminderState.SENT, 1)}
    [batch_email] = [m for m in mail.outbox if m.to != [lone.appointment.patient.email]]
    assert len(mail.outbox) == 2
    [line] = sms_lines()
    assert line["key"] == f"reminder-batch-{rows[0].batch}-sms"
    email_rows = Reminder.objects.filter(batch=rows[0].batch, channel="email")
    assert {r.provider_message_id for r in email_rows} == {batch_email.extra_headers["Message-ID"]}
    assert batch_email.subject == "Your 3 appointments are booked, from Tue, Jan 5, 2027"
    for start in STARTS:
        local = start.astimezone(LA)
        assert (
            f"{local:%a}, {local:%b} {local.day}, 2027 at 10:00 a.m. (Pacific time)"
            in batch_email.body
        )
    assert line["body"].count("10:00 a.m. PT booked") == 3


def test_a_send_task_for_any_row_of_the_batch_sends_it_once(rows):
    claimed = dispatch_due(now=NOW)
    last = max(claimed)
    assert reminder_send(reminder_id=last, now=NOW) == ReminderState.SENT
    assert {reminder_send(reminder_id=pk, now=NOW) for pk in claimed} == {"not_claimed", "sent"}
    assert len(mail.outbox) == 1 and len(sms_lines()) == 1
    assert states(rows) == {(ReminderState.SENT, 1)}


def test_a_sweep_limit_never_splits_a_batch(rows):
    claimed = dispatch_due(now=NOW, limit=1)
    lead = min(r.pk for r in rows)
    assert sorted(claimed) == sorted(r.pk for r in rows if r.channel == rows[0].channel)
    assert lead in claimed
    assert sorted(dispatch_due(now=NOW, limit=1)) == sorted(
        r.pk for r in rows if r.channel != rows[0].channel
    )


def test_a_crash_mid_send_keeps_the_batch_together_and_sends_it_once(rows, monkeypatch):
    """The worker dies after the SMS provider accepted the batch's text, while recording the
    rows: nothing is recorded, recovery puts the whole batch back, and the re-send carries the
    same idempotency key, so the provider hands back the first message."""
    Reminder.objects.filter(pk__in=[r.pk for r in rows], channel="email").delete()
    claimed = dispatch_due(now=NOW)
    recorded = []

    def killed_after_one(reminder, **kwargs):
        if recorded:
            raise SystemExit("worker killed")
        recorded.append(reminder.pk)
        real_record(reminder, **kwargs)

    real_record = scheduling.reminders.dispatch.record_sent
    with monkeypatch.context() as patch:
        patch.setattr(scheduling.reminders.dispatch, "record_sent", killed_after_one)
        with pytest.raises(SystemExit):
            reminder_send(reminder_id=claimed[0], now=NOW)
    sms_rows = [r for r in rows if r.channel == "sms"]
    assert states(sms_rows) == {(ReminderState.SENDING, 1)}, "all or nothing"
    later = NOW + dt.timedelta(seconds=301)
    assert sorted(recover_stuck(now=later)) == sorted(r.pk for r in sms_rows)
    assert sorted(dispatch_due(now=later)) == sorted(r.pk for r in sms_rows)
    keys = []
    real_send = FileBackend.send

    def counting_send(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        return real_send(self, **kwargs)

    monkeypatch.setattr(FileBackend, "send", counting_send)
    assert reminder_send(reminder_id=sms_rows[-1].pk, now=later) == ReminderState.SENT
    assert keys == [f"reminder-batch-{rows[0].batch}-sms"]
    [line] = sms_lines()
    assert states(sms_rows) == {(ReminderState.SENT, 2)}
    assert {r.provider_message_id for r in Reminder.objects.filter(channel="sms")} == {line["id"]}


def test_a_transient_failure_retries_the_batch_together(rows, monkeypatch):
    Reminder.objects.filter(pk__in=[r.pk for r in rows], channel="email").delete()
    sms_rows = [r for r in rows if r.channel == "sms"]

    def down(self, **kwargs):
        raise SmsTransientError("provider 503")

    claimed = dispatch_due(now=NOW)
    with monkeypatch.context() as patch:
        patch.setattr(FileBackend, "send", down)
        assert reminder_send(reminder_id=claimed[0], now=NOW) == ReminderState.PENDING
    assert states(sms_rows) == {(ReminderState.PENDING, 1)}
    assert len({r.due_at for r in Reminder.objects.filter(channel="sms")}) == 1
    assert dispatch_due(now=NOW + dt.timedelta(seconds=30)) == []
    retry = NOW + dt.timedelta(minutes=1)
    claimed = dispatch_due(now=retry)
    assert sorted(claimed) == sorted(r.pk for r in sms_rows)
    assert reminder_send(reminder_id=claimed[0], now=retry) == ReminderState.SENT
    assert len(sms_lines()) == 1


def test_a_row_whose_visit_was_cancelled_is_skipped_and_the_rest_go_as_one(rows):
    Reminder.objects.filter(pk__in=[r.pk for r in rows], channel="sms").delete()
    claimed = dispatch_due(now=NOW)
    last = rows[-1].appointment
    type(last).objects.filter(pk=last.pk).update(status=AppointmentStatus.CANCELLED)
    assert reminder_send(reminder_id=claimed[0], now=NOW) == ReminderState.SENT
    assert Reminder.objects.get(appointment=last).state == ReminderState.SKIPPED
    [message] = mail.outbox
    assert message.subject == "Your 2 appointments are booked, from Tue, Jan 5, 2027"
    third = STARTS[2].astimezone(LA)
    assert f"{third:%B} {third.day}, 2027" not in message.body


def test_resending_a_failed_batch_puts_back_its_rows_on_that_channel_but_not_a_cancelled_visit(
    rows,
):
    from scheduling.reminder_requeue import reminder_requeue

    Reminder.objects.filter(pk__in=[r.pk for r in rows]).update(
        state=ReminderState.FAILED, attempts=5
    )
    emails = [r for r in rows if r.channel == "email"]
    cancelled = emails[-1].appointment
    cancelled.status = AppointmentStatus.CANCELLED
    cancelled.save(update_fields=["status"])

    assert reminder_requeue(reminder_id=emails[0].pk, now=NOW)

    by_pk = {r.pk: r for r in Reminder.objects.filter(pk__in=[r.pk for r in rows])}
    # The batch's email rows about visits still on go again (as one message: one claim).
    assert [by_pk[r.pk].state for r in emails] == ["pending", "pending", "failed"]
    # Its texts failed as another message: untouched until their own resend.
    assert {by_pk[r.pk].state for r in rows if r.channel == "sms"} == {"failed"}
    # A second click finds nothing failed to put back.
    assert not reminder_requeue(reminder_id=emails[0].pk, now=NOW)
