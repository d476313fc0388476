"""The spacing rule of treatment visits (scheduling.spacing): 48 hours apart, two a week."""

from __future__ import annotations

import datetime as dt

from scheduling.availability import Interval
from scheduling.spacing import Spacing, first_too_close, keep_away, too_close, week_is_full, week_of
from tests.clinic_time import LA, at

RULE = Spacing()
MONDAY = dt.date(2027, 3, 8)  # the week before clocks go forward on Sunday 14 March


def test_exactly_the_gap_apart_is_fine_a_minute_less_is_not():
    start = at(MONDAY, 10)
    assert not too_close(start, start + dt.timedelta(hours=48), RULE)
    assert too_close(start, start + dt.timedelta(hours=47, minutes=59), RULE)
    assert too_close(start + dt.timedelta(hours=47, minutes=59), start, RULE)


def test_the_gap_is_elapsed_time_across_a_clock_change():
    saturday = at(dt.date(2027, 3, 13), 10)
    monday_same_wall_time = at(dt.date(2027, 3, 15), 10)  # 47 real hours later (spring forward)
    assert too_close(saturday, monday_same_wall_time, RULE)


def test_first_too_close_names_the_earliest_clash():
    start = at(MONDAY, 10)
    others = [at(MONDAY + dt.timedelta(days=1), 9), at(MONDAY - dt.timedelta(days=1), 12)]
    assert first_too_close(start, others, RULE) == others[1]
    assert first_too_close(start, [at(MONDAY + dt.timedelta(days=3), 10)], RULE) is None


def test_weeks_run_monday_to_sunday_in_clinic_time():
    assert week_of(at(dt.date(2027, 3, 14), 23, 30), LA) == MONDAY  # Sunday late, UTC Monday
    assert week_of(at(dt.date(2027, 3, 15), 0, 30), LA) == dt.date(2027, 3, 15)


def test_a_week_with_two_treatments_is_full():
    start = at(MONDAY + dt.timedelta(days=4), 10)
    one = [at(MONDAY, 10)]
    two = [*one, at(MONDAY + dt.timedelta(days=2), 10)]
    assert not week_is_full(start, one, RULE, LA)
    assert week_is_full(start, two, RULE, LA)
    assert not week_is_full(start + dt.timedelta(days=3), two, RULE, LA)  # next Monday


def test_keep_away_blocks_exactly_the_starts_within_the_gap():
    existing = at(MONDAY, 10)
    duration = dt.timedelta(minutes=120)
    (busy,) = keep_away([existing], RULE, duration)
    assert busy == Interval(existing - RULE.min_gap + duration, existing + RULE.min_gap)
    for offset_hours in (-48, -47, 0, 47, 48):
        start = existing + dt.timedelta(hours=offset_hours)
        overlaps = start < busy.end and start + duration > busy.start
        assert overlaps == too_close(start, existing, RULE), offset_hours
