"""Reminder dispatch: claim, send once, record; crash recovery, back-off, staleness, opt-out,
quiet hours, and a broker that is down at booking time."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from celery.app.task import Task
from django.core import mail
from kombu.exceptions import OperationalError as BrokerDown

import scheduling.reminders.dispatch
from propel.sms import FileBackend, SmsTransientError
from scheduling.booking import appointment_book
from scheduling.models import AppointmentStatus, Reminder, ReminderState
from scheduling.reminders.dispatch import dispatch_due, recover_stuck, reminder_send
from scheduling.transitions import appointment_transition
from tests.clinic_time import LA, at
from tests.factories import SubmittedScreeningFactory
from tests.scheduling.reminder_support import consenting_patient, reminder_clinic, sms_lines

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday 08:00
FRIDAY = dt.date(2027, 1, 8)
DAY_BEFORE = at(dt.date(2027, 1, 7), 10)


@pytest.fixture
def clinic():
    with time_machine.travel(NOW, tick=False):
        yield reminder_clinic()


@pytest.fixture
def booked(clinic):
    patient = consenting_patient()
    return appointment_book(
        patient_id=patient.pk, appointment_type_id=clinic.consultation.pk, start=at(FRIDAY, 10)
    )


def sweep(capture, *, now):
    """One beat run at `now`: the queued sends run (eagerly) once the claim commits."""
    with time_machine.travel(now, tick=False), capture(execute=True):
        recover_stuck(now=now)
        return dispatch_due(now=now)


def state(reminder_id):
    return Reminder.objects.get(pk=reminder_id)


def test_due_rows_are_claimed_and_sent_once(booked, django_capture_on_commit_callbacks):
    claimed = sweep(django_capture_on_commit_callbacks, now=NOW)
    rows = Reminder.objects.filter(pk__in=claimed)
    assert {(r.kind, r.channel, r.state) for r in rows} == {
        ("confirmation", "email", ReminderState.SENT),
        ("confirmation", "sms", ReminderState.SENT),
    }
    email_row = rows.get(channel="email")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == email_row.provider_message_id
    assert email_row.provider_message_id.startswith(f"<reminder-{email_row.pk}@")
    [line] = sms_lines()
    assert line["key"] == f"reminder-{rows.get(channel='sms').pk}"
    assert rows.get(channel="sms").provider_message_id == line["id"]
    # Run again: nothing due, nothing sent; a duplicate task for a sent row does nothing.
    assert sweep(django_capture_on_commit_callbacks, now=NOW) == []
    assert reminder_send(reminder_id=email_row.pk, now=NOW) == "not_claimed"
    assert len(mail.outbox) == 1 and len(sms_lines()) == 1


def test_the_24h_reminder_goes_out_when_due_and_not_before(
    booked, django_capture_on_commit_callbacks
):
    sweep(django_capture_on_commit_callbacks, now=NOW)
    early = sweep(django_capture_on_commit_callbacks, now=DAY_BEFORE - dt.timedelta(minutes=1))
    # The paperwork reminder (72 h) and the nudge (48 h); the clinic asks for no paperwork here.
    assert sorted(early) == sorted(
        Reminder.objects.filter(kind__in=["paperwork_72h", "intake_nudge_48h"]).values_list(
            "pk", flat=True
        )
    )
    claimed = sweep(django_capture_on_commit_callbacks, now=DAY_BEFORE)
    assert {r.kind for r in Reminder.objects.filter(pk__in=claimed)} == {"consultation_24h"}
    assert set(Reminder.objects.exclude(kind="paperwork_72h").values_list("state", flat=True)) == {
        ReminderState.SENT
    }
    assert set(Reminder.objects.filter(kind="paperwork_72h").values_list("state", flat=True)) == {
        ReminderState.SKIPPED
    }
    assert len(mail.outbox) == 3 and len(sms_lines()) == 3


def test_no_send_after_cancel(booked, django_capture_on_commit_callbacks):
    appointment_transition(appointment_id=booked.pk, to_status=AppointmentStatus.CANCELLED)
    claimed = sweep(django_capture_on_commit_callbacks, now=DAY_BEFORE)
    # Only the notice of the cancellation itself (scheduling.notices), no reminder.
    assert {r.kind for r in Reminder.objects.filter(pk__in=claimed)} == {"cancelled_notice"}
    assert len(mail.outbox) == 1 and sms_lines() == []


def test_cancelled_while_claimed_is_skipped(booked):
    claimed = dispatch_due(now=NOW)
    appointment_transition(appointment_id=booked.pk, to_status=AppointmentStatus.CANCELLED)
    assert {reminder_send(reminder_id=pk, now=NOW) for pk in claimed} == {ReminderState.SKIPPED}
    assert mail.outbox == [] and sms_lines() == []


def test_crash_between_send_and_record_does_not_send_twice(booked, monkeypatch):
    """The worker dies after the SMS backend accepted the message, before the row says so. The
    sweep puts the row back after REMINDER_SEND_TIMEOUT_SECONDS; the re-send carries the same
    idempotency key, so the backend hands back the first message instead of sending another."""
    Reminder.objects.exclude(kind="confirmation", channel="sms").delete()
    [row_id] = dispatch_due(now=NOW)
    keys_seen = []
    real_send = FileBackend.send

    def counting_send(self, **kwargs):
        keys_seen.append(kwargs["idempotency_key"])
        return real_send(self, **kwargs)

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(FileBackend, "send", counting_send)
    with monkeypatch.context() as patch:
        patch.setattr(scheduling.reminders.dispatch, "record_sent", killed)
        with pytest.raises(SystemExit):
            reminder_send(reminder_id=row_id, now=NOW)
    assert state(row_id).state == ReminderState.SENDING
    assert len(sms_lines()) == 1

    assert recover_stuck(now=NOW + dt.timedelta(seconds=60)) == []  # not yet: maybe still busy
    later = NOW + dt.timedelta(seconds=301)
    assert recover_stuck(now=later) == [row_id]
    assert dispatch_due(now=later) == [row_id]
    assert reminder_send(reminder_id=row_id, now=later) == ReminderState.SENT

    assert keys_seen == [f"reminder-{row_id}"] * 2
    [line] = sms_lines()
    row = state(row_id)
    assert (row.state, row.attempts, row.provider_message_id) == (ReminderState.SENT, 2, line["id"])


def test_transient_errors_back_off_then_fail(booked, monkeypatch):
    Reminder.objects.exclude(kind="confirmation", channel="sms").delete()

    def provider_down(self, **kwargs):
        raise SmsTransientError("SMS provider answered 503")

    monkeypatch.setattr(FileBackend, "send", provider_down)
    moment = NOW
    waits = []
    for attempt in range(1, 6):
        [row_id] = dispatch_due(now=moment)
        outcome = reminder_send(reminder_id=row_id, now=moment)
        row = state(row_id)
        assert row.attempts == attempt
        if attempt < 5:
            assert outcome == ReminderState.PENDING
            waits.append(row.due_at - moment)
            assert dispatch_due(now=row.due_at - dt.timedelta(seconds=1)) == []
            moment = row.due_at
    assert waits == [dt.timedelta(minutes=m) for m in (1, 5, 15, 60)]
    assert outcome == ReminderState.FAILED
    assert row.state == ReminderState.FAILED
    assert "503" in row.last_error
    assert dispatch_due(now=moment + dt.timedelta(days=1)) == []


def test_permanent_errors_fail_at_once_and_are_raised(booked, monkeypatch):
    Reminder.objects.exclude(kind="confirmation", channel="email").delete()

    def broken(reminder, **kwargs):
        raise ValueError("template missing")

    import scheduling.reminders.messages

    monkeypatch.setattr(scheduling.reminders.messages, "render_reminder", broken)
    [row_id] = dispatch_due(now=NOW)
    with pytest.raises(ValueError, match="template missing"):
        reminder_send(reminder_id=row_id, now=NOW)
    row = state(row_id)
    assert (row.state, row.attempts) == (ReminderState.FAILED, 1)
    assert "template missing" in row.last_error


def test_reminders_gone_stale_while_down_are_skipped_and_logged(booked, caplog):
    Reminder.objects.update(state=ReminderState.SENT)
    Reminder.objects.filter(kind="consultation_24h").update(state=ReminderState.PENDING)
    after_start = at(FRIDAY, 10, 5)  # the system was down from Thursday to Friday 10:05
    claimed = dispatch_due(now=after_start)
    with caplog.at_level(logging.INFO, logger="scheduling.reminders.dispatch"):
        outcomes = {reminder_send(reminder_id=pk, now=after_start) for pk in claimed}
    assert outcomes == {ReminderState.SKIPPED}
    assert set(Reminder.objects.filter(pk__in=claimed).values_list("last_error", flat=True)) == {
        "appointment already started"
    }
    assert "skipped: appointment already started" in caplog.text
    assert mail.outbox == [] and sms_lines() == []


def test_opt_out_at_send_time_is_honoured_per_channel(booked):
    patient = booked.patient
    patient.consent_sms = False
    patient.save()
    claimed = dispatch_due(now=DAY_BEFORE)
    outcomes = {
        state(pk).channel: reminder_send(reminder_id=pk, now=DAY_BEFORE)
        for pk in claimed
        if state(pk).kind == "consultation_24h"
    }
    assert outcomes == {"email": ReminderState.SENT, "sms": ReminderState.SKIPPED}
    assert Reminder.objects.get(kind="consultation_24h", channel="sms").last_error == (
        "patient opted out of text messages"
    )


def test_nudge_skipped_when_the_questionnaire_was_sent_meanwhile(booked):
    SubmittedScreeningFactory(patient=booked.patient)
    Reminder.objects.exclude(kind="intake_nudge_48h").delete()
    nudge_time = at(dt.date(2027, 1, 6), 10)
    claimed = dispatch_due(now=nudge_time)
    assert {reminder_send(reminder_id=pk, now=nudge_time) for pk in claimed} == {
        ReminderState.SKIPPED
    }


def test_an_sms_reached_in_quiet_hours_waits_until_8am(booked):
    Reminder.objects.exclude(kind="consultation_24h", channel="sms").delete()
    Reminder.objects.update(due_at=at(dt.date(2027, 1, 6), 20, 30))
    late = at(dt.date(2027, 1, 6), 22, 0)  # the sweep only got to it at 22:00
    [row_id] = dispatch_due(now=late)
    assert reminder_send(reminder_id=row_id, now=late) == ReminderState.PENDING
    row = state(row_id)
    assert (row.due_at, row.attempts) == (at(dt.date(2027, 1, 7), 8), 0)
    assert sms_lines() == []


def test_redis_down_at_booking_still_books_and_the_reminder_goes_out_once_it_is_back(
    clinic, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(self, *args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    patient = consenting_patient()
    with monkeypatch.context() as patch:
        patch.setattr(Task, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            appointment = appointment_book(
                patient_id=patient.pk,
                appointment_type_id=clinic.consultation.pk,
                start=at(FRIDAY, 10),
            )
        assert Reminder.objects.filter(appointment=appointment).count() == 8
        # Still down at the first sweep: the claim commits, queueing the sends fails (logged).
        with caplog.at_level(logging.ERROR, logger="scheduling.reminders.dispatch"):
            claimed = sweep(django_capture_on_commit_callbacks, now=NOW)
        assert len(claimed) == 2
        assert "could not queue the send" in caplog.text
        assert {state(pk).state for pk in claimed} == {ReminderState.SENDING}
    # Redis is back. The next sweeps after the send timeout put the rows back and send them once.
    sweep(django_capture_on_commit_callbacks, now=NOW + dt.timedelta(minutes=1))
    assert mail.outbox == []
    sweep(django_capture_on_commit_callbacks, now=NOW + dt.timedelta(minutes=6))
    assert {state(pk).state for pk in claimed} == {ReminderState.SENT}
    sweep(django_capture_on_commit_callbacks, now=NOW + dt.timedelta(minutes=12))
    assert len(mail.outbox) == 1 and len(sms_lines()) == 1


def test_beat_runs_the_sweep_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-reminders"]
    assert entry == {"task": "scheduling.tasks.dispatch_reminders", "schedule": 60.0}
