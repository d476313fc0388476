"""What a booking checks under its locks, read for all its sessions at once: two queries whatever
the number of sessions (scheduling.batch_booking).

- `load_clinic_facts`: the clinic's calendar (weekly hours, closures with their reasons, extra
  openings) for the sessions' days and the candidate clinicians' working hours, in one query.
- `load_window`: what is taken around the sessions, in one query: active appointments that
  overlap a session on a candidate room or clinician or for the patient; live holds that overlap
  one (except the booking's own); and, when asked, the patient's treatment visits near each
  session (for the spacing rule) and their upcoming online bookings of the type (for the online
  cap).

Each is a UNION ALL of small querysets in one column shape, so a booking pays one round trip for
each instead of one per table. The rules that read them are pure (scheduling.resources,
scheduling.rechecks, scheduling.spacing); slots.find_slots keeps its own loaders.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    CharField,
    DateField,
    DateTimeField,
    F,
    Field,
    IntegerField,
    Q,
    QuerySet,
    TimeField,
    Value,
)
from django.db.models.functions import Cast

from scheduling.availability import ClinicCalendar, Interval, TimeSpan, WeeklyHours
from scheduling.models import (
    Appointment,
    AppointmentType,
    BookedVia,
    Closure,
    ExtraOpening,
    OpeningHours,
    SlotHold,
    WorkingHours,
)
from scheduling.resources import Closed, Taken
from scheduling.slots import utc_range
from scheduling.spacing import Spacing, week_of


def _union(parts: list[QuerySet[Any]]) -> list[tuple[Any, ...]]:
    first, *rest = parts
    return list(first.union(*rest, all=True)) if rest else list(first)


def _shaped(
    queryset: QuerySet[Any], part: str, shape: dict[str, Field], **columns: Any
) -> QuerySet[Any]:
    """`queryset` as rows of `shape`: ("part", *shape), each column taken from `columns` or
    NULL (typed: PostgreSQL reads an untyped NULL in a UNION's first part as text)."""
    values = {
        f"shape_{name}": columns.get(name, Cast(Value(None), output_field=field))
        for name, field in shape.items()
    }
    return (
        queryset.order_by()
        .annotate(shape_part=Value(part, output_field=CharField()), **values)
        .values_list("shape_part", *values)
    )


FACT_SHAPE: dict[str, Field] = {
    "owner": IntegerField(),  # a clinician (working hours)
    "weekday": IntegerField(),
    "first": DateField(),
    "last": DateField(),
    "opens": TimeField(),
    "closes": TimeField(),
    "reason": CharField(),
}


@dataclass(frozen=True)
class ClinicFacts:
    """The clinic's calendar for the days asked, its closures with their reasons, and each
    candidate clinician's weekly working hours (active clinicians only)."""

    calendar: ClinicCalendar
    closures: list[Closed]
    hours: dict[int, WeeklyHours]


def load_clinic_facts(
    first_day: dt.date, last_day: dt.date, *, clinician_ids: Sequence[int], tz: ZoneInfo
) -> ClinicFacts:
    """The calendar from `first_day` to `last_day` (local, inclusive) and the working hours of
    `clinician_ids`, in one query."""
    parts = [
        _shaped(
            OpeningHours.objects.all(),
            "weekly",
            FACT_SHAPE,
            weekday=F("weekday"),
            opens=F("opens"),
            closes=F("closes"),
        ),
        _shaped(
            Closure.objects.filter(start_date__lte=last_day, end_date__gte=first_day),
            "closure",
            FACT_SHAPE,
            first=F("start_date"),
            last=F("end_date"),
            reason=F("reason"),
        ),
        _shaped(
            ExtraOpening.objects.filter(date__range=(first_day, last_day)),
            "extra",
            FACT_SHAPE,
            first=F("date"),
            opens=F("opens"),
            closes=F("closes"),
        ),
    ]
    if clinician_ids:
        parts.append(
            _shaped(
                WorkingHours.objects.filter(
                    clinician_id__in=list(clinician_ids), clinician__active=True
                ),
                "work",
                FACT_SHAPE,
                owner=F("clinician_id"),
                weekday=F("weekday"),
                opens=F("starts"),
                closes=F("ends"),
            )
        )
    weekly: dict[int, list[TimeSpan]] = defaultdict(list)
    extra: dict[dt.date, list[TimeSpan]] = defaultdict(list)
    hours: dict[int, dict[int, list[TimeSpan]]] = defaultdict(lambda: defaultdict(list))
    closures: list[Closed] = []
    for part, owner, weekday, first, last, opens, closes, reason in _union(parts):
        if part == "weekly":
            weekly[weekday].append((opens, closes))
        elif part == "closure":
            closures.append(Closed(first, last, reason))
        elif part == "extra":
            extra[first].append((opens, closes))
        else:
            hours[owner][weekday].append((opens, closes))
    calendar = ClinicCalendar(
        tz=tz,
        weekly={day: sorted(spans) for day, spans in weekly.items()},
        closures=[(closure.first, closure.last) for closure in closures],
        extra_openings=dict(extra),
    )
    return ClinicFacts(
        calendar=calendar,
        closures=closures,
        hours={clinician: dict(days) for clinician, days in hours.items()},
    )


TAKEN_SHAPE: dict[str, Field] = {
    "room": IntegerField(),
    "clinician": IntegerField(),
    "patient": IntegerField(),
    "start": DateTimeField(),
    "end": DateTimeField(),
}
TAKEN_COLUMNS = {
    "room": F("room_id"),
    "clinician": F("clinician_id"),
    "start": F("start"),
    "end": F("end"),
}


@dataclass(frozen=True)
class Window:
    """What is taken around a booking's sessions (scheduling.resources.Taken rows): active
    appointments (`booked`) and live holds (`held`); the starts of the patient's other active
    treatment visits near each session (`treatments`, when asked); how many upcoming online
    bookings of the type the patient has (`online_upcoming`, when asked)."""

    booked: list[Taken]
    held: list[Taken]
    treatments: list[dt.datetime]
    online_upcoming: int


@dataclass(frozen=True)
class WindowQuery:
    """What load_window asks about: the sessions, the candidate rooms and clinicians, the patient
    (None for a hold), the instant holds are live at, the hold to leave out (the booking's own),
    the appointment to leave out (one being moved), the spacing whose neighbourhood of each
    session to read the patient's treatment visits in (None: not a treatment), and the type whose
    upcoming online bookings to count (None: no cap)."""

    sessions: Sequence[Interval]
    room_ids: Sequence[int]
    clinician_ids: Sequence[int]
    patient_id: int | None
    now: dt.datetime
    tz: ZoneInfo
    hold_key: str | None = None
    exclude_id: int | None = None
    spacing: Spacing | None = None
    online_type: AppointmentType | None = None


def _overlapping_any(sessions: Sequence[Interval]) -> Q:
    return reduce(
        operator.or_, (Q(start__lt=session.end, end__gt=session.start) for session in sessions)
    )


def _near_any(sessions: Sequence[Interval], spacing: Spacing, tz: ZoneInfo) -> Q:
    """Starts the spacing rule compares a session with: within the minimum gap of it, or in its
    clinic week (scheduling.spacing)."""
    near = []
    for session in sessions:
        monday = week_of(session.start, tz)
        week = utc_range(monday, monday + dt.timedelta(days=6), tz)
        gap = spacing.min_gap
        near.append(Q(start__gt=session.start - gap, start__lt=session.start + gap))
        near.append(Q(start__gte=week.start, start__lt=week.end))
    return reduce(operator.or_, near)


def _window_parts(query: WindowQuery) -> list[QuerySet[Any]]:
    sessions = query.sessions
    span = Interval(min(s.start for s in sessions), max(s.end for s in sessions))
    uses_resources = Q(room_id__in=list(query.room_ids)) | Q(
        clinician_id__in=list(query.clinician_ids)
    )
    whose = uses_resources | Q(patient_id=query.patient_id) if query.patient_id else uses_resources
    overlapping = (
        Appointment.objects.active()
        .overlapping(span.start, span.end)
        .exclude(pk=query.exclude_id or 0)
    )
    if len(sessions) > 1:
        overlapping = overlapping.filter(_overlapping_any(sessions))
    held = (
        SlotHold.objects.live(query.now)
        .filter(start__lt=span.end, end__gt=span.start)
        .filter(_overlapping_any(sessions), uses_resources)
        .exclude(key=query.hold_key or "")
    )
    patient_column = {"patient": F("patient_id")}
    parts = [
        _shaped(
            overlapping.filter(whose), "booked", TAKEN_SHAPE, **TAKEN_COLUMNS, **patient_column
        ),
        _shaped(held, "held", TAKEN_SHAPE, **TAKEN_COLUMNS),
    ]
    if query.patient_id is None:
        return parts
    mine = Appointment.objects.active().filter(patient_id=query.patient_id)
    if query.spacing is not None:
        treatments = (
            mine.filter(appointment_type__needs_clearance=True)
            .filter(_near_any(sessions, query.spacing, query.tz))
            .exclude(pk=query.exclude_id or 0)
        )
        parts.append(_shaped(treatments, "treatment", TAKEN_SHAPE, start=F("start")))
    if query.online_type is not None:
        upcoming = mine.filter(
            appointment_type=query.online_type, booked_via=BookedVia.ONLINE, start__gt=query.now
        )
        parts.append(_shaped(upcoming, "online", TAKEN_SHAPE, start=F("start")))
    return parts


def load_window(query: WindowQuery) -> Window:
    """What is taken around `query.sessions`, in one query (see the module docstring)."""
    booked: list[Taken] = []
    held: list[Taken] = []
    treatments: list[dt.datetime] = []
    online = 0
    for part, room_id, clinician_id, patient_id, start, end in _union(_window_parts(query)):
        if part == "booked":
            booked.append(Taken(room_id, clinician_id, patient_id, start, end))
        elif part == "held":
            held.append(Taken(room_id, clinician_id, None, start, end))
        elif part == "treatment":
            treatments.append(start)
        else:
            online += 1
    return Window(booked=booked, held=held, treatments=treatments, online_upcoming=online)
