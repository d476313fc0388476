"""Redis stopped while patients book: asking for a booking, confirming it and cancelling still
work, /healthz names the broker, and once Redis is back every message the outage held up (the
emails with the confirmation links, the confirmations, the notice) goes out exactly once.

The real app: gunicorn on pytest-django's test database and a private Redis (tests/faults/
conftest.py), a Celery worker started after Redis returns, the beat task queued by name.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db.models import F
from django.utils import timezone

from propel.health import heartbeat_record
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
)
from scheduling.reminders.dispatch import email_message_id, idempotency_key
from tests.factories import AppointmentTypeFactory, ClinicianFactory, RoomFactory, open_weekdays
from tests.faults.flows import (
    PAGE_SECONDS,
    cancel_online,
    confirm_link,
    confirm_online,
    request_online,
)
from tests.faults.harness import (
    SEND_TIMEOUT_SECONDS,
    Client,
    email_message_ids,
    email_subjects,
    manage,
    send_task,
    sms_lines,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SWEEP = "from scheduling.tasks import dispatch_reminders; dispatch_reminders()"
DISPATCH = "scheduling.tasks.dispatch_reminders"


def failing(health: dict) -> set[str]:
    return {name for name in ("database", "broker", "worker") if health[name]["status"] != "ok"}


def age_claims() -> None:
    """The claims were made during the outage. The sweep treats a claim older than
    REMINDER_SEND_TIMEOUT_SECONDS as a lost send; the beat task passes no `now`, so the claims are
    aged here, which is exactly what waiting out the timeout would do."""
    Reminder.objects.filter(state=ReminderState.SENDING).update(
        claimed_at=F("claimed_at") - dt.timedelta(seconds=SEND_TIMEOUT_SECONDS + 1)
    )


def reminders(appointment_id: int) -> dict[tuple[str, str], Reminder]:
    return {
        (row.kind, row.channel): row
        for row in Reminder.objects.filter(appointment_id=appointment_id)
    }


def test_patients_book_and_cancel_while_redis_is_down_and_each_message_goes_once_after(
    web, redis_server, start_worker, worker_env, var_dir
):
    open_weekdays()
    AppointmentTypeFactory()
    RoomFactory(name="Consult A")
    ClinicianFactory(display_name="Dr Example")
    heartbeat_record(worker="faults@before", now=timezone.now())
    probe = Client(web.base_url)
    assert probe.get("/healthz").status == 200

    redis_server.stop()

    health = probe.get("/healthz")
    assert health.status == 503
    assert health.elapsed < PAGE_SECONDS
    assert failing(health.json()) == {"broker"}, health.text
    assert health.json()["broker"]["reason"].startswith("unreachable")

    # Two patients ask for a booking through the real pages. Every page answers at once (rate
    # limits are counted in the Redis cache, which is down: allowed). Each confirmation-link email
    # is an outbox row: held up, not lost.
    not_before = timezone.now() + dt.timedelta(hours=26)  # well clear of the change cut-off
    ana, ben = Client(web.base_url), Client(web.base_url)
    ana_start, _ = request_online(
        ana, first_name="Ana", email="ana@example.test", not_before=not_before
    )
    ben_start, _ = request_online(
        ben, first_name="Ben", email="ben@example.test", not_before=not_before
    )
    asked = list(Reminder.objects.filter(kind=ReminderKind.BOOKING_REQUEST))
    assert len(asked) == 2 and {row.state for row in asked} == {ReminderState.PENDING}
    swept = manage("shell", "-c", SWEEP, env=worker_env())
    assert "could not queue the send" in swept.stderr

    # Redis comes back for a while: the two emails go out, once each.
    redis_server.start()
    mailer = start_worker("mailer")
    age_claims()
    send_task(redis_server.url(), DISPATCH)
    wait_for(
        lambda: all(Reminder.objects.get(pk=row.pk).state == ReminderState.SENT for row in asked),
        timeout=30,
        what="the confirmation-link emails",
        logs=mailer.log,
    )
    mailer.kill()
    links = {
        email: confirm_link(var_dir, email) for email in ("ana@example.test", "ben@example.test")
    }

    # Down again: both confirm from their email; the second cancels from her own page.
    redis_server.stop()
    kept = confirm_online(ana, links["ana@example.test"], ana_start)
    gone = confirm_online(ben, links["ben@example.test"], ben_start)
    cancel_online(ben, gone)

    assert Appointment.objects.get(pk=kept.appointment_id).status == AppointmentStatus.BOOKED
    assert Appointment.objects.get(pk=gone.appointment_id).status == AppointmentStatus.CANCELLED
    kept_rows, gone_rows = reminders(kept.appointment_id), reminders(gone.appointment_id)
    confirmation_email = kept_rows[ReminderKind.CONFIRMATION, ReminderChannel.EMAIL]
    confirmation_sms = kept_rows[ReminderKind.CONFIRMATION, ReminderChannel.SMS]
    notice = gone_rows[ReminderKind.CANCELLED_NOTICE, ReminderChannel.EMAIL]
    due = [confirmation_email, confirmation_sms, notice]
    assert all(row.state == ReminderState.PENDING for row in due)
    # Her booking confirmation had not gone out yet: the cancellation notice replaces it.
    assert gone_rows[ReminderKind.CONFIRMATION, ReminderChannel.EMAIL].state == "cancelled"

    # The beat sweep runs during the outage (in an app process of its own): it claims the due
    # rows, cannot queue their sends, logs that, and does not hang.
    started = time.monotonic()
    swept = manage("shell", "-c", SWEEP, env=worker_env())
    assert time.monotonic() - started < 20
    assert "could not queue the send" in swept.stderr
    assert set(
        Reminder.objects.filter(state=ReminderState.SENDING).values_list("pk", flat=True)
    ) == {row.pk for row in due}

    redis_server.start()
    worker = start_worker("catch-up")
    send_task(redis_server.url(), "propel.tasks.heartbeat")
    wait_for(lambda: probe.get("/healthz").status == 200, timeout=20, what="/healthz to recover")

    age_claims()
    send_task(redis_server.url(), DISPATCH)
    wait_for(
        lambda: all(Reminder.objects.get(pk=row.pk).state == ReminderState.SENT for row in due),
        timeout=30,
        what="the held-up messages to be sent",
        logs=worker.log,
    )
    # Another sweep finds nothing more to send.
    send_task(redis_server.url(), DISPATCH)
    wait_for(lambda: worker.succeeded(DISPATCH) == 2, timeout=20, what="the second sweep")
    assert worker.succeeded("scheduling.tasks.send_reminder") == len(due)

    assert email_message_ids(var_dir) == {
        email_message_id(asked[0]): 1,
        email_message_id(asked[1]): 1,
        email_message_id(confirmation_email): 1,
        email_message_id(notice): 1,
    }
    assert [line["key"] for line in sms_lines(var_dir)] == [idempotency_key(confirmation_sms)]
    subjects = email_subjects(var_dir)
    assert any(subject.startswith("Your appointment on") for subject in subjects), subjects
    assert any(subject.endswith("is cancelled") for subject in subjects), subjects
