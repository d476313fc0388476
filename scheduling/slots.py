"""Availability through the database: loads the engine's inputs in a fixed number of queries.

Whatever the date range or the number of appointments, `find_slots` runs seven queries (opening
hours, closures, extra openings, rooms, working hours, busy appointments, live slot holds and
blocked time in one, the patient's own). `availability_version` tells whether any of those rows
changed since, so a caller can reuse slots computed before (scheduling.online.slot_page).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scheduling.availability import (
    ClinicCalendar,
    Interval,
    Resource,
    Slot,
    TimeSpan,
    free_slots,
    local_interval,
)
from scheduling.models import (
    Appointment,
    AppointmentType,
    BlockedTime,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
    SlotHold,
    WorkingHours,
)
from scheduling.models.spans import id_equals


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(settings.CLINIC_TIME_ZONE)


def clinic_today() -> dt.date:
    """Today's date on the clinic's calendar."""
    return timezone.now().astimezone(clinic_tz()).date()


def utc_range(start_date: dt.date, end_date: dt.date, tz: ZoneInfo) -> Interval:
    """From local midnight starting start_date to local midnight ending end_date."""
    return Interval(
        local_interval(start_date, (dt.time(0), dt.time(0)), tz).start,
        local_interval(end_date + dt.timedelta(days=1), (dt.time(0), dt.time(0)), tz).start,
    )


def load_calendar(start_date: dt.date, end_date: dt.date) -> ClinicCalendar:
    weekly: dict[int, list[TimeSpan]] = defaultdict(list)
    for weekday, opens, closes in OpeningHours.objects.values_list("weekday", "opens", "closes"):
        weekly[weekday].append((opens, closes))
    closures = list(
        Closure.objects.filter(start_date__lte=end_date, end_date__gte=start_date).values_list(
            "start_date", "end_date"
        )
    )
    extra: dict[dt.date, list[TimeSpan]] = defaultdict(list)
    for day, opens, closes in ExtraOpening.objects.filter(
        date__range=(start_date, end_date)
    ).values_list("date", "opens", "closes"):
        extra[day].append((opens, closes))
    return ClinicCalendar(
        tz=clinic_tz(), weekly=dict(weekly), closures=closures, extra_openings=dict(extra)
    )


def load_clinician_hours(
    clinician_ids: Iterable[int] | None = None,
) -> dict[int, dict[int, list[TimeSpan]]]:
    rows = WorkingHours.objects.filter(clinician__active=True)
    if clinician_ids is not None:
        rows = rows.filter(clinician_id__in=list(clinician_ids))
    hours: dict[int, dict[int, list[TimeSpan]]] = defaultdict(lambda: defaultdict(list))
    for clinician_id, weekday, starts, ends in rows.values_list(
        "clinician_id", "weekday", "starts", "ends"
    ):
        hours[clinician_id][weekday].append((starts, ends))
    return {cid: dict(days) for cid, days in hours.items()}


def load_busy(
    span: Interval,
    *,
    room_ids: list[int],
    clinician_ids: list[int],
    now: dt.datetime,
    hold_key: str | None = None,
) -> tuple[dict[int, list[Interval]], dict[int, list[Interval]]]:
    """Active appointments, live slot holds and blocked time (scheduling.time_off) in `span` per
    room and per clinician, in one query.

    A hold counts as busy for everyone but its holder (`hold_key`).
    """
    by_room: dict[int, list[Interval]] = defaultdict(list)
    by_clinician: dict[int, list[Interval]] = defaultdict(list)
    uses_resources = Q(room_id__in=room_ids) | Q(clinician_id__in=clinician_ids)
    columns = ("room_id", "clinician_id", "start", "end")
    appointments = (
        Appointment.objects.active()
        .overlapping(span.start, span.end)
        .filter(uses_resources)
        .order_by()
        .values_list(*columns)
    )
    holds = (
        SlotHold.objects.live(now)
        .overlapping(span.start, span.end)
        .filter(uses_resources)
        .exclude(key=hold_key or "")
        .order_by()
        .values_list(*columns)
    )
    blocked = (
        BlockedTime.objects.overlapping(span.start, span.end)
        .filter(uses_resources)
        .order_by()
        .values_list(*columns)
    )
    for room_id, clinician_id, start, end in _rows(appointments.union(holds, blocked, all=True)):
        interval = Interval(start, end)
        if room_id is not None:
            by_room[room_id].append(interval)
        if clinician_id is not None:
            by_clinician[clinician_id].append(interval)
    return by_room, by_clinician


def _rows(queryset: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a values_list queryset. On PostgreSQL its timestamps are read by psycopg's
    compiled loader: Django's (a subclass of psycopg's pure-Python one, Django ticket #36960)
    costs microseconds a value, which on a full calendar was most of find_slots' extra time
    (docs/benchmarks.md, item 2). The instants are the same either way."""
    if connection.vendor != "postgresql":
        return list(queryset)
    # Only on PostgreSQL: SQLite setups (the demo, `make run`) never load psycopg's types.
    from psycopg.types.datetime import TimestamptzLoader

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # This cursor only: psycopg swaps in the compiled class when there is one.
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        return cursor.fetchall()


def patient_busy(patient_id: int | None, span: Interval) -> list[Interval]:
    if patient_id is None:
        return []
    rows = (
        Appointment.objects.active()
        .overlapping(span.start, span.end)
        .filter(id_equals("patient_id", patient_id))
        .values_list("start", "end")
    )
    return [Interval(start, end) for start, end in rows]


def find_slots(
    *,
    appointment_type: AppointmentType,
    start_date: dt.date,
    end_date: dt.date,
    include_extra_openings: bool,
    patient_id: int | None = None,
    not_before: dt.datetime | None = None,
    step: dt.timedelta | None = None,
    hold_key: str | None = None,
    now: dt.datetime | None = None,
) -> list[Slot]:
    """Free slots for one appointment type, every room of its kind and every active clinician.

    Live slot holds (as of `now`, default the current time) are busy, except the one `hold_key`
    names, so a patient still sees the time they are holding.
    """
    calendar = load_calendar(start_date, end_date)
    span = utc_range(start_date, end_date, calendar.tz)
    room_ids = list(
        Room.objects.filter(kind=appointment_type.room_kind, active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    hours = load_clinician_hours() if appointment_type.needs_clinician else {}
    clinician_ids = sorted(hours)
    by_room, by_clinician = load_busy(
        span,
        room_ids=room_ids,
        clinician_ids=clinician_ids,
        now=now or timezone.now(),
        hold_key=hold_key,
    )
    return free_slots(
        calendar=calendar,
        start_date=start_date,
        end_date=end_date,
        duration=appointment_type.duration,
        step=step or dt.timedelta(minutes=settings.SLOT_STEP_MINUTES),
        rooms=[Resource(room_id, by_room.get(room_id, ())) for room_id in room_ids],
        clinicians=[Resource(cid, by_clinician.get(cid, ()), hours[cid]) for cid in clinician_ids],
        needs_clinician=appointment_type.needs_clinician,
        patient_busy=patient_busy(patient_id, span),
        include_extra_openings=include_extra_openings,
        not_before=not_before,
    )


def staff_slots(
    appointment_type: AppointmentType,
    start_date: dt.date,
    end_date: dt.date,
    *,
    now: dt.datetime,
    patient_id: int | None = None,
) -> list[Slot]:
    """Free slots as staff book them: extra openings (open Saturdays) included, none starting
    before `now`; with `patient_id`, none that clash with the patient's own appointments."""
    return find_slots(
        appointment_type=appointment_type,
        start_date=start_date,
        end_date=end_date,
        include_extra_openings=True,
        patient_id=patient_id,
        not_before=now,
        now=now,
    )


def availability_version() -> int:
    """The counter every committed change to the rows find_slots reads moves on (appointments,
    holds, appointment types, opening hours, closures, extra openings, rooms, clinicians, working
    hours, blocked time: triggers in migrations 0009 and 0014, PostgreSQL only). Within one
    snapshot, one value means one state of those rows; only the passing of time (live holds, the
    caller's `now`) is not in it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM scheduling_availability_version")
        (version,) = cursor.fetchone()
    return version


def next_hold_expiry(
    start_date: dt.date, end_date: dt.date, *, now: dt.datetime
) -> dt.datetime | None:
    """When the first hold live at `now` on any resource between two local dates runs out: until
    then, slots computed at `now` stay as they are (with the same rows)."""
    span = utc_range(start_date, end_date, clinic_tz())
    return (
        SlotHold.objects.live(now)
        .overlapping(span.start, span.end)
        .aggregate(first=Min("expires_at"))["first"]
    )


ZONE_LABELS = {"America/Los_Angeles": _("Pacific time")}
# The short form after a time ("10:00 a.m. PT") is propel.formatting.zone_abbreviation.


def zone_label() -> str:
    """The clinic's zone as patients read it ("Pacific time")."""
    return str(ZONE_LABELS.get(settings.CLINIC_TIME_ZONE, settings.CLINIC_TIME_ZONE))
