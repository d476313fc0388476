"""One appointment's calendar file as a download: the same file for the patient (from their page)
and for staff (from the appointment page)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone

from scheduling.ics import CONTENT_TYPE, appointments_ics
from scheduling.models import Appointment


def appointment_ics_download(appointment: Appointment) -> HttpResponse:
    """The appointment (with its appointment_type loaded) as an attachment named for its day."""
    response = HttpResponse(
        appointments_ics([appointment], now=timezone.now()), content_type=CONTENT_TYPE
    )
    day = timezone.localdate(appointment.start).isoformat()
    response["Content-Disposition"] = f'attachment; filename="appointment-{day}.ics"'
    return response
