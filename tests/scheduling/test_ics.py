"""Calendar files: parse them back and check what a calendar app would read."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar

from scheduling.ics import appointments_ics
from scheduling.models import AppointmentStatus, RoomKind
from tests.clinic_time import LA, at
from tests.factories import AppointmentFactory, AppointmentTypeFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 16, 0, tzinfo=dt.UTC)
HEALTH_WORDS = ("ketamine", "infusion", "depress", "anxiety", "ptsd", "pain", "cancer")


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def only_event(calendar: Calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def offset_in_vtimezone(calendar: Calendar, local: dt.datetime) -> dt.timedelta:
    """The UTC offset the file's own VTIMEZONE gives a local wall time (its last observance
    starting at or before that time), read without the tz database."""
    (zone,) = calendar.walk("VTIMEZONE")
    observances = sorted(
        (component.decoded("dtstart"), component.decoded("tzoffsetto"))
        for component in zone.subcomponents
    )
    wall = local.replace(tzinfo=None)
    return [offset for start, offset in observances if start <= wall][-1]


@pytest.mark.parametrize(
    ("day", "utc_offset_hours"),
    [
        (dt.date(2027, 3, 12), -8),  # Friday before clocks go forward on 14 March
        (dt.date(2027, 3, 15), -7),  # Monday after
        (dt.date(2027, 11, 5), -7),  # Friday before clocks go back on 7 November
        (dt.date(2027, 11, 8), -8),  # Monday after
    ],
)
def test_ten_oclock_is_ten_oclock_pacific_on_both_sides_of_a_clock_change(day, utc_offset_hours):
    appointment = AppointmentFactory(start=at(day, 10))
    calendar = parse(appointments_ics([appointment], now=NOW))
    event = only_event(calendar)
    assert event["dtstart"].params["TZID"] == "America/Los_Angeles"
    start = event.decoded("dtstart")
    assert start.replace(tzinfo=None) == dt.datetime.combine(day, dt.time(10))
    assert start.utcoffset() == dt.timedelta(hours=utc_offset_hours)
    assert event.decoded("dtend") - start == dt.timedelta(minutes=60)
    assert offset_in_vtimezone(calendar, start) == dt.timedelta(hours=utc_offset_hours)


def test_uid_is_stable_per_appointment_and_sequence_follows_the_appointment(settings):
    settings.SITE_URL = "https://book.propel.example"
    appointment = AppointmentFactory(start=at(dt.date(2027, 1, 5), 10), sequence=3)
    first = only_event(parse(appointments_ics([appointment], now=NOW)))
    later = only_event(parse(appointments_ics([appointment], now=NOW + dt.timedelta(days=1))))
    assert (
        str(first["uid"])
        == str(later["uid"])
        == f"appointment-{appointment.pk}@book.propel.example"
    )
    assert first.decoded("sequence") == 3
    assert first.decoded("dtstamp") == NOW
    assert later.decoded("dtstamp") == NOW + dt.timedelta(days=1)


def test_summary_location_and_status_name_no_treatment(settings):
    appointment = AppointmentFactory(start=at(dt.date(2027, 1, 5), 10))
    data = appointments_ics([appointment], now=NOW)
    event = only_event(parse(data))
    assert str(event["summary"]) == f"Consultation at {settings.CLINIC_NAME}"
    assert str(event["location"]) == settings.CLINIC_ADDRESS
    assert str(event["status"]) == "CONFIRMED"
    assert not any(word in data.decode().lower() for word in HEALTH_WORDS)


def test_a_staff_booked_type_is_just_an_appointment():
    infusion = AppointmentTypeFactory(
        code="infusion", name="Infusion", room_kind=RoomKind.INFUSION, self_bookable=False
    )
    appointment = AppointmentFactory(appointment_type=infusion, start=at(dt.date(2027, 1, 5), 10))
    data = appointments_ics([appointment], now=NOW)
    assert str(only_event(parse(data))["summary"]).startswith("Appointment at ")
    assert "infusion" not in data.decode().lower()


def test_a_cancelled_appointment_is_cancelled_in_the_calendar():
    appointment = AppointmentFactory(
        start=at(dt.date(2027, 1, 5), 10), status=AppointmentStatus.CANCELLED, sequence=1
    )
    event = only_event(parse(appointments_ics([appointment], now=NOW)))
    assert str(event["status"]) == "CANCELLED"
    assert event.decoded("sequence") == 1


def test_several_appointments_share_one_timezone():
    first = AppointmentFactory(start=at(dt.date(2027, 1, 5), 10))
    second = AppointmentFactory(start=at(dt.date(2027, 6, 8), 10))
    calendar = parse(appointments_ics([first, second], now=NOW))
    assert len(calendar.walk("VEVENT")) == 2
    assert len(calendar.walk("VTIMEZONE")) == 1
    starts = [event.decoded("dtstart") for event in calendar.walk("VEVENT")]
    assert [start.astimezone(LA).hour for start in starts] == [10, 10]
