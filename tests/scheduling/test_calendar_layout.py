"""scheduling.calendar.grid: where hours and appointments sit in the day grid (pure)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from scheduling.calendar.grid import Grid, Placement, css_rules, grid_for

LA = ZoneInfo("America/Los_Angeles")
NINE_TO_SEVEN = Grid(opens=dt.time(9), closes=dt.time(19))


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LA)


def test_a_nine_to_seven_day_has_forty_quarter_hour_rows_labelled_every_half_hour():
    assert NINE_TO_SEVEN.rows == 40
    labels = NINE_TO_SEVEN.labels()
    assert labels[0] == (dt.time(9), Placement(0, 2))
    assert labels[-1] == (dt.time(18, 30), Placement(38, 2))


def test_an_appointment_is_placed_by_its_wall_clock_start_and_real_length():
    day = dt.date(2027, 1, 5)
    placement = NINE_TO_SEVEN.place(local(day, 10, 30), local(day, 11, 30), day=day, tz=LA)
    assert placement == Placement(6, 4)
    assert placement.css == "slot-start-6 slot-span-4"


def test_parts_outside_opening_hours_are_clipped_and_wholly_outside_is_none():
    day = dt.date(2027, 1, 5)
    assert NINE_TO_SEVEN.place(local(day, 8), local(day, 10), day=day, tz=LA) == Placement(0, 4)
    assert NINE_TO_SEVEN.place(local(day, 18), local(day, 20), day=day, tz=LA) == Placement(36, 4)
    assert NINE_TO_SEVEN.place(local(day, 7), local(day, 8), day=day, tz=LA) is None


def test_nine_oclock_is_row_zero_on_the_day_clocks_spring_forward():
    day = dt.date(2027, 3, 14)  # 2am -> 3am Pacific
    start = local(day, 9).astimezone(dt.UTC)
    placement = NINE_TO_SEVEN.place(start, start + dt.timedelta(hours=2), day=day, tz=LA)
    assert placement == Placement(0, 8)


def test_the_grid_spans_every_opening_of_the_days_shown():
    grid = grid_for([[(dt.time(9), dt.time(19))], [], [(dt.time(8), dt.time(13))]])
    assert grid == Grid(opens=dt.time(8), closes=dt.time(19))
    assert grid.place_span((dt.time(9), dt.time(19))) == Placement(4, 40)
    assert grid_for([[], []]) is None


def test_the_static_stylesheet_carries_the_generated_row_classes():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "calendar.css").read_text()
    assert css_rules() in css
