"""Online booking by patients: the consultation is the one appointment type they book themselves.

Rules that decide (the booking window, age, whether an appointment may still be changed online)
are pure functions over plain values. The services below own their transaction and call
`scheduling.booking` for every write to appointments and holds. What they tell the patient (the
confirmation, a move or cancellation notice) is a reminder row written in the same transaction
and sent by the dispatch sweep, so a change made while the broker is down is still announced,
once; only the new-link email is queued on the broker after commit. Refusals are
`SchedulingError`s whose messages are written for patients.

Online rules, in the order a booking meets them:
- a repeated submission (same idempotency key) returns the appointment it made, whatever the clock
  says now;
- the start lies between now + ONLINE_MIN_NOTICE and the end of the ONLINE_MAX_DAYS_AHEAD-th day;
- the patient is 18 or over (screening reference, rule A22);
- a patient whose latest submitted screening raised a hard stop is not booked online: the care team
  contacts them (screening reference, rule tiers);
- at most ONLINE_MAX_UPCOMING_CONSULTATIONS future online consultations per patient;
- only opening hours, never staff-only openings (appointment_book, via=ONLINE).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from intake.models import Flag, IntakeSubmission, Patient, Severity, SubmissionStatus
from propel.audit import audit_record
from scheduling.availability import Slot
from scheduling.booking import (
    appointment_book,
    booking_transaction,
    slot_hold_create,
)
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookedVia,
    ReminderKind,
    SlotHold,
)
from scheduling.reminders.plan import reminder_notice_plan
from scheduling.slots import clinic_tz, find_slots
from scheduling.visits.transitions import appointment_transition

CONSULTATION_CODE = "consultation"
ADULT_AGE = 18
# Patients choose from half-hour starts: a phone screen shows a day at a glance. Staff still book
# on the finer SLOT_STEP_MINUTES grid.
PATIENT_SLOT_STEP = dt.timedelta(minutes=30)
ALTERNATIVES = 5
ALTERNATIVE_DAYS_AROUND = 3
RESCHEDULED_REASON = "Rescheduled online by the patient"

CANCEL_REASONS = (
    ("plans_changed", _("My plans changed")),
    ("another_time", _("I will book another time")),
    ("not_needed", _("I no longer need this appointment")),
    ("other", _("Another reason")),
)

ZONE_LABELS = {"America/Los_Angeles": _("Pacific time")}


# Rules -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingWindow:
    """Online starts must be at or after `not_before` and on or before the local `last_day`."""

    not_before: dt.datetime
    first_day: dt.date
    last_day: dt.date


def booking_window(
    now: dt.datetime, *, min_notice: dt.timedelta, max_days_ahead: int, tz: ZoneInfo
) -> BookingWindow:
    not_before = now + min_notice
    return BookingWindow(
        not_before=not_before,
        first_day=not_before.astimezone(tz).date(),
        last_day=now.astimezone(tz).date() + dt.timedelta(days=max_days_ahead),
    )


def window_refusal(start: dt.datetime, window: BookingWindow, tz: ZoneInfo) -> str | None:
    """ "too_soon", "too_far" or None."""
    if start < window.not_before:
        return "too_soon"
    if start.astimezone(tz).date() > window.last_day:
        return "too_far"
    return None


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Whole years from `date_of_birth` to `day` (someone born on 29 February turns a year older
    on 1 March in common years)."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)


def change_refusal(
    *,
    self_bookable: bool,
    status: str,
    start: dt.datetime,
    now: dt.datetime,
    cutoff: dt.timedelta,
) -> str | None:
    """Why a patient may not move or cancel this appointment online ("not_changeable",
    "change_closed"), or None. Only booked consultations, and only until `cutoff` before start."""
    if not self_bookable or status != AppointmentStatus.BOOKED:
        return "not_changeable"
    if start - now < cutoff:
        return "change_closed"
    return None


def zone_label() -> str:
    return str(ZONE_LABELS.get(settings.CLINIC_TIME_ZONE, settings.CLINIC_TIME_ZONE))


# Reading -----------------------------------------------------------------------------------------


def consultation_type() -> AppointmentType | None:
    return AppointmentType.objects.filter(
        code=CONSULTATION_CODE, self_bookable=True, active=True
    ).first()


def current_window(now: dt.datetime) -> BookingWindow:
    return booking_window(
        now,
        min_notice=settings.ONLINE_MIN_NOTICE,
        max_days_ahead=settings.ONLINE_MAX_DAYS_AHEAD,
        tz=clinic_tz(),
    )


def online_slots(
    appointment_type: AppointmentType,
    *,
    start_date: dt.date,
    end_date: dt.date,
    now: dt.datetime,
    hold_key: str | None = None,
    patient_id: int | None = None,
) -> list[Slot]:
    """Bookable starts inside the online window between two local dates (a fixed number of
    queries: find_slots'); with `patient_id`, none that clash with the patient's own."""
    window = current_window(now)
    start_date, end_date = max(start_date, window.first_day), min(end_date, window.last_day)
    if start_date > end_date:
        return []
    return find_slots(
        appointment_type=appointment_type,
        start_date=start_date,
        end_date=end_date,
        include_extra_openings=False,
        not_before=window.not_before,
        step=PATIENT_SLOT_STEP,
        hold_key=hold_key,
        now=now,
        patient_id=patient_id,
    )


@dataclass(frozen=True)
class SlotWeek:
    monday: dt.date
    days: list[tuple[dt.date, list[dt.datetime]]]  # local starts, per local day
    previous: dt.date | None
    next: dt.date | None


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def slot_week(
    appointment_type: AppointmentType,
    *,
    week: dt.date | None,
    now: dt.datetime,
    hold_key: str | None = None,
    patient_id: int | None = None,
) -> SlotWeek:
    """One week of online starts, grouped by local day. `week` is any day of the wanted week;
    outside the online window it snaps to the nearest week inside it. Weekdays without a free
    time are listed too (empty), so a patient sees that the day was considered."""
    window = current_window(now)
    # A window that opens on a weekend starts with the following week: the clinic's own
    # Saturdays are never booked online, so that first week would be empty.
    first_day = window.first_day
    if first_day.weekday() >= 5:
        first_day += dt.timedelta(days=7 - first_day.weekday())
    first, last = _monday(first_day), _monday(window.last_day)
    monday = min(max(_monday(week), first), last) if week else first
    sunday = monday + dt.timedelta(days=6)
    tz = clinic_tz()
    slots = online_slots(
        appointment_type,
        start_date=monday,
        end_date=sunday,
        now=now,
        hold_key=hold_key,
        patient_id=patient_id,
    )
    starts = [slot.start.astimezone(tz) for slot in slots]
    by_day = {day: list(group) for day, group in groupby(starts, key=lambda start: start.date())}
    days = [
        (day, by_day.get(day, []))
        for day in (monday + dt.timedelta(days=offset) for offset in range(7))
        if window.first_day <= day <= window.last_day and (day.weekday() < 5 or day in by_day)
    ]
    return SlotWeek(
        monday=monday,
        days=days,
        previous=monday - dt.timedelta(days=7) if monday > first else None,
        next=monday + dt.timedelta(days=7) if monday < last else None,
    )


def nearest_alternatives(
    appointment_type: AppointmentType,
    *,
    start: dt.datetime,
    now: dt.datetime,
    hold_key: str | None = None,
    patient_id: int | None = None,
    count: int = ALTERNATIVES,
) -> list[dt.datetime]:
    """The `count` free online starts nearest to `start` (within a few days of it), in time
    order, in clinic time."""
    tz = clinic_tz()
    day = start.astimezone(tz).date()
    around = dt.timedelta(days=ALTERNATIVE_DAYS_AROUND)
    slots = online_slots(
        appointment_type,
        start_date=day - around,
        end_date=day + around,
        now=now,
        hold_key=hold_key,
        patient_id=patient_id,
    )
    nearest = sorted(slots, key=lambda slot: (abs(slot.start - start), slot.start))[:count]
    return sorted(slot.start.astimezone(tz) for slot in nearest)


def is_offered(
    appointment_type: AppointmentType,
    start: dt.datetime,
    *,
    now: dt.datetime,
    hold_key: str | None = None,
) -> bool:
    """Whether `start` is one of the online starts free right now."""
    day = start.astimezone(clinic_tz()).date()
    slots = online_slots(appointment_type, start_date=day, end_date=day, now=now, hold_key=hold_key)
    return any(slot.start == start for slot in slots)


def has_hard_stop(patient_id: int) -> bool:
    """Whether the patient's latest submitted screening round raised a hard-stop flag."""
    latest = (
        IntakeSubmission.objects.screenings()
        .filter(patient_id=patient_id, status=SubmissionStatus.SUBMITTED)
        .order_by("-round")
        .values("pk")[:1]
    )
    return Flag.objects.filter(submission__in=latest, severity=Severity.HARD_STOP).exists()


def rescheduled_from(appointment: Appointment) -> Appointment | None:
    """The appointment this one replaced when the patient moved it online, or None.

    online_consultation_reschedule cancels the old appointment and books the new one in one
    transaction with a single `now`, so the old one's cancellation ("Rescheduled online by the
    patient") carries the same instant in the status history as the new one's booking.
    """
    booked_at = (
        appointment.status_changes.filter(from_status="")
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    if booked_at is None:
        return None
    return (
        Appointment.objects.select_related("appointment_type")
        .filter(
            patient_id=appointment.patient_id,
            status_changes__to_status=AppointmentStatus.CANCELLED,
            status_changes__reason=RESCHEDULED_REASON,
            status_changes__at=booked_at,
        )
        .exclude(pk=appointment.pk)
        .order_by("-pk")
        .first()
    )


def questionnaire_status(patient_id: int) -> str:
    """ "none", "draft" or "submitted": the patient's latest screening round, as the patient may
    see it (never its answers or flags)."""
    status = (
        IntakeSubmission.objects.screenings()
        .filter(patient_id=patient_id)
        .order_by("-round")
        .values_list("status", flat=True)
        .first()
    )
    return status or "none"


# Services ----------------------------------------------------------------------------------------


def _refuse(code: str, **params: object) -> SchedulingError:
    return SchedulingError(code, phone=settings.CLINIC_PHONE, **params)


def _check_window(start: dt.datetime, now: dt.datetime) -> None:
    refusal = window_refusal(start, current_window(now), clinic_tz())
    if refusal == "too_soon":
        hours = int(settings.ONLINE_MIN_NOTICE.total_seconds() // 3600)
        raise _refuse("too_soon", hours=hours)
    if refusal == "too_far":
        raise _refuse("too_far", days=settings.ONLINE_MAX_DAYS_AHEAD)


def _serialise_on(key: str) -> None:
    """Make concurrent requests carrying the same idempotency key take turns (a transaction-level
    PostgreSQL advisory lock). SQLite, the demo database, already runs one writer at a time."""
    if connection.vendor == "postgresql":
        number = int.from_bytes(hashlib.sha256(f"online:{key}".encode()).digest()[:8], "big")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number - 2**63])


def _after_commit(task_name: str, *args: int) -> None:
    """Queue a scheduling.tasks task once the transaction commits. A broker that is down must not
    undo a booking that is already made: the failure is logged (robust=True), not raised."""

    def send() -> None:
        from scheduling import tasks

        task: Callable[..., object] = getattr(tasks, task_name)
        task.delay(*args)  # type: ignore[attr-defined]

    transaction.on_commit(send, robust=True)


@dataclass(frozen=True)
class PatientDetails:
    first_name: str
    last_name: str
    date_of_birth: dt.date
    email: str
    mobile: str
    consent_email: bool
    consent_sms: bool

    def matches(self, patient: Patient) -> bool:
        return (
            patient.email.lower() == normalise_email(self.email)
            and patient.date_of_birth == self.date_of_birth
            and patient.last_name.strip().lower() == self.last_name.strip().lower()
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class OnlineBooking:
    appointment: Appointment
    patient: Patient
    # True only when this booking created the patient's record: only then may the person who
    # submitted the form be handed the patient's link on screen.
    new_patient: bool
    replay: bool


def _find_or_create_patient(
    details: PatientDetails, *, now: dt.datetime, request: HttpRequest | None
) -> tuple[Patient, bool]:
    """Match on e-mail and last name (both case-insensitive) and date of birth; otherwise create.

    A matched record is never changed from this form: whoever typed someone else's details must
    not be able to change where that person's messages go.
    """
    email = normalise_email(details.email)
    existing = (
        Patient.objects.filter(
            email__iexact=email,
            date_of_birth=details.date_of_birth,
            last_name__iexact=details.last_name.strip(),
        )
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return existing, False
    patient = Patient.objects.create(
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        date_of_birth=details.date_of_birth,
        email=email,
        mobile=details.mobile,
        consent_email=details.consent_email,
        consent_email_at=now if details.consent_email else None,
        consent_sms=details.consent_sms,
        consent_sms_at=now if details.consent_sms else None,
    )
    audit_record(
        action="patient.created",
        request=request,
        patient_id=patient.pk,
        obj=patient,
        detail={"via": BookedVia.ONLINE},
    )
    return patient, True


def online_slot_hold(
    *, start: dt.datetime, replaces: str | None = None, now: dt.datetime | None = None
) -> SlotHold:
    """Hold an offered consultation start for SLOT_HOLD_MINUTES while the patient fills in the
    form. Raises SchedulingError ("slot_gone", "too_soon", "too_far", "busy", ...) otherwise.
    `replaces` is the same browser's previous hold, released in the same transaction."""
    now = now or timezone.now()
    consultation = consultation_type()
    if consultation is None:
        raise _refuse("online_unavailable")
    _check_window(start, now)
    if not is_offered(consultation, start, now=now, hold_key=replaces):
        raise SchedulingError("slot_gone")
    try:
        return slot_hold_create(
            appointment_type_id=consultation.pk,
            start=start,
            minutes=settings.SLOT_HOLD_MINUTES,
            replaces=replaces,
            now=now,
        )
    except SchedulingError as error:
        if error.code == "busy":
            raise
        raise SchedulingError("slot_gone") from error


SLOT_GONE_CODES = frozenset(
    {
        "slot_gone",
        "no_resource",
        "room_taken",
        "clinician_taken",
        "held",
        "outside_hours",
        "closed",
        "in_past",
        "clinician_off",
        "room_inactive",
    }
)


def _patient_facing(error: SchedulingError) -> SchedulingError:
    """Staff-facing refusals that name a room or clinician become "that time is gone"."""
    if error.code in SLOT_GONE_CODES:
        return SchedulingError("slot_gone")
    if error.code == "patient_taken":
        return SchedulingError("own_clash")
    return error


def online_consultation_book(
    *,
    details: PatientDetails,
    start: dt.datetime,
    hold_key: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> OnlineBooking:
    """Book a consultation for the person described by `details`, finding or creating their
    patient record, or raise SchedulingError with a message for the patient.

    Idempotent on `hold_key` (also the appointment's idempotency key): submitting again returns
    the same appointment (`replay=True`, and no second email) as long as the details describe the
    same patient. Requests with the same key take turns on an advisory lock, so a double click
    cannot create the patient twice. The hold, if still live, gives its room and clinician and is
    released; an expired hold is no obstacle if the time is still free. Nothing is written when the
    booking is refused. The confirmation email is queued after commit.
    """
    now = now or timezone.now()
    consultation = consultation_type()
    if consultation is None:
        raise _refuse("online_unavailable")
    try:
        with booking_transaction():
            _serialise_on(hold_key)
            existing = (
                Appointment.objects.select_related("patient")
                .filter(idempotency_key=hold_key)
                .first()
            )
            if existing is not None:
                if not details.matches(existing.patient):
                    raise SchedulingError("key_reused")
                return OnlineBooking(existing, existing.patient, new_patient=False, replay=True)
            _check_window(start, now)
            if age_on(details.date_of_birth, now.astimezone(clinic_tz()).date()) < ADULT_AGE:
                raise _refuse("under_18")
            patient, created = _find_or_create_patient(details, now=now, request=request)
            if not created and has_hard_stop(patient.pk):
                raise _refuse("care_team")
            appointment = appointment_book(
                patient_id=patient.pk,
                appointment_type_id=consultation.pk,
                start=start,
                via=BookedVia.ONLINE,
                request=request,
                now=now,
                hold_key=hold_key,
                idempotency_key=hold_key,
                max_online_upcoming=settings.ONLINE_MAX_UPCOMING_CONSULTATIONS,
            )
    except SchedulingError as error:
        raise _patient_facing(error) from error
    return OnlineBooking(appointment, patient, new_patient=created, replay=False)


def _own_appointment(patient_id: int, appointment_id: int) -> Appointment:
    appointment = (
        Appointment.objects.select_related("appointment_type")
        .filter(pk=appointment_id, patient_id=patient_id)
        .first()
    )
    if appointment is None:
        raise SchedulingError("not_found")
    return appointment


def _check_changeable(appointment: Appointment, now: dt.datetime) -> None:
    refusal = change_refusal(
        self_bookable=appointment.appointment_type.self_bookable,
        status=appointment.status,
        start=appointment.start,
        now=now,
        cutoff=settings.ONLINE_CHANGE_CUTOFF,
    )
    if refusal is not None:
        hours = int(settings.ONLINE_CHANGE_CUTOFF.total_seconds() // 3600)
        raise _refuse(refusal, hours=hours)


def online_consultation_reschedule(
    *,
    patient_id: int,
    appointment_id: int,
    start: dt.datetime,
    idempotency_key: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move the patient's own consultation to `start`: in one transaction the old appointment is
    cancelled (its sequence bumped) and the new one booked, so if the new time cannot be booked the
    old one stays. Same online rules as a new booking (window, hard stop), except the cap: a move
    adds nothing. Idempotent on `idempotency_key`. The notice of the move (an email with both
    calendar entries) is planned in the same transaction (reminder_notice_plan) and sent by the
    dispatch sweep. Returns the new appointment."""
    now = now or timezone.now()
    try:
        with booking_transaction():
            _serialise_on(idempotency_key)
            existing = Appointment.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.patient_id != patient_id:
                    raise SchedulingError("key_reused")
                return existing
            old = _own_appointment(patient_id, appointment_id)
            _check_changeable(old, now)
            _check_window(start, now)
            if has_hard_stop(patient_id):
                raise _refuse("care_team")
            appointment_transition(
                appointment_id=old.pk,
                to_status=AppointmentStatus.CANCELLED,
                as_patient=True,
                reason=RESCHEDULED_REASON,
                request=request,
                now=now,
            )
            new = appointment_book(
                patient_id=patient_id,
                appointment_type_id=old.appointment_type_id,
                start=start,
                via=BookedVia.ONLINE,
                request=request,
                now=now,
                idempotency_key=idempotency_key,
            )
            reminder_notice_plan(
                appointment_id=new.pk, kind=ReminderKind.RESCHEDULED_NOTICE, now=now
            )
    except SchedulingError as error:
        raise _patient_facing(error) from error
    return new


def online_consultation_cancel(
    *,
    patient_id: int,
    appointment_id: int,
    reason: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Cancel the patient's own consultation until ONLINE_CHANGE_CUTOFF before it starts.

    Cancelling an appointment that is already cancelled returns it unchanged (a double click).
    `reason` is one of CANCEL_REASONS' codes (never free text: the history and the audit log
    must not collect health details). The cancellation notice is planned in the same transaction
    (reminder_notice_plan) and sent by the dispatch sweep."""
    now = now or timezone.now()
    labels = dict(CANCEL_REASONS)
    appointment = _own_appointment(patient_id, appointment_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    _check_changeable(appointment, now)
    text = "Cancelled online by the patient"
    if reason in labels:
        text = f"{text}: {labels[reason]}"
    with transaction.atomic():
        appointment = appointment_transition(
            appointment_id=appointment.pk,
            to_status=AppointmentStatus.CANCELLED,
            as_patient=True,
            reason=text,
            request=request,
            now=now,
        )
        reminder_notice_plan(
            appointment_id=appointment.pk, kind=ReminderKind.CANCELLED_NOTICE, now=now
        )
    return appointment


def patient_link_request(*, email: str) -> None:
    """Email every patient with this address a fresh link to their page (queued after commit).

    Returns nothing, so no caller can tell a known address from an unknown one.
    """
    patient_ids = list(
        Patient.objects.filter(email__iexact=normalise_email(email)).values_list("pk", flat=True)
    )
    with transaction.atomic():
        for patient_id in patient_ids:
            _after_commit("send_patient_link", patient_id)
