"""The course planner (scheduling.courses.planner): pure rules, no database."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import pairwise

import pytest

from scheduling.availability import ClinicCalendar, Interval
from scheduling.courses.planner import (
    CourseRules,
    PlanError,
    check_course,
    course_problems,
    plan_course,
    week_of,
)
from tests.clinic_time import LA, MONDAY, at

RULES = CourseRules()
TWO_HOURS = dt.timedelta(hours=2)
WEEKDAYS = frozenset(range(5))
CALENDAR = ClinicCalendar(tz=LA, weekly={day: [(dt.time(9), dt.time(19))] for day in range(5)})


def plan(**overrides):
    arguments = {
        "sessions": 6,
        "weeks": 6,
        "start_date": MONDAY,
        "weekdays": WEEKDAYS,
        "window": (dt.time(10), dt.time(12)),
        "duration": TWO_HOURS,
        "calendar": CALENDAR,
        "rules": RULES,
        "tz": LA,
    } | overrides
    return plan_course(**arguments)


def assert_keeps_the_rules(starts, *, window=(dt.time(10), dt.time(12)), calendar=CALENDAR):
    assert starts == sorted(starts)
    for before, after in pairwise(starts):
        assert after - before >= dt.timedelta(hours=48)
    assert max(Counter(week_of(start, LA) for start in starts).values()) <= 2
    for start in starts:
        local = start.astimezone(LA)
        assert window[0] <= local.time() <= window[1]
        assert calendar.is_open_for(start, start + TWO_HOURS, include_extra=False)
    assert check_course(starts, rules=RULES, tz=LA) == []


@pytest.mark.parametrize(("sessions", "weeks"), [(4, 4), (6, 6), (8, 4), (8, 8), (6, 4), (5, 8)])
def test_every_plan_keeps_spacing_weekly_cap_window_and_hours(sessions, weeks):
    starts = plan(sessions=sessions, weeks=weeks)
    assert len(starts) == sessions
    assert_keeps_the_rules(starts)
    last = MONDAY + dt.timedelta(weeks=weeks, days=-1)
    assert starts[-1].astimezone(LA).date() <= last
    assert all(start.tzinfo is not None for start in starts)


def test_a_course_of_one_per_week_is_spread_a_week_apart():
    starts = plan(sessions=6, weeks=6, window=(dt.time(10), dt.time(10)))
    assert starts == [at(MONDAY + dt.timedelta(weeks=n), 10) for n in range(6)]


def test_eight_in_four_weeks_are_spread_twice_a_week_evenly():
    starts = plan(sessions=8, weeks=4)
    gaps = {(after - before).days for before, after in pairwise(starts)}
    assert gaps <= {3, 4}
    assert Counter(week_of(start, LA) for start in starts) == {
        MONDAY + dt.timedelta(weeks=n): 2 for n in range(4)
    }


def test_sessions_are_never_closer_than_48_hours_even_on_consecutive_preferred_days():
    starts = plan(sessions=4, weeks=4, weekdays=frozenset({0, 1}))  # Monday and Tuesday
    assert all(start.astimezone(LA).weekday() in {0, 1} for start in starts)
    assert_keeps_the_rules(starts)


def test_the_weekly_cap_refuses_a_plan_that_needs_three_a_week():
    rules = CourseRules(max_per_week=2, max_sessions=12)
    with pytest.raises(PlanError) as refused:
        plan(sessions=9, weeks=4, rules=rules)
    assert refused.value.code == "course_too_few"
    assert "Only 8 of 9 infusions fit" in refused.value.message


def test_an_impossible_plan_says_why():
    with pytest.raises(PlanError) as refused:
        plan(sessions=8, weeks=4, weekdays=frozenset({0, 1}))
    assert refused.value.code == "course_too_few"
    assert refused.value.message.startswith("Only 4 of 8 infusions fit the rules")
    assert "at least 48 hours apart, at most 2 a week" in refused.value.message


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"sessions": 3}, "course_sessions"),
        ({"sessions": 9}, "course_sessions"),
        ({"weeks": 3}, "course_weeks"),
        ({"weeks": 9}, "course_weeks"),
        ({"weekdays": frozenset()}, "course_no_weekdays"),
        ({"window": (dt.time(12), dt.time(10))}, "course_window"),
        ({"last_day": MONDAY - dt.timedelta(days=1)}, "course_clearance_ended"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(overrides, code):
    with pytest.raises(PlanError) as refused:
        plan(**overrides)
    assert refused.value.code == code
    assert refused.value.message


def test_a_window_that_leaves_no_room_for_the_session_before_closing_fits_nothing():
    with pytest.raises(PlanError) as refused:
        plan(window=(dt.time(17, 30), dt.time(18)))  # a 2-hour infusion would end after 19:00
    assert "Only 0 of 6" in refused.value.message


def test_closures_are_skipped():
    closed = (MONDAY + dt.timedelta(days=8), MONDAY + dt.timedelta(days=8))  # Tuesday 12 Jan
    calendar = ClinicCalendar(tz=LA, weekly=CALENDAR.weekly, closures=[closed])
    starts = plan(sessions=4, weeks=4, weekdays=frozenset({1, 3}), calendar=calendar)
    assert closed[0] not in {start.astimezone(LA).date() for start in starts}
    assert_keeps_the_rules(starts, calendar=calendar)
    with pytest.raises(PlanError):
        plan(sessions=4, weeks=4, weekdays=frozenset({1}), calendar=calendar)  # 3 Tuesdays left


def test_a_weekly_10am_session_stays_10am_local_across_the_spring_dst_change():
    tuesday = dt.date(2027, 3, 2)  # clocks go forward on Sunday 14 March 2027
    starts = plan(
        sessions=4,
        weeks=4,
        start_date=tuesday,
        weekdays=frozenset({1}),
        window=(dt.time(10), dt.time(10)),
    )
    assert [start.astimezone(LA).time() for start in starts] == [dt.time(10)] * 4
    assert [start.astimezone(LA).date().day for start in starts] == [2, 9, 16, 23]
    assert [start.astimezone(dt.UTC).hour for start in starts] == [18, 18, 17, 17]


def test_the_spring_forward_gap_hour_is_never_proposed():
    sunday_calendar = ClinicCalendar(tz=LA, weekly={6: [(dt.time(0), dt.time(23))]})
    starts = plan(
        sessions=4,
        weeks=4,
        start_date=dt.date(2027, 3, 14),
        weekdays=frozenset({6}),
        window=(dt.time(2), dt.time(3)),
        calendar=sunday_calendar,
    )
    assert starts[0].astimezone(LA) == at(dt.date(2027, 3, 14), 3)


def test_the_clearance_end_is_respected():
    last_day = MONDAY + dt.timedelta(days=27)
    starts = plan(sessions=4, weeks=8, last_day=last_day)
    assert starts[-1].astimezone(LA).date() <= last_day
    with pytest.raises(PlanError) as refused:
        plan(sessions=6, weeks=8, last_day=MONDAY + dt.timedelta(days=10))
    assert "the patient's clearance ends on Thu, Jan 14, 2027" in refused.value.message


def test_the_patients_own_appointments_are_avoided():
    busy = [Interval(at(MONDAY, 9), at(MONDAY, 11))]
    starts = plan(sessions=4, weeks=4, busy=busy)
    assert starts[0] == at(MONDAY, 11)
    assert_keeps_the_rules(starts)


def test_nothing_is_proposed_before_not_before():
    starts = plan(sessions=4, weeks=4, not_before=at(MONDAY, 11))
    assert starts[0] > at(MONDAY, 11)


def test_check_course_names_the_sessions_that_break_the_rules():
    starts = [at(MONDAY, 10), at(MONDAY + dt.timedelta(days=1), 10), at(dt.date(2027, 1, 8), 10)]
    problems = course_problems(starts, rules=RULES, tz=LA)
    messages = [problem.message for problem in problems]
    assert problems[0].index is None and "not 3" in messages[0]
    assert (
        "Session 2 on Tue, Jan 5, 2027 at 10:00 a.m. starts less than 48 hours after session 1."
        in messages
    )
    assert "Session 3 on Fri, Jan 8, 2027 at 10:00 a.m. makes more than 2 in one week." in messages


def test_check_course_judges_an_edited_list_in_time_order_and_checks_the_span():
    starts = [at(MONDAY + dt.timedelta(weeks=n), 10) for n in (8, 0, 1, 2)]
    assert check_course(starts, rules=RULES, tz=LA) == [
        "Session 1 on Mon, Mar 1, 2027 at 10:00 a.m. is more than 8 weeks after the first."
    ]
    assert check_course(starts[1:], rules=RULES, tz=LA, check_count=False) == []
