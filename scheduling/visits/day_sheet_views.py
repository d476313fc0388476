"""The day sheet: every appointment of one clinic-local day with its badges (arrival, clearance,
the patient's pre-infusion check-in, escort), refreshed in place by htmx.

Access: Capability.CALENDAR. The sheet runs a fixed number of queries whatever the number of
appointments: the appointments with their patient, type, room, clinician and visit (one),
clearance badges (two, in a batch), pre-infusion check-ins with their round's status (one) and
what is still missing on file (scheduling.paperwork: at most six, in a batch).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from intake.clearance import ClearanceStatus, clearance_statuses
from intake.requirements import MissingItem
from propel.http import partial_or_page
from propel.roles import Capability, staff_required
from scheduling.audit import audit_shown
from scheduling.check_ins import check_in_progress
from scheduling.models import Appointment, AppointmentStatus, Visit
from scheduling.paperwork import visits_missing
from scheduling.slots import clinic_today, clinic_tz, utc_range
from scheduling.visits.forms import DayForm


class CheckInDone(enum.StrEnum):
    NOT_NEEDED = "not_needed"
    NOT_STARTED = "not_started"
    STARTED = "started"
    SENT = "sent"


class Escort(enum.StrEnum):
    NOT_NEEDED = "not_needed"
    CONFIRMED = "confirmed"
    ON_FILE = "on_file"
    MISSING = "missing"


@dataclass(frozen=True)
class DayRow:
    appointment: Appointment
    visit: Visit | None
    clearance: ClearanceStatus | None
    check_in: CheckInDone
    escort: Escort
    escort_name: str
    # What the clinic wants on file for this visit and has not got (a visit still to happen).
    paperwork: list[MissingItem]


def _escort(appointment: Appointment, visit: Visit | None) -> tuple[Escort, str]:
    if not appointment.appointment_type.needs_clearance:
        return Escort.NOT_NEEDED, ""
    if visit is not None and visit.escort_confirmed_at is not None:
        return Escort.CONFIRMED, visit.escort_name
    if appointment.patient.escort_name:
        return Escort.ON_FILE, appointment.patient.escort_name
    return Escort.MISSING, ""


def _check_ins(appointments: list[Appointment]) -> dict[int, CheckInDone]:
    ids = [a.pk for a in appointments if a.appointment_type.needs_clearance]
    return {pk: CheckInDone(state) for pk, state in check_in_progress(ids).items()}


def day_rows(day: dt.date) -> list[DayRow]:
    """Every appointment on the clinic-local `day` with its badges, in four queries."""
    span = utc_range(day, day, clinic_tz())
    appointments = list(
        Appointment.objects.filter(start__gte=span.start, start__lt=span.end)
        .select_related("patient", "appointment_type", "room", "clinician", "visit")
        .order_by("start", "room__name")
    )
    visits_by_id = {
        v.appointment_id: v for a in appointments if (v := getattr(a, "visit", None)) is not None
    }
    clearances = clearance_statuses({a.patient_id for a in appointments}, today=day)
    check_ins = _check_ins(appointments)
    waiting = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
    paperwork = visits_missing([a for a in appointments if a.status in waiting], today=day)
    rows = []
    for appointment in appointments:
        visit = visits_by_id.get(appointment.pk)
        escort, escort_name = _escort(appointment, visit)
        rows.append(
            DayRow(
                appointment=appointment,
                visit=visit,
                clearance=clearances.get(appointment.patient_id),
                check_in=check_ins.get(appointment.pk, CheckInDone.NOT_NEEDED),
                escort=escort,
                escort_name=escort_name,
                paperwork=paperwork.get(appointment.pk, []),
            )
        )
    return rows


@staff_required(Capability.CALENDAR)
def day_sheet(request: HttpRequest) -> HttpResponse:
    form = DayForm(request.GET or None)
    day = (form.is_valid() and form.cleaned_data["date"]) or clinic_today()
    query = urlencode({"date": day.isoformat()})
    rows = day_rows(day)
    # The 30-second refresh too: each one shows the patients again.
    audit_shown(request, (row.appointment.patient_id for row in rows))
    context = {
        "form": form,
        "day": day,
        "rows": rows,
        "refresh_url": f"{reverse('scheduling:day_sheet')}?{query}",
        "refreshed_at": timezone.now().astimezone(clinic_tz()),
    }
    return partial_or_page(
        request,
        "scheduling/day/sheet.html",
        "scheduling/day/_table.html",
        context,
        status=400 if form.errors else 200,
    )
