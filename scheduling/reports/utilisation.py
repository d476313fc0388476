"""Utilisation per room and per clinician per week: booked minutes over open minutes.

Open minutes of a room: the clinic's opening windows of the week's days inside the range (weekly
hours and extra openings, none on a closure day). Of a clinician: the same windows cut to their
working hours. Booked minutes: the active appointments (booked, checked in, in progress,
completed) starting on those days. Weeks start on Monday, clinic-local. Six queries whatever the
range (rooms and clinicians, the clinic's calendar, working hours, two sums of bookings)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.db.models import DurationField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from scheduling.availability import ClinicCalendar, Interval, local_interval
from scheduling.models import ACTIVE_STATUSES, Appointment, Clinician, Room
from scheduling.reports.period import Period
from scheduling.reports.tables import Report, percent
from scheduling.slots import clinic_tz, load_calendar, load_clinician_hours

Minutes = dict[tuple[int, dt.date], int]  # (resource id, week's Monday) -> minutes


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def merged(spans: Sequence[Interval]) -> list[Interval]:
    """Overlapping or touching spans as one, so no minute counts twice."""
    result: list[Interval] = []
    for span in sorted(spans):
        if result and span.start <= result[-1].end:
            result[-1] = Interval(result[-1].start, max(result[-1].end, span.end))
        else:
            result.append(span)
    return result


def _overlap_minutes(windows: Sequence[Interval], spans: Sequence[Interval]) -> int:
    total = dt.timedelta()
    for window in merged(windows):
        for span in merged(spans):
            start, end = max(window.start, span.start), min(window.end, span.end)
            if start < end:
                total += end - start
    return int(total.total_seconds() // 60)


def open_minutes(
    calendar: ClinicCalendar, days: Sequence[dt.date], hours: dict[int, list] | None = None
) -> dict[dt.date, int]:
    """Open minutes per week (Monday) over `days`; cut to weekly working `hours` when given."""
    weeks: dict[dt.date, int] = defaultdict(int)
    for day in days:
        windows = calendar.windows(day, include_extra=True)
        if hours is None:
            minutes = sum(int((w.end - w.start).total_seconds() // 60) for w in merged(windows))
        else:
            spans = [local_interval(day, s, calendar.tz) for s in hours.get(day.weekday(), ())]
            minutes = _overlap_minutes(windows, spans)
        weeks[week_of(day)] += minutes
    return weeks


def booked_minutes(period: Period, field: str) -> Minutes:
    """Booked minutes per `field` (room or clinician) and week, summed by the database per day."""
    span = period.span
    rows = (
        Appointment.objects.filter(
            status__in=ACTIVE_STATUSES, start__gte=span.start, start__lt=span.end
        )
        .exclude(**{f"{field}_id": None})
        .annotate(day=TruncDate("start", tzinfo=clinic_tz()))
        .values(f"{field}_id", "day")
        .annotate(
            booked=Sum(ExpressionWrapper(F("end") - F("start"), output_field=DurationField()))
        )
        .values_list(f"{field}_id", "day", "booked")
    )
    minutes: Minutes = defaultdict(int)
    for resource_id, day, booked in rows:
        minutes[(resource_id, week_of(day))] += int(booked.total_seconds() // 60)
    return minutes


def utilisation(period: Period) -> Report:
    days = period.days()
    calendar = load_calendar(period.first, period.last)
    room_open = open_minutes(calendar, days)
    hours = load_clinician_hours()
    rooms = list(Room.objects.filter(active=True).order_by("name").values_list("pk", "name"))
    clinicians = list(
        Clinician.objects.filter(active=True)
        .order_by("display_name")
        .values_list("pk", "display_name")
    )
    by_room, by_clinician = booked_minutes(period, "room"), booked_minutes(period, "clinician")
    rows = []
    totals: dict[str, list[int]] = {}
    weeks = sorted(room_open)
    for kind, resources, booked in (
        (_("Room"), rooms, by_room),
        (_("Clinician"), clinicians, by_clinician),
    ):
        for pk, name in resources:
            opened = (
                room_open if kind == _("Room") else open_minutes(calendar, days, hours.get(pk, {}))
            )
            for week in weeks:
                used, available = booked.get((pk, week), 0), opened.get(week, 0)
                rows.append((kind, name, week, used, available, percent(used, available)))
                total = totals.setdefault(f"{kind}: {name}", [0, 0])
                total[0] += used
                total[1] += available
    return Report(
        key="utilisation",
        title=_("Utilisation per room and clinician"),
        columns=(
            _("Resource"),
            _("Name"),
            _("Week of"),
            _("Booked minutes"),
            _("Open minutes"),
            _("Utilisation %"),
        ),
        rows=rows,
        bars=[
            (label, percent(used, available) or 0.0) for label, (used, available) in totals.items()
        ],
        unit="%",
        note=_(
            "Booked minutes of active visits over the minutes the clinic was open (a clinician's "
            "cut to their working hours); closures count as closed."
        ),
    )
