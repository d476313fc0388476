"""The pure rules of online booking: the booking window, age, and when a booking may change."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.models import AppointmentStatus
from scheduling.online.rules import age_on, booking_window, change_refusal, window_refusal
from tests.clinic_time import LA, at

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon, Pacific
WINDOW = booking_window(NOW, min_notice=dt.timedelta(hours=24), max_days_ahead=60, tz=LA)


def test_window_opens_after_the_notice_and_closes_at_the_end_of_the_last_day():
    assert WINDOW.not_before == at(dt.date(2027, 1, 5), 12)
    assert WINDOW.first_day == dt.date(2027, 1, 5)
    assert WINDOW.last_day == dt.date(2027, 3, 5)


@pytest.mark.parametrize(
    ("start", "refusal"),
    [
        (at(dt.date(2027, 1, 5), 11, 59), "too_soon"),
        (at(dt.date(2027, 1, 5), 12), None),
        (at(dt.date(2027, 3, 5), 18), None),
        (at(dt.date(2027, 3, 8), 9), "too_far"),
    ],
)
def test_window_refusals(start, refusal):
    assert window_refusal(start, WINDOW, LA) == refusal


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (dt.date(2009, 1, 4), dt.date(2027, 1, 4), 18),
        (dt.date(2009, 1, 5), dt.date(2027, 1, 4), 17),
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), 17),
        (dt.date(2008, 2, 29), dt.date(2026, 3, 1), 18),
    ],
)
def test_age_on_a_day(born, on, age):
    assert age_on(born, on) == age


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_a_person_is_zero_on_the_day_they_are_born_and_one_a_year_later(born):
    assert age_on(born, born) == 0
    try:
        first_birthday = born.replace(year=born.year + 1)
    except ValueError:  # 29 February
        first_birthday = dt.date(born.year + 1, 3, 1)
    assert age_on(born, first_birthday) == 1
    assert age_on(born, first_birthday - dt.timedelta(days=1)) == 0


CUTOFF = dt.timedelta(hours=24)


@pytest.mark.parametrize(
    ("self_bookable", "status", "hours_ahead", "refusal"),
    [
        (True, AppointmentStatus.BOOKED, 25, None),
        (True, AppointmentStatus.BOOKED, 24, None),
        (True, AppointmentStatus.BOOKED, 23.9, "change_closed"),
        (False, AppointmentStatus.BOOKED, 100, "not_changeable"),
        (True, AppointmentStatus.CANCELLED, 100, "not_changeable"),
        (True, AppointmentStatus.CHECKED_IN, 100, "not_changeable"),
    ],
)
def test_who_may_change_online(self_bookable, status, hours_ahead, refusal):
    start = NOW + dt.timedelta(hours=hours_ahead)
    assert (
        change_refusal(
            self_bookable=self_bookable, status=status, start=start, now=NOW, cutoff=CUTOFF
        )
        == refusal
    )
