"""The starts offered to patients online: the slots of a span of days, the nearest alternatives,
whether a start is still offered. Read-only; the booking services re-check everything in the
database."""

from __future__ import annotations

import datetime as dt

from scheduling.availability import Slot
from scheduling.models import (
    AppointmentType,
)
from scheduling.online.rules import (
    ALTERNATIVE_DAYS_AROUND,
    ALTERNATIVES,
    PATIENT_SLOT_STEP,
    current_window,
)
from scheduling.slots import clinic_tz, find_slots


def online_slots(
    appointment_type: AppointmentType,
    *,
    start_date: dt.date,
    end_date: dt.date,
    now: dt.datetime,
    hold_key: str | None = None,
    patient_id: int | None = None,
) -> list[Slot]:
    """Bookable starts inside the online window between two local dates (a fixed number of
    queries: find_slots'); with `patient_id`, none that clash with the patient's own."""
    window = current_window(now)
    start_date, end_date = max(start_date, window.first_day), min(end_date, window.last_day)
    if start_date > end_date:
        return []
    return find_slots(
        appointment_type=appointment_type,
        start_date=start_date,
        end_date=end_date,
        include_extra_openings=False,
        not_before=window.not_before,
        step=PATIENT_SLOT_STEP,
        hold_key=hold_key,
        now=now,
        patient_id=patient_id,
    )


def nearest_alternatives(
    appointment_type: AppointmentType,
    *,
    start: dt.datetime,
    now: dt.datetime,
    hold_key: str | None = None,
    patient_id: int | None = None,
    count: int = ALTERNATIVES,
) -> list[dt.datetime]:
    """The `count` free online starts nearest to `start` (within a few days of it), in time
    order, in clinic time."""
    tz = clinic_tz()
    day = start.astimezone(tz).date()
    around = dt.timedelta(days=ALTERNATIVE_DAYS_AROUND)
    slots = online_slots(
        appointment_type,
        start_date=day - around,
        end_date=day + around,
        now=now,
        hold_key=hold_key,
        patient_id=patient_id,
    )
    nearest = sorted(slots, key=lambda slot: (abs(slot.start - start), slot.start))[:count]
    return sorted(slot.start.astimezone(tz) for slot in nearest)


def is_offered(
    appointment_type: AppointmentType,
    start: dt.datetime,
    *,
    now: dt.datetime,
    hold_key: str | None = None,
) -> bool:
    """Whether `start` is one of the online starts free right now."""
    day = start.astimezone(clinic_tz()).date()
    slots = online_slots(appointment_type, start_date=day, end_date=day, now=now, hold_key=hold_key)
    return any(slot.start == start for slot in slots)
