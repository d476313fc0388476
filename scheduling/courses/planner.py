"""The course planner: which dates and times an infusion course gets, and whether a list of
session starts (proposed, or edited by staff) keeps the course rules.

Pure functions over plain values: no ORM, no clock, no settings (scheduling.courses.services reads
those and passes them in). Times are chosen in the clinic's wall-clock time and returned as aware
UTC datetimes, so a weekly 10:00 session stays 10:00 local across a daylight-saving change. Weeks
for the weekly cap run Monday to Sunday in the clinic's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from propel import formatting
from scheduling.availability import UTC, BusyIndex, ClinicCalendar, Interval, days
from scheduling.errors import SchedulingError
from scheduling.spacing import Spacing, too_close, week_of

DEFAULT_STEP = dt.timedelta(minutes=15)


class PlanError(SchedulingError):
    """Why no course can be planned (or a planned one breaks the rules); message fit for staff."""


@dataclass(frozen=True)
class CourseRules:
    min_sessions: int = 4
    max_sessions: int = 8
    min_weeks: int = 4
    max_weeks: int = 8
    min_gap: dt.timedelta = Spacing.min_gap
    max_per_week: int = Spacing.max_per_week

    @property
    def spacing(self) -> Spacing:
        return Spacing(min_gap=self.min_gap, max_per_week=self.max_per_week)


@dataclass(frozen=True)
class CourseProblem:
    """One broken rule; `index` is the session's position in the list checked (None: the course)."""

    index: int | None
    message: str


def describe(start: dt.datetime, tz: ZoneInfo) -> str:
    """ "Tue, Mar 16, 2027 at 10:00 a.m.", in clinic time."""
    local = start.astimezone(tz)
    return _("%(day)s at %(time)s") % {
        "day": formatting.local_date(local),
        "time": formatting.local_time(local),
    }


def _hours(gap: dt.timedelta) -> str:
    return f"{gap.total_seconds() / 3600:g}"


def course_problems(
    starts: Sequence[dt.datetime],
    *,
    rules: CourseRules,
    tz: ZoneInfo,
    check_count: bool = True,
    max_weeks: int | None = None,
) -> list[CourseProblem]:
    """Every rule the sessions break: the number of sessions (unless `check_count` is off, for a
    course that has already lost some), the span (first to last start inside `max_weeks` weeks,
    default the rules' maximum), the minimum gap between consecutive starts and the weekly cap.

    Sessions are judged in time order whatever order they are given in; problems point at the
    given positions, the later session of a pair being the one blamed.
    """
    problems: list[CourseProblem] = []
    count = len(starts)
    if check_count and not rules.min_sessions <= count <= rules.max_sessions:
        problems.append(
            CourseProblem(
                None,
                _("A course has %(min)d to %(max)d infusions, not %(count)d.")
                % {"min": rules.min_sessions, "max": rules.max_sessions, "count": count},
            )
        )
    if not starts:
        return problems
    order = sorted(range(count), key=lambda i: starts[i])
    problems.extend(_span_problems(starts, order, weeks=max_weeks or rules.max_weeks, tz=tz))
    problems.extend(_spacing_problems(starts, order, rules=rules, tz=tz))
    return problems


def _span_problems(
    starts: Sequence[dt.datetime], order: list[int], *, weeks: int, tz: ZoneInfo
) -> list[CourseProblem]:
    """The last session, when it is `weeks` weeks or more after the first (`order`: the
    positions in time order)."""
    first_day = starts[order[0]].astimezone(tz).date()
    last_day = starts[order[-1]].astimezone(tz).date()
    if (last_day - first_day).days < weeks * 7:
        return []
    last = order[-1]
    return [
        CourseProblem(
            last,
            _("Session %(number)d on %(when)s is more than %(weeks)d weeks after the first.")
            % {"number": last + 1, "when": describe(starts[last], tz), "weeks": weeks},
        )
    ]


def _spacing_problems(
    starts: Sequence[dt.datetime], order: list[int], *, rules: CourseRules, tz: ZoneInfo
) -> list[CourseProblem]:
    """Sessions too close to the one before, and the first session over the weekly cap in each
    week, in time order (`order`)."""
    problems: list[CourseProblem] = []
    per_week: dict[dt.date, int] = {}
    previous: int | None = None
    for index in order:
        start = starts[index]
        values = {"number": index + 1, "when": describe(start, tz)}
        if previous is not None and too_close(start, starts[previous], rules.spacing):
            problems.append(
                CourseProblem(
                    index,
                    _(
                        "Session %(number)d on %(when)s starts less than %(hours)s hours after "
                        "session %(other)d."
                    )
                    % {**values, "hours": _hours(rules.min_gap), "other": previous + 1},
                )
            )
        week = week_of(start, tz)
        per_week[week] = per_week.get(week, 0) + 1
        if per_week[week] == rules.max_per_week + 1:
            problems.append(
                CourseProblem(
                    index,
                    _("Session %(number)d on %(when)s makes more than %(cap)d in one week.")
                    % {**values, "cap": rules.max_per_week},
                )
            )
        previous = index
    return problems


def check_course(
    starts: Sequence[dt.datetime],
    *,
    rules: CourseRules,
    tz: ZoneInfo,
    check_count: bool = True,
    max_weeks: int | None = None,
) -> list[str]:
    """The messages of `course_problems`: empty when the sessions keep the rules."""
    return [
        problem.message
        for problem in course_problems(
            starts, rules=rules, tz=tz, check_count=check_count, max_weeks=max_weeks
        )
    ]


@dataclass(frozen=True)
class _DaySearch:
    """Where a session may start on one day: at a wall-clock time inside `window` (stepped by
    `step`), lasting `duration` inside one opening span of `calendar` (extra openings only with
    `include_extra`), clear of the patient's `busy` times and after `not_before`."""

    window: tuple[dt.time, dt.time]
    duration: dt.timedelta
    calendar: ClinicCalendar
    busy: BusyIndex
    include_extra: bool
    not_before: dt.datetime | None
    step: dt.timedelta

    def starts(self, course_days: Iterable[dt.date], weekdays: frozenset[int]) -> list[dt.datetime]:
        """The earliest start of each of `course_days` on one of `weekdays`."""
        return [
            start
            for day in course_days
            if day.weekday() in weekdays and (start := self.first_start(day)) is not None
        ]

    def first_start(self, day: dt.date) -> dt.datetime | None:
        """The earliest start on `day`. Stepped in wall-clock time; wall times that do not exist
        (the spring-forward hour) are skipped."""
        tz = self.calendar.tz
        for opening in self.calendar.windows(day, include_extra=self.include_extra):
            wall = dt.datetime.combine(day, self.window[0])
            last_wall = dt.datetime.combine(day, self.window[1])
            while wall <= last_wall:
                start = wall.replace(tzinfo=tz).astimezone(UTC)
                end = start + self.duration
                if (
                    start.astimezone(tz).replace(tzinfo=None) == wall
                    and opening.contains(start, end)
                    and (self.not_before is None or start > self.not_before)
                    and not self.busy.is_busy(start, end)
                ):
                    return start
                wall += self.step
        return None


def _most_that_fit(
    candidates: Sequence[dt.datetime],
    *,
    after: dt.datetime | None,
    week: dt.date | None,
    used_in_week: int,
    rules: CourseRules,
    tz: ZoneInfo,
) -> int:
    """How many of `candidates` (in time order, all later than `after`) can still be taken.

    Taking the earliest compatible candidate each time is optimal: an earlier pick uses the same
    weekly quota as a later one in its week and leaves every later candidate open to the next.
    """
    taken = 0
    for start in candidates:
        if after is not None and too_close(start, after, rules.spacing):
            continue
        this_week = week_of(start, tz)
        if this_week == week and used_in_week >= rules.max_per_week:
            continue
        used_in_week = used_in_week + 1 if this_week == week else 1
        week, after = this_week, start
        taken += 1
    return taken


def plan_course(
    *,
    sessions: int,
    weeks: int,
    start_date: dt.date,
    weekdays: frozenset[int],
    window: tuple[dt.time, dt.time],
    duration: dt.timedelta,
    calendar: ClinicCalendar,
    busy: Sequence[Interval] = (),
    last_day: dt.date | None = None,
    rules: CourseRules,
    tz: ZoneInfo | None = None,
    not_before: dt.datetime | None = None,
    include_extra: bool = False,
    step: dt.timedelta = DEFAULT_STEP,
) -> list[dt.datetime]:
    """Propose `sessions` starts (aware, UTC) spread as evenly as the rules allow over `weeks`
    weeks from `start_date`, or raise PlanError saying why none fit.

    A session starts on one of `weekdays` (Monday = 0), at a wall-clock time from window[0] to
    window[1] inclusive (the earliest that works that day), lasts `duration` inside one opening
    span (closures skipped; extra openings only with `include_extra`), does not overlap the
    patient's `busy` times and starts after `not_before`. Consecutive starts are at least
    `rules.min_gap` apart, at most `rules.max_per_week` fall in one Monday-Sunday week, and the
    last is on or before both the course's last day (start_date + weeks - 1 day) and `last_day`
    (the clearance's valid_until). Each session goes to the free day nearest its evenly spaced
    ideal that still leaves room for the rest.
    """
    tz = tz or calendar.tz
    _check_request(sessions=sessions, weeks=weeks, weekdays=weekdays, window=window, rules=rules)
    end_date, clearance_limits = _last_date(start_date, weeks=weeks, last_day=last_day)
    search = _DaySearch(
        window=window,
        duration=duration,
        calendar=calendar,
        busy=BusyIndex(busy),
        include_extra=include_extra,
        not_before=not_before,
        step=step,
    )
    candidates = search.starts(days(start_date, end_date), weekdays)
    fit = _most_that_fit(candidates, after=None, week=None, used_in_week=0, rules=rules, tz=tz)
    if fit < sessions:
        raise _too_few(
            fit,
            sessions=sessions,
            span=(start_date, end_date),
            last_day=last_day if clearance_limits else None,
            rules=rules,
        )
    # Ideal instants: evenly spaced over the course's days, at the window's opening time.
    span_days = (end_date - start_date).days + 1
    origin = dt.datetime.combine(start_date, window[0], tzinfo=tz)
    targets = [origin + dt.timedelta(days=span_days * n / sessions) for n in range(sessions)]
    return _pick(candidates, targets, rules=rules, tz=tz)


def _last_date(
    start_date: dt.date, *, weeks: int, last_day: dt.date | None
) -> tuple[dt.date, bool]:
    """The course's last possible day, and whether the clearance's `last_day` is what limits it
    (PlanError when the clearance has ended before `start_date`)."""
    end_date = start_date + dt.timedelta(weeks=weeks, days=-1)
    clearance_limits = last_day is not None and last_day < end_date
    if last_day is not None:
        if last_day < start_date:
            raise PlanError("course_clearance_ended", date=formatting.local_date(last_day))
        end_date = min(end_date, last_day)
    return end_date, clearance_limits


def _check_request(
    *,
    sessions: int,
    weeks: int,
    weekdays: frozenset[int],
    window: tuple[dt.time, dt.time],
    rules: CourseRules,
) -> None:
    if not rules.min_sessions <= sessions <= rules.max_sessions:
        raise PlanError("course_sessions", min=rules.min_sessions, max=rules.max_sessions)
    if not rules.min_weeks <= weeks <= rules.max_weeks:
        raise PlanError("course_weeks", min=rules.min_weeks, max=rules.max_weeks)
    if not weekdays:
        raise PlanError("course_no_weekdays")
    if window[0] > window[1]:
        raise PlanError("course_window")


def _too_few(
    fit: int,
    *,
    sessions: int,
    span: tuple[dt.date, dt.date],
    last_day: dt.date | None,
    rules: CourseRules,
) -> PlanError:
    """Why only `fit` of `sessions` fit: the clearance's `last_day` when it cut the course short,
    else the spacing rules."""
    why = (
        _("the patient's clearance ends on %(date)s") % {"date": formatting.local_date(last_day)}
        if last_day is not None
        else _("at least %(hours)s hours apart, at most %(cap)d a week")
        % {"hours": _hours(rules.min_gap), "cap": rules.max_per_week}
    )
    return PlanError(
        "course_too_few",
        found=fit,
        wanted=sessions,
        first=formatting.local_date(span[0]),
        last=formatting.local_date(span[1]),
        why=why,
    )


def _pick(
    candidates: Sequence[dt.datetime],
    targets: Sequence[dt.datetime],
    *,
    rules: CourseRules,
    tz: ZoneInfo,
) -> list[dt.datetime]:
    """One start per target, each the candidate nearest its target that keeps the rules with
    the ones before and leaves enough candidates after it for the rest (_most_that_fit)."""
    sessions = len(targets)
    chosen: list[dt.datetime] = []
    remaining = list(candidates)
    week: dt.date | None = None
    used_in_week = 0
    for number, target in enumerate(targets):
        ranked = sorted(range(len(remaining)), key=lambda i: (abs(remaining[i] - target), i))
        for position in ranked:
            start = remaining[position]
            if chosen and too_close(start, chosen[-1], rules.spacing):
                continue
            this_week = week_of(start, tz)
            in_week = used_in_week + 1 if this_week == week else 1
            if in_week > rules.max_per_week:
                continue
            rest = remaining[position + 1 :]
            if (
                _most_that_fit(
                    rest, after=start, week=this_week, used_in_week=in_week, rules=rules, tz=tz
                )
                >= sessions - number - 1
            ):
                chosen.append(start)
                week, used_in_week = this_week, in_week
                remaining = rest
                break
        else:  # pragma: no cover - the count above guarantees a feasible pick
            raise AssertionError("planner lost a feasible course")
    return chosen
