"""Calendar files (iCalendar, RFC 5545) for a patient's appointments.

Each appointment is one VEVENT whose UID never changes (appointment-<pk>@<site host>) and whose
SEQUENCE is the appointment's, bumped whenever it changes, so a calendar that imported an earlier
file replaces the entry instead of adding a second one. Times are written in the clinic's zone with
its VTIMEZONE, so the entry shows the clinic's wall-clock time on both sides of a daylight-saving
change. Like every patient message, an entry names no treatment: family and colleagues see
calendars too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from scheduling.models import CALLED_OFF_STATUSES, Appointment
from scheduling.slots import clinic_tz

PRODID = "-//Propel//Clinic appointments//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def appointment_uid(appointment: Appointment) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "propel.invalid"
    return f"appointment-{appointment.pk}@{host}"


def appointment_event(appointment: Appointment, *, now: dt.datetime) -> Event:
    """The appointment's VEVENT with what identifies and places it: UID, SEQUENCE, DTSTAMP
    (`now`) and its start and end in the clinic's zone. Shared by the patient's files and the
    clinicians' feeds, which each add what they show."""
    tz = clinic_tz()
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", appointment.start.astimezone(tz))
    event.add("dtend", appointment.end.astimezone(tz))
    return event


def _event(appointment: Appointment, *, now: dt.datetime) -> Event:
    clinic = settings.CLINIC_NAME
    summary = (
        _("Consultation at %(clinic)s")
        if appointment.appointment_type.self_bookable
        else _("Appointment at %(clinic)s")
    ) % {"clinic": clinic}
    event = appointment_event(appointment, now=now)
    event.add("summary", summary)
    event.add("location", settings.CLINIC_ADDRESS)
    event.add(
        "description",
        _("To change this appointment, use the link in our email or call %(phone)s.")
        % {"phone": settings.CLINIC_PHONE},
    )
    cancelled = appointment.status in CALLED_OFF_STATUSES
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def appointments_ics(appointments: Sequence[Appointment], *, now: dt.datetime) -> bytes:
    """One calendar file holding `appointments` (each with its appointment_type loaded)."""
    if not appointments:
        raise ValueError("a calendar file needs at least one appointment")
    return calendar_ics(
        [_event(appointment, now=now) for appointment in appointments],
        first=min(appointment.start for appointment in appointments).date(),
        last=max(appointment.end for appointment in appointments).date(),
    )


def calendar_ics(
    events: Sequence[Event], *, first: dt.date, last: dt.date, name: str | None = None
) -> bytes:
    """One calendar file holding `events` (whose times are in the clinic's zone), with the
    VTIMEZONE for the dates `first`..`last` they fall between. Shared by the patient's files and
    the clinicians' feeds (scheduling.calendar.feeds)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", settings.CLINIC_TIME_ZONE)
    for event in events:
        calendar.add_component(event)
    # The zone's rules for a year either side of the appointments: enough for any client to
    # place them, small enough to keep the file short.
    calendar.add_missing_timezones(
        first_date=first - dt.timedelta(days=366), last_date=last + dt.timedelta(days=366)
    )
    return calendar.to_ical()
