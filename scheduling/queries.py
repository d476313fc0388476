"""Read-only queries the staff pages share. Each runs a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from scheduling.models import Appointment
from scheduling.slots import clinic_tz, utc_range


def appointments_on(day: dt.date) -> list[Appointment]:
    """Every appointment (any status) starting on the clinic's local `day`, in one query."""
    span = utc_range(day, day, clinic_tz())
    return list(
        Appointment.objects.filter(start__gte=span.start, start__lt=span.end)
        .select_related("patient", "appointment_type", "room", "clinician")
        .order_by("start", "room__name")
    )
