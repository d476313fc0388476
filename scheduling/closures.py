"""Closing the clinic for whole days (holidays, training days, a burst pipe), and what happens to
the visits already booked on them: the one home of the rule, called by the staff closure page
(scheduling.calendar.closure_views) and the Django admin (scheduling.admin.ClosureAdmin).

Rule (issue 17): a closure never silently leaves booked visits on a closed day. `closure_save`
refuses (SchedulingError("closure_has_visits")) unless the caller names exactly the open visits it
will cancel, i.e. staff saw the list (`closure_hits`) and chose to cancel them. Then, in the
closure's own transaction, each visit is cancelled through the lifecycle door (history, audit,
reminders off) and its patient's notice is planned there with the clinic's reason; the notices of
one patient share a batch, so each patient gets one message listing their visits. The visits stay
cancelled on the calendar for staff to rebook (the closure page links each one to a new booking).

Concurrency: the closure takes every room's lock (bookings lock the rooms they may use before
they re-check opening hours), so a booking racing the closure either commits first (and is found
here, which refuses because the list staff confirmed has changed) or waits and then sees the
closed day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Collection
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from propel.audit import audit_record
from scheduling.errors import SchedulingError
from scheduling.locking import booking_transaction, lock_resources
from scheduling.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    Closure,
    NoticeReason,
)
from scheduling.notices import ChangeNotice
from scheduling.slots import clinic_tz, utc_range
from scheduling.transitions import appointment_transition


@dataclasses.dataclass(frozen=True)
class ClosureResult:
    closure: Closure
    cancelled: list[int]  # the visits cancelled, by id


def closure_hits(start_date: dt.date, end_date: dt.date) -> list[Appointment]:
    """The open visits (booked, checked in, in progress) on the clinic-local days `start_date` to
    `end_date`, with patient, type and clinician, by start, in one query. What front desk may
    see: names, times and types, no health information."""
    window = utc_range(start_date, end_date, clinic_tz())
    return list(
        Appointment.objects.overlapping(window.start, window.end)
        .filter(status__in=OPEN_STATUSES)
        .select_related("patient", "appointment_type", "clinician", "room")
        .order_by("start", "pk")
    )


def closure_save(
    *,
    start_date: dt.date,
    end_date: dt.date,
    reason: str,
    actor: Any,
    closure_id: int | None = None,
    cancel_ids: Collection[int] | None = None,
    notice_reason: str = NoticeReason.CLOSURE,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> ClosureResult:
    """Save a closure (a new one, or `closure_id`'s new dates and reason), all or nothing.

    The open visits on its days must be exactly `cancel_ids` (staff saw them and chose to cancel
    them): otherwise SchedulingError("closure_has_visits") when they did not choose, or
    ("closure_visits_changed") when the list changed since they saw it; nothing is saved then.
    Each visit is cancelled through appointment_transition with the patient's notice
    (`notice_reason`, one batch per patient). A new closure identical to an existing one (a form
    sent twice) returns the existing one and cancels nothing.
    """
    now = now or timezone.now()
    if end_date < start_date:
        raise SchedulingError("closure_dates")
    with booking_transaction():
        if closure_id is None:
            twin = Closure.objects.filter(start_date=start_date, end_date=end_date).first()
            if twin is not None:
                return ClosureResult(twin, [])
        lock_resources(rooms=Q(), clinicians=None, patient_id=None)
        hits = closure_hits(start_date, end_date)
        _check_choice(hits, cancel_ids)
        closure = _write(closure_id, start_date=start_date, end_date=end_date, reason=reason)
        _cancel(hits, closure, actor=actor, notice_reason=notice_reason, request=request, now=now)
        audit_record(
            action="closure.saved",
            actor=actor,
            request=request,
            obj=closure,
            detail={
                "from": start_date.isoformat(),
                "to": end_date.isoformat(),
                "cancelled": [appointment.pk for appointment in hits],
            },
        )
    return ClosureResult(closure, [appointment.pk for appointment in hits])


def _check_choice(hits: list[Appointment], cancel_ids: Collection[int] | None) -> None:
    found = {appointment.pk for appointment in hits}
    if cancel_ids is None:
        if found:
            raise SchedulingError("closure_has_visits", count=len(found))
        return
    if found != set(cancel_ids):
        raise SchedulingError("closure_visits_changed")


def _write(
    closure_id: int | None, *, start_date: dt.date, end_date: dt.date, reason: str
) -> Closure:
    if closure_id is None:
        return Closure.objects.create(start_date=start_date, end_date=end_date, reason=reason)
    closure = Closure.objects.select_for_update().filter(pk=closure_id).first()
    if closure is None:
        raise SchedulingError("closure_not_found")
    closure.start_date, closure.end_date, closure.reason = start_date, end_date, reason
    closure.save(update_fields=["start_date", "end_date", "reason"])
    return closure


def _cancel(
    hits: list[Appointment],
    closure: Closure,
    *,
    actor: Any,
    notice_reason: str,
    request: HttpRequest | None,
    now: dt.datetime,
) -> None:
    batches: dict[int, uuid.UUID] = {}
    for appointment in hits:
        batch = batches.setdefault(appointment.patient_id, uuid.uuid4())
        appointment_transition(
            appointment_id=appointment.pk,
            to_status=AppointmentStatus.CANCELLED,
            actor=actor,
            reason=f"Clinic closed: {closure.reason}"[:300],
            request=request,
            now=now,
            notice=ChangeNotice(reason=notice_reason, batch=batch),
        )


def closure_cancelled_visits(closure: Closure) -> list[Appointment]:
    """The cancelled visits on the closure's days, for staff to rebook (by start, one query)."""
    window = utc_range(closure.start_date, closure.end_date, clinic_tz())
    return list(
        Appointment.objects.overlapping(window.start, window.end)
        .filter(status=AppointmentStatus.CANCELLED)
        .select_related("patient", "appointment_type", "clinician")
        .order_by("start", "pk")
    )
