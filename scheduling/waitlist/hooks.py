"""The one call the lifecycle and the booking service make when a visit's time is freed (a
cancellation, a deferral, a move), inside their transaction: a FreedSlot row records the time
(so a broker outage cannot lose it), and after commit a task offers it to the waitlist at once
(scheduling.waitlist.tasks.freed_slot_offer). The beat sweep offers any row that task missed.
By name: services never import tasks."""

from __future__ import annotations

import datetime as dt

from propel.tasks_queue import enqueue_on_commit
from scheduling.models import Appointment, FreedSlot

FREED_SLOT_TASK = "scheduling.waitlist.tasks.freed_slot_offer"


def slot_freed_on_commit(appointment: Appointment, *, start: dt.datetime | None = None) -> None:
    """Record the time `appointment` held (its `start` before a move) and queue its offer."""
    freed = FreedSlot.objects.create(
        appointment_type_id=appointment.appointment_type_id,
        start=start or appointment.start,
        room_id=appointment.room_id,
        clinician_id=appointment.clinician_id,
    )
    enqueue_on_commit(FREED_SLOT_TASK, freed.pk)
