"""Online booking's rules: the consultation is the one appointment type patients book themselves.

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
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from intake.models import Patient
from scheduling.locking import with_lock_timeout
from scheduling.models import (
    AppointmentStatus,
    AppointmentType,
)
from scheduling.slots import clinic_tz

CONSULTATION_CODE = "consultation"
ADULT_AGE = 18
# Patients choose from half-hour starts: a phone screen shows a day at a glance. Staff still book
# on the finer SLOT_STEP_MINUTES grid.
PATIENT_SLOT_STEP = dt.timedelta(minutes=30)
ALTERNATIVES = 5
ALTERNATIVE_DAYS_AROUND = 3

CANCEL_REASONS = (
    ("plans_changed", _("My plans changed")),
    ("another_time", _("I will book another time")),
    ("not_needed", _("I no longer need this appointment")),
    ("other", _("Another reason")),
)


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


# Reading -----------------------------------------------------------------------------------------


def consultation_type(*, sets_lock_timeout: bool = False) -> AppointmentType | None:
    """The consultation, when patients may book it. `sets_lock_timeout`: the read is a booking
    transaction's first (scheduling.locking.with_lock_timeout)."""
    types = AppointmentType.objects.filter(code=CONSULTATION_CODE, self_bookable=True, active=True)
    return (with_lock_timeout(types) if sets_lock_timeout else types).first()


def current_window(now: dt.datetime) -> BookingWindow:
    return booking_window(
        now,
        min_notice=settings.ONLINE_MIN_NOTICE,
        max_days_ahead=settings.ONLINE_MAX_DAYS_AHEAD,
        tz=clinic_tz(),
    )


@dataclass(frozen=True)
class PatientDetails:
    first_name: str
    last_name: str
    date_of_birth: dt.date
    email: str
    mobile: str
    consent_email: bool
    consent_sms: bool
    # The language the form was filled in ("" for the active one): a new patient prefers it.
    language: str = ""

    def matches(self, patient: Patient) -> bool:
        return (
            patient.email.lower() == normalise_email(self.email)
            and patient.date_of_birth == self.date_of_birth
            and patient.last_name.strip().lower() == self.last_name.strip().lower()
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()
