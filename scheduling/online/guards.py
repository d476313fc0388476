"""What the online services and pages share: refusals written for patients (SchedulingError with
the clinic's phone), whether a patient may still change an appointment online, the booking window
check, and serialising requests that repeat an idempotency key."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import connection

from scheduling.errors import SchedulingError
from scheduling.models import Appointment
from scheduling.online.rules import change_refusal, current_window, window_refusal
from scheduling.slots import clinic_tz


def refuse(code: str, **params: object) -> SchedulingError:
    return SchedulingError(code, phone=settings.CLINIC_PHONE, **params)


def change_cutoff_hours() -> int:
    """ONLINE_CHANGE_CUTOFF in whole hours, as the refusals and the patient's page state it."""
    return int(settings.ONLINE_CHANGE_CUTOFF.total_seconds() // 3600)


def change_refused(appointment: Appointment, now: dt.datetime) -> SchedulingError | None:
    """Why the patient may not move or cancel `appointment` (its appointment_type loaded) online
    at `now`, as a refusal fit to show them; None when they may."""
    refusal = change_refusal(
        self_bookable=appointment.appointment_type.self_bookable,
        status=appointment.status,
        start=appointment.start,
        now=now,
        cutoff=settings.ONLINE_CHANGE_CUTOFF,
    )
    return None if refusal is None else refuse(refusal, hours=change_cutoff_hours())


def check_window(start: dt.datetime, now: dt.datetime) -> None:
    refusal = window_refusal(start, current_window(now), clinic_tz())
    if refusal == "too_soon":
        hours = int(settings.ONLINE_MIN_NOTICE.total_seconds() // 3600)
        raise refuse("too_soon", hours=hours)
    if refusal == "too_far":
        raise refuse("too_far", days=settings.ONLINE_MAX_DAYS_AHEAD)


def serialise_on(key: str) -> None:
    """Make concurrent requests carrying the same idempotency key take turns (a transaction-level
    PostgreSQL advisory lock). SQLite, the demo database, already runs one writer at a time."""
    if connection.vendor == "postgresql":
        number = int.from_bytes(hashlib.sha256(f"online:{key}".encode()).digest()[:8], "big")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number - 2**63])


SLOT_GONE_CODES = frozenset(
    {
        "slot_gone",
        "no_resource",
        "room_taken",
        "clinician_taken",
        "held",
        "outside_hours",
        "closed",
        "in_past",
        "clinician_off",
        "room_inactive",
    }
)


def patient_facing(error: SchedulingError) -> SchedulingError:
    """Staff-facing refusals that name a room or clinician become "that time is gone"."""
    if error.code in SLOT_GONE_CODES:
        return SchedulingError("slot_gone")
    if error.code == "patient_taken":
        return SchedulingError("own_clash")
    return error
