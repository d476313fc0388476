"""What a booking or a move re-checks under its locks (scheduling.booking), before it chooses a
room and clinician: the lifecycle table's word (who may, not in the past, a clearance when the
type's policy, re-read now, needs one), the clinic's infusion spacing, and the cap on a patient's
online bookings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Q

from intake.selectors import clearance_by_day, clearance_refusal, clinic_date
from propel import formatting
from scheduling.errors import SchedulingError
from scheduling.lifecycle import Action, Facts, Party, When, parties_of, refusals
from scheduling.models import Appointment, AppointmentStatus, AppointmentType
from scheduling.policy import spacing_policy
from scheduling.slots import clinic_tz, utc_range
from scheduling.spacing import Spacing, first_too_close, week_is_full, week_of


def _needs_clearance_now(appointment_type: AppointmentType) -> bool:
    """The type's clearance policy as committed now. On PostgreSQL the row is read FOR SHARE: an
    admin's change of the policy waits for this booking to commit, and a change committed first
    is seen here (the value loaded before the locks may be stale)."""
    if connection.vendor != "postgresql":
        return AppointmentType.objects.get(pk=appointment_type.pk).needs_clearance
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT needs_clearance FROM scheduling_appointmenttype WHERE id = %s FOR SHARE",
            [appointment_type.pk],
        )
        return bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class LifecycleCheck:
    """The lifecycle table's word on booking or moving to any of some starts, with what it needs
    read once under the booking's locks: whether the type is a treatment (its policy, re-read
    now), the days the patient's clearance covers, and who acts."""

    action: Action
    patient_id: int
    treatment: bool
    cleared_days: frozenset[dt.date]
    parties: frozenset[Party]

    def check(self, start: dt.datetime, *, now: dt.datetime) -> None:
        """SchedulingError("in_past", "needs_clearance" or "not_allowed") for `start`."""
        facts = Facts(
            status=None if self.action == Action.BOOK else AppointmentStatus.BOOKED,
            start=start,
            treatment=self.treatment,
            clearance=(not self.treatment) or clinic_date(start) in self.cleared_days,
        )
        for refusal in refusals(self.action, facts, self.parties, now=now, tz=clinic_tz()):
            if refusal.code == When.BEFORE_START:
                raise SchedulingError("in_past")
            if refusal.code == "clearance":
                raise SchedulingError(
                    "needs_clearance", why=clearance_refusal(self.patient_id, start, now=now)
                )
            raise SchedulingError("not_allowed")


def lifecycle_check(
    action: Action,
    *,
    appointment_type: AppointmentType,
    patient_id: int,
    starts: Sequence[dt.datetime],
    actor: Any,
    as_patient: bool,
    cleared_days: frozenset[dt.date] | None = None,
) -> LifecycleCheck:
    """Read what the lifecycle table needs for booking or moving to `starts` (the type's policy
    under the booking's locks, and, for a treatment, the clearance on every day of `starts` in
    one read); call inside the booking transaction, then `.check(start, now=...)` each.
    `cleared_days`: the days of `starts` the clearance covers, when the caller has just read
    them (a course, scheduling.courses.services); then they are not read again."""
    treatment = _needs_clearance_now(appointment_type)
    cleared: frozenset[dt.date] = frozenset()
    if treatment and cleared_days is not None:
        cleared = cleared_days
    elif treatment:
        by_day = clearance_by_day(patient_id, [clinic_date(start) for start in starts])
        cleared = frozenset(day for day, status in by_day.items() if status.is_cleared)
    return LifecycleCheck(
        action=action,
        patient_id=patient_id,
        treatment=treatment,
        cleared_days=cleared,
        parties=parties_of(actor, as_patient=as_patient),
    )


def check_lifecycle(
    action: Action,
    *,
    appointment_type: AppointmentType,
    patient_id: int,
    start: dt.datetime,
    actor: Any,
    as_patient: bool,
    now: dt.datetime,
) -> None:
    """The lifecycle table's word on booking or moving to `start` (scheduling.lifecycle): who may,
    not in the past, and a clearance valid on that day when the type's policy (re-read under the
    booking's locks) needs one. Call inside the booking transaction."""
    lifecycle_check(
        action,
        appointment_type=appointment_type,
        patient_id=patient_id,
        starts=[start],
        actor=actor,
        as_patient=as_patient,
    ).check(start, now=now)


def spacing_refusal(
    start: dt.datetime, others: Iterable[dt.datetime], spacing: Spacing, tz: ZoneInfo
) -> SchedulingError | None:
    """Why a treatment visit at `start` breaks the clinic's spacing with the patient's other
    active treatment visits `others` (scheduling.spacing): closer than the minimum gap to one
    ("infusion_too_close", naming it), or the weekly cap reached ("infusion_week_full"); None
    when it keeps it. Pure."""
    others = list(others)
    if (other := first_too_close(start, others, spacing)) is not None:
        return SchedulingError(
            "infusion_too_close",
            hours=f"{spacing.min_gap.total_seconds() / 3600:g}",
            when=formatting.local_datetime(other.astimezone(tz)),
        )
    if week_is_full(start, others, spacing, tz):
        return SchedulingError("infusion_week_full", limit=spacing.max_per_week)
    return None


def check_infusion_spacing(
    appointment_type: AppointmentType,
    *,
    patient_id: int,
    start: dt.datetime,
    exclude_id: int | None = None,
) -> None:
    """For treatment visits (types that need clearance), the patient's other active treatment
    visits keep the clinic's spacing (spacing_refusal, as scheduling.policy sets it): at least
    the minimum gap away, and no more than the weekly cap in one Monday-Sunday clinic week; the
    course rules hold for every infusion, in a course or not. Reads the patient's treatment
    visits around `start` (bookings read them with everything else: scheduling.booking_facts)."""
    if not appointment_type.needs_clearance:
        return
    spacing = spacing_policy()
    gap = spacing.min_gap
    tz = clinic_tz()
    monday = week_of(start, tz)
    week = utc_range(monday, monday + dt.timedelta(days=6), tz)
    starts = list(
        Appointment.objects.active()
        .filter(patient_id=patient_id, appointment_type__needs_clearance=True)
        .filter(
            Q(start__gt=start - gap, start__lt=start + gap)
            | Q(start__gte=week.start, start__lt=week.end)
        )
        # With None (a new appointment) this excludes nothing; django-stubs refuses None here.
        .exclude(pk=exclude_id)  # type: ignore[misc]
        .values_list("start", flat=True)
    )
    if (refusal := spacing_refusal(start, starts, spacing, tz)) is not None:
        raise refusal


def check_online_cap(upcoming: int, limit: int) -> None:
    """SchedulingError("too_many_upcoming") when the patient already has `limit` upcoming online
    bookings of the type (`upcoming`, counted under the patient's lock)."""
    if upcoming >= limit:
        raise SchedulingError("too_many_upcoming", limit=limit, phone=settings.CLINIC_PHONE)
