"""Read-only queries the staff pages share. Each runs a fixed number of queries."""

from __future__ import annotations

import datetime as dt

from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentStatus
from scheduling.slots import clinic_tz, utc_range

# The cancellation reason of the old appointment when a patient moves one online.
RESCHEDULED_REASON = "Rescheduled online by the patient"


def appointment_with_type(appointment_id: int) -> Appointment:
    """The appointment, its type loaded; SchedulingError("not_found") when there is none."""
    appointment = Appointment.objects.with_type().filter(pk=appointment_id).first()
    if appointment is None:
        raise SchedulingError("not_found")
    return appointment


def appointments_on(day: dt.date) -> list[Appointment]:
    """Every appointment (any status) starting on the clinic's local `day`, in one query."""
    span = utc_range(day, day, clinic_tz())
    return list(
        Appointment.objects.filter(start__gte=span.start, start__lt=span.end)
        .select_related("patient", "appointment_type", "room", "clinician")
        .order_by("start", "room__name")
    )


def rescheduled_from(appointment: Appointment) -> Appointment | None:
    """The appointment this one replaced when the patient moved it online, or None.

    The online move (scheduling.online.changes) cancels the old appointment and books the new
    one in one transaction with a single `now`, so the old one's cancellation ("Rescheduled
    online by the patient") carries the same instant in the status history as the new one's
    booking.
    """
    booked_at = (
        appointment.status_changes.filter(from_status="")
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    if booked_at is None:
        return None
    return (
        Appointment.objects.with_type()
        .filter(
            patient_id=appointment.patient_id,
            status_changes__to_status=AppointmentStatus.CANCELLED,
            status_changes__reason=RESCHEDULED_REASON,
            status_changes__at=booked_at,
        )
        .exclude(pk=appointment.pk)
        .order_by("-pk")
        .first()
    )
