"""Calendar files (iCalendar, RFC 5545) for a patient's appointments.

Each appointment is one VEVENT whose UID never changes (appointment-<pk>@<site host>) and whose
SEQUENCE is the appointment's, bumped whenever it changes, so a calendar that imported an earlier
file replaces the entry instead of adding a second one. Times are written in the clinic's zone with
its VTIMEZONE, so the entry shows the clinic's wall-clock time on both sides of a daylight-saving
change. A patient's email carries METHOD:REQUEST and METHOD:CANCEL files (patient_calendar_files:
the same UID replaces an entry, the higher SEQUENCE wins); downloads and the clinicians' feeds
PUBLISH. Like every patient message, an entry names no treatment: family and colleagues see
calendars too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress

from scheduling.models import CALLED_OFF_STATUSES, Appointment
from scheduling.slots import clinic_tz

PRODID = "-//Propel//Clinic appointments//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# iTIP methods (RFC 5546): a download or a feed publishes; a patient's email requests or cancels.
PUBLISH = "PUBLISH"
REQUEST = "REQUEST"
CANCEL = "CANCEL"


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


def _organizer() -> vCalAddress:
    """The clinic, as the organizer a REQUEST or CANCEL comes from (RFC 5546 §3.2)."""
    name, address = parseaddr(getattr(settings, "CLINIC_EMAIL", "") or settings.DEFAULT_FROM_EMAIL)
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = name or settings.CLINIC_NAME
    return organizer


def _attendee(email: str, name: str) -> vCalAddress:
    attendee = vCalAddress(f"mailto:{email}")
    attendee.params["cn"] = name
    attendee.params["role"] = "REQ-PARTICIPANT"
    # Booked on the patient's behalf: their calendar shows it accepted, no reply asked for.
    attendee.params["partstat"] = "ACCEPTED"
    attendee.params["rsvp"] = "FALSE"
    return attendee


def _event(appointment: Appointment, *, now: dt.datetime, scheduling: bool) -> Event:
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
    patient = appointment.patient
    if scheduling and patient.email:
        event.add("organizer", _organizer())
        event.add("attendee", _attendee(patient.email, patient.first_name))
    return event


def appointments_ics(
    appointments: Sequence[Appointment], *, now: dt.datetime, method: str = PUBLISH
) -> bytes:
    """One calendar file holding `appointments` (each with its appointment_type and patient
    loaded). PUBLISH (a download) shows each entry as it stands; REQUEST and CANCEL (RFC 5546, the
    files a patient's email carries) also name the clinic as organizer and the patient as
    attendee, which calendar apps need to update or remove the entry of the same UID."""
    if not appointments:
        raise ValueError("a calendar file needs at least one appointment")
    return calendar_ics(
        [
            _event(appointment, now=now, scheduling=method != PUBLISH)
            for appointment in appointments
        ],
        first=min(appointment.start for appointment in appointments).date(),
        last=max(appointment.end for appointment in appointments).date(),
        method=method,
    )


def patient_calendar_files(
    appointments: Sequence[Appointment], *, now: dt.datetime
) -> list[tuple[str, bytes, str]]:
    """The calendar files of a patient's email about `appointments`, as (filename, content,
    content type) attachments: one METHOD:REQUEST file with the entries still on (new, moved or
    confirmed: the same UID with the appointment's current SEQUENCE replaces an earlier entry)
    and one METHOD:CANCEL file with the cancelled ones (STATUS:CANCELLED, the SEQUENCE their
    cancellation bumped, so it wins over the last REQUEST). One METHOD per file (RFC 5546), so a
    message with both kinds carries two files; the content type names the method, as Outlook and
    Gmail expect."""
    on = [a for a in appointments if a.status not in CALLED_OFF_STATUSES]
    off = [a for a in appointments if a.status in CALLED_OFF_STATUSES]
    files = []
    if on:
        name = "appointment.ics" if len(on) == 1 else "appointments.ics"
        files.append((name, appointments_ics(on, now=now, method=REQUEST), _content_type(REQUEST)))
    if off:
        files.append(
            ("cancelled.ics", appointments_ics(off, now=now, method=CANCEL), _content_type(CANCEL))
        )
    return files


def _content_type(method: str) -> str:
    # Django's attach() splits at the first "/": the subtype keeps the method parameter.
    return f"text/calendar; method={method}"


def calendar_ics(
    events: Sequence[Event],
    *,
    first: dt.date,
    last: dt.date,
    name: str | None = None,
    method: str = PUBLISH,
) -> bytes:
    """One calendar file holding `events` (whose times are in the clinic's zone), with the
    VTIMEZONE for the dates `first`..`last` they fall between. Shared by the patient's files and
    the clinicians' feeds (scheduling.calendar.feeds, always PUBLISH: a subscription shows the
    feed as it is)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
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
