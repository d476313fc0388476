"""Redis down when a visit is cancelled: the cancellation still commits with the freed time
recorded (scheduling.models.FreedSlot); its offer task never reaches the broker. Once Redis is
back, two workers each run the beat sweep at the same moment: the waiting patient is offered the
time exactly once.

The real app: the cancellation in a `manage.py shell` on the test database and the private Redis
(tests/faults/conftest.py), Celery workers started after Redis returns, the beat task queued by
name."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scheduling.models import FreedSlot, Reminder, ReminderKind, WaitlistInvite, WaitlistOffer
from scheduling.waitlist.services import entry_add
from tests.clinic_time import at
from tests.factories import PatientFactory, consult_clinic, consultation_at
from tests.faults.harness import manage, send_task, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SWEEP = "scheduling.waitlist.tasks.freed_slots_sweep"
OFFER = "scheduling.waitlist.tasks.freed_slot_offer"


def next_weekday_afternoon() -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=3)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return at(day, 15)


def test_a_slot_freed_while_redis_is_down_is_offered_once_by_the_sweep_of_two_workers(
    redis_server, start_worker, worker_env
):
    clinic = consult_clinic()
    waiting = PatientFactory()
    entry_add(patient_id=waiting.pk, appointment_type=clinic.consultation)
    visit = consultation_at(clinic, next_weekday_afternoon(), patient=PatientFactory())

    redis_server.stop()
    cancel = (
        "from scheduling.transitions import appointment_transition; "
        f"appointment_transition(appointment_id={visit.pk}, to_status='cancelled')"
    )
    cancelled = manage("shell", "-c", cancel, env=worker_env())
    assert f"could not queue {OFFER}" in cancelled.stderr
    freed = FreedSlot.objects.get()
    assert freed.processed_at is None and freed.start == visit.start
    assert not WaitlistOffer.objects.exists()

    redis_server.start()
    workers = [start_worker("sweeper1"), start_worker("sweeper2")]
    send_task(redis_server.url(), SWEEP)
    send_task(redis_server.url(), SWEEP)
    wait_for(
        lambda: (
            sum(worker.succeeded(SWEEP) for worker in workers) == 2
            and FreedSlot.objects.get().processed_at is not None
        ),
        timeout=30,
        what="both sweeps",
        logs=workers[0].log,
    )
    assert WaitlistOffer.objects.get().start == visit.start
    assert WaitlistInvite.objects.get().entry.patient == waiting
    assert Reminder.objects.filter(patient=waiting, kind=ReminderKind.WAITLIST_OFFER).count() == 1
