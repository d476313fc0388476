"""A Celery worker killed in the middle of sending reminders: nothing is lost and nothing is sent
twice, and /healthz calls the worker down once its heartbeat is stale.

The kill lands in the worst window: the SMS provider has accepted a text (tests/faults/
slow_backends.py pauses after propel.sms.FileBackend wrote it) and the worker dies before the
transaction that records it commits. The row stays `sending`; the stuck-row sweep sends it again
with the same idempotency key, and the provider (FileBackend de-duplicates by key, as an HTTP
provider honouring Idempotency-Key does) delivers it once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db.models import F
from django.utils import timezone

from propel.models import WorkerHeartbeat
from scheduling.models import Reminder, ReminderChannel, ReminderKind, ReminderState
from scheduling.reminder_plan import reminders_replan
from scheduling.reminders.dispatch import email_message_id, idempotency_key
from tests.factories import AppointmentFactory, AppointmentTypeFactory
from tests.faults.harness import (
    HEARTBEAT_MAX_AGE_SECONDS,
    SEND_TIMEOUT_SECONDS,
    Client,
    email_message_ids,
    send_task,
    sms_lines,
    wait_for,
)
from tests.scheduling.reminder_support import consenting_patient

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SLOW = {
    "EMAIL_BACKEND": "tests.faults.slow_backends.SlowEmailBackend",
    "SMS_BACKEND": "tests.faults.slow_backends.SlowSmsBackend",
}
DISPATCH = "scheduling.tasks.dispatch_reminders"
SEND = "scheduling.tasks.send_reminder"
APPOINTMENTS = 3


@pytest.fixture
def due_confirmations(settings) -> list[Reminder]:
    """Three booked consultations whose confirmations (email and SMS each) are due now."""
    # As in the app processes (tests/faults/harness.app_env): texts are never held for quiet hours.
    settings.SMS_QUIET_HOURS_START = settings.SMS_QUIET_HOURS_END = 0
    consultation = AppointmentTypeFactory()
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    for number in range(APPOINTMENTS):
        patient = consenting_patient(email=True, sms=True, mobile="+19165550144")
        appointment = AppointmentFactory(
            patient=patient,
            appointment_type=consultation,
            start=start + dt.timedelta(hours=number),
        )
        reminders_replan(appointment_id=appointment.pk, confirmation=True)
    rows = list(Reminder.objects.filter(kind=ReminderKind.CONFIRMATION).order_by("pk"))
    assert len(rows) == 2 * APPOINTMENTS
    return rows


def health(web) -> tuple[int, dict]:
    answer = Client(web.base_url).get("/healthz")
    return answer.status, answer.json()


def queued(redis_server) -> int:
    """Messages waiting in the Celery queues (not those a worker has taken)."""
    client = redis_server.client()
    return sum(client.llen(key) for key in client.keys("celery*") if client.type(key) == b"list")


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    web, redis_server, start_worker, var_dir, due_confirmations
):
    doomed = start_worker("doomed", FAULTS_SEND_DELAY_SECONDS=1, **SLOW)
    send_task(redis_server.url(), "propel.tasks.heartbeat")
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(worker=doomed.node).exists(),
        timeout=20,
        what="the first worker's heartbeat",
        logs=doomed.log,
    )
    assert health(web)[0] == 200

    send_task(redis_server.url(), DISPATCH)
    inflight = var_dir / "inflight"
    accepted = wait_for(
        lambda: sorted(inflight.glob("sms-accepted-*")),
        timeout=30,
        what="a text to be accepted by the provider",
        logs=doomed.log,
    )
    doomed.kill()  # SIGKILL to the worker's whole process group, pool child included

    killed_key = accepted[0].name.removeprefix("sms-accepted-")
    killed = Reminder.objects.get(pk=int(killed_key.removeprefix("reminder-")))
    assert killed.channel == ReminderChannel.SMS
    assert killed.state == ReminderState.SENDING, "the kill came before the send was recorded"
    first_delivery = [line for line in sms_lines(var_dir) if line["key"] == killed_key]
    assert len(first_delivery) == 1, "the provider had accepted it"

    # No heartbeat since the kill. Aged past WORKER_HEARTBEAT_MAX_AGE_SECONDS instead of waiting.
    WorkerHeartbeat.objects.update(
        seen_at=F("seen_at") - dt.timedelta(seconds=HEARTBEAT_MAX_AGE_SECONDS + 1)
    )
    status, body = health(web)
    assert status == 503
    assert body["worker"] == {
        "status": "fail",
        "reason": "last heartbeat too old",
        "age_seconds": body["worker"]["age_seconds"],
        "max_age_seconds": HEARTBEAT_MAX_AGE_SECONDS,
    }
    assert (body["database"]["status"], body["broker"]["status"]) == ("ok", "ok")

    survivor = start_worker("survivor", FAULTS_SEND_DELAY_SECONDS=0.3, **SLOW)
    # The sends still queued are the survivor's. The one the dead worker had taken is gone with it
    # (the broker would hand it out again only after its hour-long visibility timeout).
    wait_for(
        lambda: queued(redis_server) == 0 and survivor.idle(SEND),
        timeout=30,
        what="the survivor to send what was queued",
        logs=survivor.log,
    )
    due = Reminder.objects.filter(pk__in=[row.pk for row in due_confirmations])
    stuck = set(due.filter(state=ReminderState.SENDING).values_list("pk", flat=True))
    assert killed.pk in stuck
    assert set(due.exclude(pk__in=stuck).values_list("state", flat=True)) == {ReminderState.SENT}

    # The stuck-row sweep treats a claim older than REMINDER_SEND_TIMEOUT_SECONDS as a dead
    # worker's. The beat task passes no `now`, so the claims are aged here: what waiting would do.
    Reminder.objects.filter(state=ReminderState.SENDING).update(
        claimed_at=F("claimed_at") - dt.timedelta(seconds=SEND_TIMEOUT_SECONDS + 1)
    )
    send_task(redis_server.url(), DISPATCH)
    wait_for(
        lambda: not due.exclude(state=ReminderState.SENT).exists(),
        timeout=30,
        what="every reminder to be sent",
        logs=survivor.log,
    )

    killed.refresh_from_db()
    assert killed.attempts == 2
    # Sent again with the same key: the provider answered with the first message's id.
    assert killed.provider_message_id == first_delivery[0]["id"]
    texts = Counter(line["key"] for line in sms_lines(var_dir))
    emails = email_message_ids(var_dir)
    for row in due_confirmations:
        if row.channel == ReminderChannel.SMS:
            assert texts[idempotency_key(row)] == 1, texts
        else:
            assert emails[email_message_id(row)] == 1, emails
    assert sum(texts.values()) == sum(emails.values()) == APPOINTMENTS

    send_task(redis_server.url(), "propel.tasks.heartbeat")
    wait_for(lambda: health(web)[0] == 200, timeout=20, what="/healthz to see the new worker")
