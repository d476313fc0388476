"""What a booking or a move re-checks under its locks (scheduling.booking), before it chooses a
room and clinician: the lifecycle table's word (who may, not in the past, a clearance when the
type's policy, re-read now, needs one), the clinic's infusion spacing, and the cap on a patient's
online bookings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import formats

from intake.clearance import clearance_refusal, has_valid_clearance
from scheduling.errors import SchedulingError
from scheduling.lifecycle import Action, Facts, When, parties_of, refusals
from scheduling.models import Appointment, AppointmentStatus, AppointmentType, BookedVia
from scheduling.policy import spacing_policy
from scheduling.slots import clinic_tz, utc_range
from scheduling.spacing import first_too_close, week_is_full, week_of


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
    treatment = _needs_clearance_now(appointment_type)
    facts = Facts(
        status=None if action == Action.BOOK else AppointmentStatus.BOOKED,
        start=start,
        treatment=treatment,
        clearance=(not treatment) or has_valid_clearance(patient_id, start),
    )
    parties = parties_of(actor, as_patient=as_patient)
    for refusal in refusals(action, facts, parties, now=now, tz=clinic_tz()):
        if refusal.code == When.BEFORE_START:
            raise SchedulingError("in_past")
        if refusal.code == "clearance":
            raise SchedulingError(
                "needs_clearance", why=clearance_refusal(patient_id, start, now=now)
            )
        raise SchedulingError("not_allowed")


def check_infusion_spacing(
    appointment_type: AppointmentType,
    *,
    patient_id: int,
    start: dt.datetime,
    exclude_id: int | None = None,
) -> None:
    """For treatment visits (types that need clearance), the patient's other active treatment
    visits keep the clinic's spacing (scheduling.spacing, as scheduling.policy sets it): at least
    the minimum gap away, and no more than the weekly cap in one Monday-Sunday clinic week; the
    course rules hold for every infusion, in a course or not. Call under the patient's row lock."""
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
    if (other := first_too_close(start, starts, spacing)) is not None:
        raise SchedulingError(
            "infusion_too_close",
            hours=f"{gap.total_seconds() / 3600:g}",
            when=formats.date_format(other.astimezone(tz), "D M j, g:i A"),
        )
    if week_is_full(start, starts, spacing, tz):
        raise SchedulingError("infusion_week_full", limit=spacing.max_per_week)


def check_online_cap(
    patient_id: int, appointment_type: AppointmentType, limit: int, now: dt.datetime
) -> None:
    upcoming = (
        Appointment.objects.active()
        .filter(
            patient_id=patient_id,
            appointment_type=appointment_type,
            booked_via=BookedVia.ONLINE,
            start__gt=now,
        )
        .count()
    )
    if upcoming >= limit:
        raise SchedulingError("too_many_upcoming", limit=limit, phone=settings.CLINIC_PHONE)
