"""scheduling.online.slot_days: morning / afternoon / evening by the wall clock, at most 20
times shown (the rest behind "more times"), the row of days by fortnight, next available."""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given
from hypothesis import strategies as st

from scheduling.online.slot_days import (
    MOST_SHOWN,
    group_name,
    settled,
    slot_days,
    time_groups,
)
from tests.clinic_time import LA, MONDAY, TUESDAY, WEDNESDAY, at

FIRST, LAST = TUESDAY, TUESDAY + dt.timedelta(days=60)


def half_hours(day: dt.date, first: int, last: int) -> list[dt.datetime]:
    """Starts every half hour from first:00 to last:00 inclusive."""
    return [
        at(day, first) + dt.timedelta(minutes=30 * step) for step in range(2 * (last - first) + 1)
    ]


def test_groups_split_at_noon_and_five():
    assert [group_name(at(TUESDAY, 11, 30)), group_name(at(TUESDAY, 12))] == [
        "morning",
        "afternoon",
    ]
    assert [group_name(at(TUESDAY, 16, 30)), group_name(at(TUESDAY, 17))] == [
        "afternoon",
        "evening",
    ]


def test_up_to_twenty_times_are_all_shown():
    starts = half_hours(TUESDAY, 9, 18)  # 19, the clinic's full day
    groups = time_groups(starts)
    assert [group.name for group in groups] == ["morning", "afternoon", "evening"]
    assert [start for group in groups for start in group.shown] == starts
    assert not any(group.more for group in groups)


def test_more_than_twenty_shows_the_first_of_each_group_and_keeps_the_rest():
    starts = half_hours(TUESDAY, 7, 21)  # 29 starts
    groups = time_groups(starts)
    shown = [start for group in groups for start in group.shown]
    assert len(shown) <= MOST_SHOWN
    assert sorted(shown + [start for group in groups for start in group.more]) == starts
    assert all(group.shown == group.shown[:6] and group.shown for group in groups)
    assert groups[0].shown[0] == at(TUESDAY, 7)


def test_no_day_wanted_shows_the_first_with_a_free_time():
    days = slot_days({WEDNESDAY: [at(WEDNESDAY, 10)]}, first_day=FIRST, last_day=LAST, wanted=None)
    assert days.day == WEDNESDAY
    assert days.next_available is None
    assert days.first_start == at(WEDNESDAY, 10)
    assert days.row[:2] == [(TUESDAY, 0), (WEDNESDAY, 1)]


def test_a_day_without_times_names_the_next_with_one():
    later = TUESDAY + dt.timedelta(days=30)
    days = slot_days({later: [at(later, 9)]}, first_day=FIRST, last_day=LAST, wanted=TUESDAY)
    assert days.day == TUESDAY and days.groups == []
    assert days.next_available == later
    assert days.later == TUESDAY + dt.timedelta(days=14)  # the next row's first day (none free)


def test_days_outside_the_window_fall_back_to_the_first_available():
    starts = {WEDNESDAY: [at(WEDNESDAY, 9)]}
    for wanted in (MONDAY, FIRST - dt.timedelta(days=400), LAST + dt.timedelta(days=1)):
        assert slot_days(starts, first_day=FIRST, last_day=LAST, wanted=wanted).day == WEDNESDAY


def test_the_row_pages_by_fortnight_and_stops_at_the_window():
    last = TUESDAY + dt.timedelta(days=20)
    day = TUESDAY + dt.timedelta(days=15)
    days = slot_days({day: [at(day, 9)]}, first_day=FIRST, last_day=last, wanted=day)
    assert days.row[0][0] == TUESDAY + dt.timedelta(days=14)
    assert days.row[-1][0] == last
    assert days.earlier == TUESDAY and days.later is None


def test_a_window_opening_on_a_saturday_starts_its_row_on_monday():
    saturday = dt.date(2027, 1, 9)
    monday = dt.date(2027, 1, 11)
    days = slot_days({monday: [at(monday, 9)]}, first_day=saturday, last_day=LAST, wanted=saturday)
    assert days.day == monday
    assert days.row[0] == (monday, 1)
    assert days.first_start.tzinfo == LA


def test_an_empty_window_shows_nothing_and_links_nowhere():
    days = slot_days({}, first_day=FIRST, last_day=FIRST - dt.timedelta(days=1), wanted=None)
    assert (days.row, days.groups, days.next_available, days.later) == ([], [], None, None)


@given(
    first_day=st.sampled_from([TUESDAY, TUESDAY + dt.timedelta(days=4)]),  # a Tuesday, a Saturday
    free=st.sets(st.integers(0, 60), max_size=12),
    wanted=st.none() | st.integers(-2, 62),
)
@example(first_day=TUESDAY, free={0, 50}, wanted=20)  # the next available day is far on
@example(first_day=TUESDAY, free={45}, wanted=None)  # so is the first
def test_a_settled_prefix_shows_what_the_whole_window_shows(first_day, free, wanted):
    """The slot page computes the days from the window's first only as far as a page needs: for
    every prefix `settled` accepts, the picker is the one the whole window gives."""
    last_day = first_day + dt.timedelta(days=60)
    by_day = {
        first_day + dt.timedelta(days=n): [at(first_day + dt.timedelta(days=n), 10)] for n in free
    }
    day = None if wanted is None else first_day + dt.timedelta(days=wanted)
    whole = slot_days(by_day, first_day=first_day, last_day=last_day, wanted=day)
    for known in range(61):
        through = first_day + dt.timedelta(days=known)
        prefix = {one: starts for one, starts in by_day.items() if one <= through}
        if settled(prefix, first_day=first_day, last_day=last_day, through=through, wanted=day):
            assert slot_days(prefix, first_day=first_day, last_day=last_day, wanted=day) == whole
    assert settled(by_day, first_day=first_day, last_day=last_day, through=last_day, wanted=day)
