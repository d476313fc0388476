from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from intake.clearance import ClearanceStatus, clearance_statuses
from intake.screening import ScreeningStatus, screening_statuses
from propel.policy_log import recent_policy_changes
from propel.roles import Capability, Role, roles_of, staff_required
from scheduling.audit import audit_shown
from scheduling.forms import AvailabilityForm
from scheduling.models import Appointment, Clinician, Room
from scheduling.queries import appointments_on
from scheduling.slots import clinic_tz, staff_slots


@dataclass(frozen=True)
class TodayRow:
    appointment: Appointment
    # Status badges only (Capability.HEALTH_STATUS): no answer, score or flag.
    clearance: ClearanceStatus | None
    screening: ScreeningStatus | None


@staff_required(Capability.CALENDAR)
def today(request: HttpRequest) -> HttpResponse:
    day = timezone.localdate()
    appointments = appointments_on(day)
    patient_ids = {appointment.patient_id for appointment in appointments}
    # Four queries for the whole day, however many appointments (two per badge).
    clearances = clearance_statuses(patient_ids, today=day)
    screenings = screening_statuses(patient_ids)
    rows = [
        TodayRow(a, clearances.get(a.patient_id), screenings.get(a.patient_id))
        for a in appointments
    ]
    # Clinicians start their day here: they see the latest clinic policy changes (which visits
    # need clearance, the vital-signs lines) as on their review page.
    clinical = bool(roles_of(request.user) & {Role.CLINICIAN, Role.ADMIN})
    audit_shown(request, patient_ids)
    return render(
        request,
        "scheduling/today.html",
        {
            "day": day,
            "appointments": appointments,
            "rows": rows,
            "policy_changes": recent_policy_changes() if clinical else None,
        },
    )


@dataclass(frozen=True)
class SlotRow:
    start: dt.datetime
    rooms: list[str]
    clinicians: list[str]


@staff_required(Capability.CALENDAR)
def availability(request: HttpRequest) -> HttpResponse:
    form = AvailabilityForm(request.GET or None)
    days: list[tuple[dt.date, list[SlotRow]]] = []
    if form.is_valid():
        start_date = form.cleaned_data["start_date"]
        slots = staff_slots(
            form.cleaned_data["appointment_type"],
            start_date,
            start_date + dt.timedelta(days=form.cleaned_data["days"] - 1),
            now=timezone.now(),
        )
        tz = clinic_tz()
        rooms = dict(Room.objects.values_list("pk", "name"))
        clinicians = dict(Clinician.objects.values_list("pk", "display_name"))
        rows = [
            SlotRow(
                start=slot.start.astimezone(tz),
                rooms=[rooms[pk] for pk in slot.room_ids],
                clinicians=[clinicians[pk] for pk in slot.clinician_ids],
            )
            for slot in slots
        ]
        days = [
            (day, list(day_rows)) for day, day_rows in groupby(rows, key=lambda r: r.start.date())
        ]
    return render(request, "scheduling/availability.html", {"form": form, "days": days})
