"""Booking one or more sessions as one batch: the guard every booking, move, hold and course
goes through (scheduling.booking, scheduling.holds, scheduling.courses.services,
scheduling.online.booking).

Inside the caller's booking transaction (scheduling.locking.booking_transaction):

1. `batch_lock`: one lock set, in the fixed order (rooms, clinicians, the patient, each by
   ascending id), whatever the number of sessions: one query for each kind, the candidates given
   as filters (scheduling.resources.candidates).
2. `batch_place`: read once what every session is checked against (the type's policy and the
   clearance, scheduling.rechecks; the calendar, working hours and what is taken,
   scheduling.booking_facts), then check each session in time order with the same pure rules a
   single booking uses (lifecycle, online cap, spacing, opening hours, room and clinician), each
   session seeing the ones placed before it. A refusal raises SessionRefused naming the session.
3. `batch_book`: insert the appointments, their status history, their reminder rows
   (scheduling.reminder_plan) and the audit events, one INSERT each; the hold used is released.

The query count does not grow with the number of sessions. The PostgreSQL exclusion constraints
stay the last word: an overlap that slipped past the checks (a writer that took no locks) fails
the insert, and becomes the same domain error for the session it names.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from intake.models import Patient, SubmissionStatus
from scheduling.audit import audit_patient_events
from scheduling.availability import Interval
from scheduling.blocked import as_taken, blocked_refusal
from scheduling.booking_facts import ClinicFacts, Window, WindowQuery, load_booking_facts
from scheduling.compiled_locks import lock_candidates
from scheduling.errors import SchedulingError
from scheduling.fixed_insert import insert_instances, insert_rows
from scheduling.lifecycle import Action
from scheduling.models import (
    Appointment,
    AppointmentStatusChange,
    AppointmentType,
    BookedVia,
    Clinician,
    InfusionCourse,
    Room,
    SlotHold,
)
from scheduling.policy import spacing_policy
from scheduling.rechecks import (
    LifecycleCheck,
    check_online_cap,
    lifecycle_check,
    spacing_refusal,
)
from scheduling.reminder_plan import reminders_plan_booked
from scheduling.resources import (
    Choice,
    Taken,
    check_open,
    choose_resources,
    error_from_constraint,
)
from scheduling.slots import clinic_tz
from scheduling.spacing import Spacing


def aware_utc(moment: dt.datetime, *, name: str) -> dt.datetime:
    """`moment` in UTC; ValueError for a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    # Elapsed minutes, whatever the clock does: aware arithmetic in a local zone is wall-clock.
    return moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class Batch:
    """One booking of `starts` (UTC, in time order) for one patient and type.

    `action`: Action.BOOK, Action.MOVE (`exclude_id` the appointment moved, not a clash with
    itself), or None for a slot hold (no patient, no lifecycle). `room_id`/`clinician_id`: the
    ones staff named. `hold_key`: the booking's own live hold, not busy for it, whose room and
    clinician it takes (released once booked). `max_online_upcoming`: the cap on the patient's
    upcoming online bookings of the type. `confirm`/`confirm_batch`: the confirmation and its
    batch (scheduling.reminder_plan). `course_id`: the InfusionCourse the sessions belong to;
    `course`: the course they make up, booked with them (its "course.booked" event is written
    with theirs). `cleared_days`: the days of `starts` the patient's clearance covers, when the
    caller read them just before (a course); else the batch reads them under its locks.
    """

    patient_id: int | None
    appointment_type: AppointmentType
    starts: tuple[dt.datetime, ...]
    now: dt.datetime
    action: Action | None = Action.BOOK
    via: str = BookedVia.STAFF
    as_patient: bool = False
    actor: Any = None
    request: HttpRequest | None = None
    room_id: int | None = None
    clinician_id: int | None = None
    hold_key: str | None = None
    idempotency_key: str | None = None
    max_online_upcoming: int | None = None
    exclude_id: int | None = None
    confirm: bool = True
    confirm_batch: uuid.UUID | None = None
    course_id: int | None = None
    course: InfusionCourse | None = None
    cleared_days: frozenset[dt.date] | None = None

    @property
    def sessions(self) -> list[Interval]:
        duration = self.appointment_type.duration
        return [Interval(start, start + duration) for start in self.starts]

    @property
    def include_extra(self) -> bool:
        """Staff book and move into extra openings (open Saturdays); patients online may not."""
        return self.via == BookedVia.STAFF or self.action == Action.MOVE


class SessionRefused(Exception):
    """Session `index` (0-based, in time order) of a batch was refused with `error`; nothing of
    the batch may be kept (the caller's transaction rolls back)."""

    def __init__(self, index: int, error: SchedulingError) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


@dataclass
class Locked:
    """The rows batch_lock locked: rooms and clinicians in id order (a caller may reorder them
    to say which it prefers), the patient, and what was read with the patient: the status of
    their latest screening round (for the reminder plan) and, when the batch has an idempotency
    key, the appointment already booked with it and that appointment's patient (`keyed`)."""

    rooms: list[Room]
    clinicians: list[Clinician]
    patient: Patient | None
    screening: str | None = None
    keyed: tuple[int, int] | None = None


def batch_lock(batch: Batch, *, also_clinician_id: int | None = None) -> Locked:
    """SessionRefused for a session already started; else lock the candidate rooms, the candidate
    clinicians (and `also_clinician_id`: a moved appointment's own) and the patient
    (scheduling.locking's order) for the rest of the caller's transaction. With `hold_key` naming
    a live hold for the type at the first start (and no room or clinician named), only the hold's
    room and clinician are candidates."""
    for index, start in enumerate(batch.starts):
        if start <= batch.now:
            raise SessionRefused(index, SchedulingError("in_past"))
    hold = (batch.hold_key, batch.starts[0], batch.now) if batch.hold_key else None
    try:
        # The three lock queries compiled once per shape (scheduling.compiled_locks).
        rooms, clinicians, patient = lock_candidates(
            batch.appointment_type,
            room_id=batch.room_id,
            clinician_id=batch.clinician_id,
            hold=hold,
            also_clinician_id=also_clinician_id,
            patient_id=batch.patient_id,
            key=batch.idempotency_key,
        )
    except Patient.DoesNotExist:
        raise SessionRefused(0, SchedulingError("patient_not_found")) from None
    # Annotated by lock_resources.
    screening = getattr(patient, "screening", None)
    keyed_id = getattr(patient, "keyed", None)
    keyed = (keyed_id, getattr(patient, "keyed_for", 0)) if keyed_id is not None else None
    return Locked(rooms, clinicians, patient, screening, keyed)


@dataclass(frozen=True)
class Placement:
    """Where one session goes."""

    start: dt.datetime
    end: dt.datetime
    room: Room
    clinician: Clinician | None


@dataclass
class _Placer:
    """Places the sessions one after another against what was loaded, each seeing the earlier
    ones: booked, and counted for the spacing rule and the online cap."""

    batch: Batch
    locked: Locked
    lifecycle: LifecycleCheck | None
    facts: ClinicFacts
    window: Window
    spacing: Spacing | None
    placed: list[Taken] = field(default_factory=list)

    def place(self, session: Interval) -> Placement:
        batch, facts = self.batch, self.facts
        start, end = session.start, session.end
        if self.lifecycle is not None:
            self.lifecycle.check(start, now=batch.now)
        if batch.max_online_upcoming is not None:
            online = len(self.placed) if batch.via == BookedVia.ONLINE else 0
            check_online_cap(self.window.online_upcoming + online, batch.max_online_upcoming)
        if self.spacing is not None:
            others = [*self.window.treatments, *(taken.start for taken in self.placed)]
            refusal = spacing_refusal(start, others, self.spacing, facts.calendar.tz)
            if refusal is not None:
                raise refusal
        check_open(
            start,
            end,
            include_extra=batch.include_extra,
            calendar=facts.calendar,
            closures=facts.closures,
        )
        room, clinician = self._choose(start, end)
        clinician_id = clinician.pk if clinician else None
        self.placed.append(Taken(room.pk, clinician_id, batch.patient_id, start, end))
        return Placement(start, end, room, clinician)

    def _choose(self, start: dt.datetime, end: dt.datetime) -> tuple[Room, Clinician | None]:
        """The first free room and clinician; blocked time (scheduling.blocked) makes them busy,
        and a room or clinician staff named, or the last candidates, blocked then is refused
        naming them and the blocked span."""
        batch, locked, blocked = self.batch, self.locked, self.window.blocked
        named = blocked_refusal(
            start,
            end,
            blocked,
            rooms=locked.rooms if batch.room_id is not None else [],
            clinicians=locked.clinicians if batch.clinician_id is not None else [],
        )
        if named is not None:
            raise named
        try:
            return choose_resources(
                start=start,
                end=end,
                appointment_type=batch.appointment_type,
                choice=Choice(
                    rooms=locked.rooms,
                    clinicians=locked.clinicians,
                    explicit_room=batch.room_id is not None,
                    explicit_clinician=batch.clinician_id is not None,
                    hours=self.facts.hours,
                ),
                calendar=self.facts.calendar,
                booked=[*self.window.booked, *self.placed, *as_taken(blocked)],
                held=self.window.held,
                patient_id=batch.patient_id,
            )
        except SchedulingError as error:
            if error.code != "no_resource":
                raise
            refusal = blocked_refusal(
                start, end, blocked, rooms=locked.rooms, clinicians=locked.clinicians
            )
            raise refusal or error from None


def batch_place(batch: Batch, locked: Locked) -> list[Placement]:
    """Where each session goes, checked in time order (see the module docstring); SessionRefused
    for the first that cannot be booked. Call under batch_lock's locks."""
    sessions = batch.sessions
    lifecycle = None
    if batch.action is not None and batch.patient_id is not None:
        lifecycle = lifecycle_check(
            batch.action,
            appointment_type=batch.appointment_type,
            patient_id=batch.patient_id,
            starts=batch.starts,
            actor=batch.actor,
            as_patient=batch.as_patient,
            cleared_days=batch.cleared_days,
        )
    # The spacing rule follows the type as loaded before the locks (the lifecycle check re-reads
    # the clearance policy itself).
    spacing = spacing_policy() if batch.appointment_type.needs_clearance else None
    facts, window = load_booking_facts(
        WindowQuery(
            sessions=sessions,
            room_ids=[room.pk for room in locked.rooms],
            clinician_ids=[clinician.pk for clinician in locked.clinicians],
            patient_id=batch.patient_id,
            now=batch.now,
            tz=clinic_tz(),
            hold_key=batch.hold_key,
            exclude_id=batch.exclude_id,
            spacing=spacing,
            online_type=batch.appointment_type if batch.max_online_upcoming is not None else None,
        )
    )
    placer = _Placer(batch, locked, lifecycle, facts, window, spacing)
    placements = []
    for index, session in enumerate(sessions):
        try:
            placements.append(placer.place(session))
        except SchedulingError as error:
            raise SessionRefused(index, error) from error
    return placements


def batch_book(batch: Batch, locked: Locked) -> list[Appointment]:
    """Place and write every session of `batch` (see the module docstring), under batch_lock's
    locks; returns the appointments in time order. SessionRefused for the first session that
    cannot be booked; an IntegrityError other than an overlap (the idempotency key's unique
    constraint) is raised as it is, for the caller to answer after its rollback."""
    placements = batch_place(batch, locked)
    appointments = _insert(batch, placements)
    _record(batch, locked, appointments)
    return appointments


def _insert(batch: Batch, placements: Sequence[Placement]) -> list[Appointment]:
    if batch.patient_id is None:
        raise ValueError("a booking needs its patient")
    rows = [
        Appointment(
            patient_id=batch.patient_id,
            appointment_type=batch.appointment_type,
            start=placement.start,
            end=placement.end,
            room=placement.room,
            clinician=placement.clinician,
            booked_via=batch.via,
            booked_by=batch.actor,
            idempotency_key=batch.idempotency_key or None,
            course_id=batch.course_id,
        )
        for placement in placements
    ]
    if len(rows) == 1:
        # No savepoint: a refusal rolls back the caller's booking transaction anyway.
        try:
            insert_instances(rows)
        except IntegrityError as error:
            raise SessionRefused(
                0, error_from_constraint(error, placements[0].room, placements[0].clinician)
            ) from error
        return rows
    try:
        with transaction.atomic():
            insert_instances(rows)
        return rows
    except IntegrityError:
        return _insert_one_by_one(rows, placements)


def _insert_one_by_one(
    rows: list[Appointment], placements: Sequence[Placement]
) -> list[Appointment]:
    """After the batch's INSERT met a constraint: insert row by row to find the session it
    refused (something booked without taking the locks), and raise its error."""
    for index, (row, placement) in enumerate(zip(rows, placements, strict=True)):
        row.pk = None
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError as error:
            raise SessionRefused(
                index, error_from_constraint(error, placement.room, placement.clinician)
            ) from error
    return rows


def _record(batch: Batch, locked: Locked, appointments: list[Appointment]) -> None:
    """Status history, reminder rows and audit events for the new appointments, in their
    transaction; the hold used is released."""
    by_id = batch.actor.pk if batch.actor is not None else None
    insert_rows(
        AppointmentStatusChange,
        [
            {"appointment_id": a.pk, "to_status": a.status, "at": batch.now, "by_id": by_id}
            for a in appointments
        ],
    )
    if locked.patient is None:
        raise ValueError("a booking needs its patient")
    # Reminder rows in the booking's own transaction: no broker needed
    # (scheduling.reminders.dispatch).
    reminders_plan_booked(
        appointments=appointments,
        patient=locked.patient,
        screening_submitted=locked.screening == SubmissionStatus.SUBMITTED,
        now=batch.now,
        confirmation=batch.confirm,
        batch=batch.confirm_batch,
    )
    detail = {"type": batch.appointment_type.code, "via": batch.via}
    events: list[tuple[Appointment | InfusionCourse, str, dict[str, Any]]] = [
        (appointment, "appointment.booked", detail) for appointment in appointments
    ]
    if batch.course is not None:
        events.append(
            (
                batch.course,
                "course.booked",
                {"sessions": len(appointments), "appointments": [a.pk for a in appointments]},
            )
        )
    audit_patient_events(events, actor=batch.actor, request=batch.request)
    if batch.hold_key:
        SlotHold.objects.filter(key=batch.hold_key).delete()
