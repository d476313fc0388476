"""The one call the lifecycle and the booking service make when a visit's time is freed (a
cancellation, a deferral, a move): after commit, a task offers the time to the waitlist
(scheduling.waitlist.tasks.slot_freed). By name: services never import tasks."""

from __future__ import annotations

import datetime as dt

from propel.tasks_queue import enqueue_on_commit
from scheduling.models import Appointment

SLOT_FREED_TASK = "scheduling.waitlist.tasks.slot_freed"


def slot_freed_on_commit(appointment: Appointment, *, start: dt.datetime | None = None) -> None:
    """Queue the waitlist offer of the time `appointment` held (its `start` before a move)."""
    start = start or appointment.start
    enqueue_on_commit(
        SLOT_FREED_TASK,
        appointment.appointment_type_id,
        int(start.timestamp()),
        appointment.room_id,
        appointment.clinician_id or 0,
    )
