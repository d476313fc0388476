"""The pure availability engine: opening hours, closures, extra openings, working hours, busy
intervals and daylight-saving days."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from scheduling.availability import (
    BusyIndex,
    ClinicCalendar,
    Interval,
    Resource,
    WorkingDays,
    free_slots,
    local_interval,
    works_during,
)
from tests.clinic_time import LA, TUESDAY, at

HOUR = dt.timedelta(hours=1)
WEEKDAYS_9_TO_7 = {weekday: [(dt.time(9), dt.time(19))] for weekday in range(5)}
EVERY_DAY_9_TO_7 = {weekday: [(dt.time(9), dt.time(19))] for weekday in range(7)}


def slots(calendar: ClinicCalendar, first: dt.date, last: dt.date | None = None, **kwargs):
    kwargs.setdefault("rooms", [Resource(1)])
    kwargs.setdefault("duration", HOUR)
    kwargs.setdefault("step", dt.timedelta(minutes=30))
    kwargs.setdefault("needs_clinician", False)
    return free_slots(calendar=calendar, start_date=first, end_date=last or first, **kwargs)


def local_starts(found) -> list[str]:
    return [slot.start.astimezone(LA).strftime("%Y-%m-%d %H:%M") for slot in found]


def test_a_weekday_has_slots_from_opening_until_the_last_that_ends_by_closing():
    found = slots(ClinicCalendar(LA, WEEKDAYS_9_TO_7), TUESDAY)
    starts = local_starts(found)
    assert starts[0] == "2027-01-05 09:00"
    assert starts[-1] == "2027-01-05 18:00"
    assert len(starts) == 19  # 9:00, 9:30, ... 18:00
    assert all(slot.end - slot.start == HOUR for slot in found)


def test_weekends_are_closed_without_an_extra_opening():
    saturday = dt.date(2027, 1, 9)
    assert slots(ClinicCalendar(LA, WEEKDAYS_9_TO_7), saturday, saturday + dt.timedelta(1)) == []


def test_a_closure_removes_every_day_it_covers_inclusive():
    calendar = ClinicCalendar(LA, WEEKDAYS_9_TO_7, closures=[(TUESDAY, TUESDAY + dt.timedelta(1))])
    found = slots(calendar, TUESDAY - dt.timedelta(1), TUESDAY + dt.timedelta(2))
    days = {slot.start.astimezone(LA).date() for slot in found}
    assert days == {TUESDAY - dt.timedelta(1), TUESDAY + dt.timedelta(2)}


def test_extra_opening_is_offered_only_when_asked_for():
    saturday = dt.date(2027, 1, 9)
    calendar = ClinicCalendar(
        LA, WEEKDAYS_9_TO_7, extra_openings={saturday: [(dt.time(9), dt.time(13))]}
    )
    assert slots(calendar, saturday) == []
    staff = local_starts(slots(calendar, saturday, include_extra_openings=True))
    assert staff == [
        f"2027-01-09 {h}" for h in ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00")
    ]


def test_a_closure_beats_an_extra_opening_on_the_same_day():
    saturday = dt.date(2027, 1, 9)
    calendar = ClinicCalendar(
        LA,
        WEEKDAYS_9_TO_7,
        closures=[(saturday, saturday)],
        extra_openings={saturday: [(dt.time(9), dt.time(13))]},
    )
    assert slots(calendar, saturday, include_extra_openings=True) == []


def test_extra_opening_overlapping_weekly_hours_gives_no_duplicate_slots():
    calendar = ClinicCalendar(
        LA, WEEKDAYS_9_TO_7, extra_openings={TUESDAY: [(dt.time(9), dt.time(12))]}
    )
    starts = local_starts(slots(calendar, TUESDAY, include_extra_openings=True))
    assert len(starts) == len(set(starts))


def test_busy_room_blocks_overlapping_slots_but_back_to_back_is_free():
    busy = Resource(1, busy=[Interval(at(TUESDAY, 10), at(TUESDAY, 11))])
    starts = local_starts(slots(ClinicCalendar(LA, WEEKDAYS_9_TO_7), TUESDAY, rooms=[busy]))
    assert "2027-01-05 09:00" in starts  # ends exactly when the busy one starts
    assert "2027-01-05 09:30" not in starts
    assert "2027-01-05 10:30" not in starts
    assert "2027-01-05 11:00" in starts  # starts exactly when the busy one ends


def test_each_slot_lists_only_the_rooms_free_for_it():
    room_1 = Resource(1, busy=[Interval(at(TUESDAY, 9), at(TUESDAY, 10))])
    room_2 = Resource(2)
    found = slots(ClinicCalendar(LA, WEEKDAYS_9_TO_7), TUESDAY, rooms=[room_1, room_2])
    by_start = {slot.start.astimezone(LA).strftime("%H:%M"): slot.room_ids for slot in found}
    assert by_start["09:00"] == (2,)
    assert by_start["10:00"] == (1, 2)


def test_clinician_working_hours_and_appointments_limit_slots():
    mornings = {weekday: [(dt.time(9), dt.time(12))] for weekday in range(5)}
    clinician = Resource(7, busy=[Interval(at(TUESDAY, 9), at(TUESDAY, 10))], hours=mornings)
    found = slots(
        ClinicCalendar(LA, WEEKDAYS_9_TO_7), TUESDAY, clinicians=[clinician], needs_clinician=True
    )
    assert local_starts(found) == ["2027-01-05 10:00", "2027-01-05 10:30", "2027-01-05 11:00"]
    assert all(slot.clinician_ids == (7,) for slot in found)


def test_no_clinician_means_no_slot_when_one_is_needed():
    assert slots(ClinicCalendar(LA, WEEKDAYS_9_TO_7), TUESDAY, needs_clinician=True) == []


def test_patient_busy_time_removes_slots_for_that_patient():
    found = slots(
        ClinicCalendar(LA, WEEKDAYS_9_TO_7),
        TUESDAY,
        patient_busy=[Interval(at(TUESDAY, 9), at(TUESDAY, 18))],
    )
    assert local_starts(found) == ["2027-01-05 18:00"]


def test_not_before_drops_slots_that_start_earlier():
    found = slots(ClinicCalendar(LA, WEEKDAYS_9_TO_7), TUESDAY, not_before=at(TUESDAY, 17, 15))
    assert local_starts(found) == ["2027-01-05 17:30", "2027-01-05 18:00"]


def test_spring_forward_day_keeps_nine_oclock_local_on_both_sides():
    # 2027-03-14: clocks jump from 2:00 to 3:00 (PST -8 to PDT -7).
    found = slots(ClinicCalendar(LA, EVERY_DAY_9_TO_7), dt.date(2027, 3, 13), dt.date(2027, 3, 15))
    first_each_day = {}
    for slot in found:
        first_each_day.setdefault(slot.start.astimezone(LA).date(), slot.start)
    assert [s.astimezone(LA).strftime("%H:%M") for s in first_each_day.values()] == ["09:00"] * 3
    assert [s.astimezone(dt.UTC).hour for s in first_each_day.values()] == [17, 16, 16]


def test_fall_back_day_keeps_nine_oclock_local_on_both_sides():
    # 2027-11-07: clocks fall back from 2:00 to 1:00 (PDT -7 to PST -8).
    found = slots(ClinicCalendar(LA, EVERY_DAY_9_TO_7), dt.date(2027, 11, 6), dt.date(2027, 11, 8))
    first_each_day = {}
    for slot in found:
        first_each_day.setdefault(slot.start.astimezone(LA).date(), slot.start)
    assert [s.astimezone(LA).strftime("%H:%M") for s in first_each_day.values()] == ["09:00"] * 3
    assert [s.astimezone(dt.UTC).hour for s in first_each_day.values()] == [16, 17, 17]
    last = found[-1]
    assert last.start.astimezone(LA).strftime("%Y-%m-%d %H:%M") == "2027-11-08 18:00"


def test_wall_times_that_do_not_exist_on_spring_forward_are_skipped():
    night = ClinicCalendar(LA, {6: [(dt.time(1), dt.time(4))]})
    found = slots(night, dt.date(2027, 3, 14), duration=dt.timedelta(minutes=30))
    assert local_starts(found) == [
        "2027-03-14 01:00",
        "2027-03-14 01:30",
        "2027-03-14 03:00",
        "2027-03-14 03:30",
    ]


def test_a_slot_is_real_elapsed_time_across_a_clock_change():
    night = ClinicCalendar(LA, {6: [(dt.time(0), dt.time(5))]})
    found = slots(night, dt.date(2027, 11, 7), duration=dt.timedelta(hours=2))
    assert all(slot.end - slot.start == dt.timedelta(hours=2) for slot in found)
    window = local_interval(dt.date(2027, 11, 7), (dt.time(0), dt.time(5)), LA)
    assert window.end - window.start == dt.timedelta(hours=6)  # the day has an extra hour
    assert found[-1].end <= window.end


aware = st.datetimes(
    min_value=dt.datetime(2027, 1, 4), max_value=dt.datetime(2027, 1, 9), timezones=st.just(dt.UTC)
)
intervals = st.tuples(aware, st.integers(min_value=1, max_value=600)).map(
    lambda pair: Interval(pair[0], pair[0] + dt.timedelta(minutes=pair[1]))
)


@given(busy=st.lists(intervals, max_size=12), probe=intervals)
def test_busy_index_agrees_with_checking_every_interval(busy, probe):
    expected = any(interval.overlaps(probe.start, probe.end) for interval in busy)
    assert BusyIndex(busy).is_busy(probe.start, probe.end) == expected


@given(busy=st.lists(intervals, max_size=8))
def test_no_slot_ever_overlaps_a_busy_interval_or_leaves_opening_hours(busy):
    calendar = ClinicCalendar(LA, WEEKDAYS_9_TO_7)
    found = slots(
        calendar, dt.date(2027, 1, 4), dt.date(2027, 1, 8), rooms=[Resource(1, busy=busy)]
    )
    for slot in found:
        assert not any(interval.overlaps(slot.start, slot.end) for interval in busy)
        assert calendar.is_open_for(slot.start, slot.end, include_extra=False)


# Both clock changes of 2027 and the days around them, any minute of the day.
around_clock_changes = st.sampled_from(
    [dt.datetime(2027, 3, 13, 8), dt.datetime(2027, 11, 6, 7)]
).flatmap(
    lambda first: st.datetimes(
        min_value=first, max_value=first + dt.timedelta(days=3), timezones=st.just(dt.UTC)
    )
)
night_and_day = {
    6: [(dt.time(0), dt.time(5)), (dt.time(9), dt.time(17))],
    0: [(dt.time(1), dt.time(3))],
}


@given(probes=st.lists(st.tuples(around_clock_changes, st.integers(1, 300)), max_size=20))
def test_working_days_answers_as_works_during_on_and_around_clock_changes(probes):
    """free_slots' memo of each day's working windows changes nothing, even on DST days."""
    for hours in (night_and_day, None):
        working = WorkingDays(hours, LA)
        for start, minutes in probes:
            end = start + dt.timedelta(minutes=minutes)
            assert working.works_during(start, end) == works_during(hours, start, end, LA)
