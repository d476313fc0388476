"""One way to write things (propel.formatting and its template filters): each on normal values,
None and bad values, across both DST changes, at midnight and noon, and in Spanish without a
template change."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

from propel import formatting

LA = ZoneInfo("America/Los_Angeles")
UTC = dt.UTC


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


# --- Dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 12, 8), "Tue, Dec 8, 2026"),
        (dt.datetime(2026, 12, 8, 10, tzinfo=LA), "Tue, Dec 8, 2026"),
        # 07:30 UTC on the 9th is still the 8th in Sacramento: the clinic's day, not UTC's.
        (dt.datetime(2026, 12, 9, 7, 30, tzinfo=UTC), "Tue, Dec 8, 2026"),
        (dt.datetime(2026, 12, 8, 23, 59), "Tue, Dec 8, 2026"),  # naive: the clinic's already
        (None, ""),
        ("2026-12-08", ""),
        (42, ""),
    ],
)
def test_local_date(value, expected):
    assert formatting.local_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(1970, 12, 8), "Dec 8, 1970"),
        (dt.date(2000, 2, 29), "Feb 29, 2000"),
        (dt.datetime(1970, 12, 8, 12, tzinfo=UTC), ""),
        (None, ""),
        ("1970-12-08", ""),
    ],
)
def test_calendar_date_has_no_weekday(value, expected):
    """A date of birth or a diagnosis date is not a visit: "Dec 8, 1970", not "Tue, Dec 8, 1970"."""
    assert formatting.calendar_date(value) == expected
    assert render("{{ d|calendar_date }}", d=value) == expected


def test_dates_on_the_days_clocks_change():
    assert formatting.local_date(dt.datetime(2027, 3, 14, 10, tzinfo=UTC)) == "Sun, Mar 14, 2027"
    assert formatting.local_date(dt.datetime(2027, 11, 7, 6, 30, tzinfo=UTC)) == "Sat, Nov 6, 2027"
    assert formatting.local_date(dt.datetime(2027, 11, 7, 8, 30, tzinfo=UTC)) == "Sun, Nov 7, 2027"


# --- Times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2026, 12, 8, 18, tzinfo=UTC), "10:00 a.m."),  # PST, UTC-8
        (dt.datetime(2027, 7, 6, 17, tzinfo=UTC), "10:00 a.m."),  # PDT, UTC-7
        (dt.datetime(2027, 7, 6, 15, 45, tzinfo=LA), "3:45 p.m."),
        (dt.datetime(2027, 7, 6, 12, tzinfo=LA), "12:00 p.m."),  # noon
        (dt.datetime(2027, 7, 6, 0, tzinfo=LA), "12:00 a.m."),  # midnight
        (dt.time(12, 0), "12:00 p.m."),
        (dt.time(0, 5), "12:05 a.m."),
        (dt.time(9, 30), "9:30 a.m."),
        (None, ""),
        ("10:00", ""),
        (dt.date(2027, 7, 6), ""),
    ],
)
def test_local_time(value, expected):
    assert formatting.local_time(value) == expected


def test_a_time_with_its_zone_says_pt_in_summer_and_winter():
    assert formatting.local_time(dt.datetime(2027, 1, 5, 18, tzinfo=UTC), zone=True) == (
        "10:00 a.m. PT"
    )
    assert formatting.local_time(dt.datetime(2027, 7, 6, 17, tzinfo=UTC), zone=True) == (
        "10:00 a.m. PT"
    )
    assert formatting.local_time(dt.time(10), zone=True) == "10:00 a.m. PT"
    assert formatting.local_time(None, zone=True) == ""


def test_spring_forward_skips_the_2_oclock_hour():
    before = dt.datetime(2027, 3, 14, 9, 59, tzinfo=UTC)  # 1:59 PST
    after = dt.datetime(2027, 3, 14, 10, 0, tzinfo=UTC)  # 3:00 PDT
    assert formatting.local_time(before, zone=True) == "1:59 a.m. PT"
    assert formatting.local_time(after, zone=True) == "3:00 a.m. PT"


def test_the_repeated_hour_when_clocks_fall_back_names_which_one():
    first = dt.datetime(2027, 11, 7, 8, 30, tzinfo=UTC)  # 1:30 PDT
    second = dt.datetime(2027, 11, 7, 9, 30, tzinfo=UTC)  # 1:30 PST
    assert formatting.local_time(first) == formatting.local_time(second) == "1:30 a.m."
    assert formatting.local_time(first, zone=True) == "1:30 a.m. PDT"
    assert formatting.local_time(second, zone=True) == "1:30 a.m. PST"
    after = dt.datetime(2027, 11, 7, 18, tzinfo=UTC)
    assert formatting.local_time(after, zone=True) == "10:00 a.m. PT"


@override_settings(TIME_ZONE="Europe/London")
def test_another_clinic_zone_without_a_short_name_is_named_in_full():
    assert formatting.zone_abbreviation() == "Europe/London"


# --- Date and time ------------------------------------------------------------------------------


def test_local_datetime():
    at = dt.datetime(2026, 12, 8, 18, tzinfo=UTC)
    assert formatting.local_datetime(at) == "Tue, Dec 8, 2026, 10:00 a.m."
    assert formatting.local_datetime(at, zone=True) == "Tue, Dec 8, 2026, 10:00 a.m. PT"
    assert formatting.local_datetime(dt.datetime(2027, 3, 14, 12, tzinfo=LA)) == (
        "Sun, Mar 14, 2027, 12:00 p.m."
    )
    assert formatting.local_datetime(dt.date(2026, 12, 8)) == ""
    assert formatting.local_datetime(None) == ""
    assert formatting.local_datetime("soon") == ""


# --- Phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+19169159215", "(916) 915-9215"),
        ("916-915-9215", "(916) 915-9215"),
        (phonenumbers.parse("+19169159215"), "(916) 915-9215"),
        ("+442079460958", "+44 20 7946 0958"),
        (None, ""),
        ("", ""),
        ("call the front desk", "call the front desk"),
        ("+1555", "+1555"),
        (12, "12"),
    ],
)
def test_phone(value, expected):
    assert formatting.phone(value) == expected


def test_a_phonenumber_field_value_prints_the_same(db):
    from tests.factories import PatientFactory

    patient = PatientFactory(mobile="+19169159215")
    patient.refresh_from_db()
    assert formatting.phone(patient.mobile) == "(916) 915-9215"
    assert formatting.phone(PatientFactory(mobile="").mobile) == ""


def test_tel_href():
    assert formatting.tel_href("(916) 915-9215") == "tel:+19169159215"
    assert formatting.tel_href("not a number") == ""
    assert formatting.tel_href(None) == ""


# --- Names --------------------------------------------------------------------------------------


def test_names():
    assert formatting.patient_name(SimpleNamespace(first_name="Alex", last_name="Sample")) == (
        "Alex Sample"
    )
    assert formatting.patient_name(SimpleNamespace(first_name=" Alex ", last_name="")) == "Alex"
    assert formatting.patient_name(None) == ""
    assert formatting.patient_name("junk") == ""

    class User:
        def __init__(self, full: str, username: str) -> None:
            self.full, self.username = full, username

        def get_full_name(self) -> str:
            return self.full

        def get_username(self) -> str:
            return self.username

    assert formatting.staff_name(User("Sam Clinician", "clinician1")) == "Sam Clinician"
    assert formatting.staff_name(User(" ", "clinician1")) == "clinician1"
    assert formatting.staff_name(None) == ""
    assert formatting.staff_name("junk") == ""


# --- As template filters ------------------------------------------------------------------------


def test_the_filters_need_no_load_and_never_fail():
    at = dt.datetime(2026, 12, 8, 18, tzinfo=UTC)
    html = render(
        "{{ at|local_date }}|{{ at|local_time }}|{{ at|local_time:'zone' }}|"
        "{{ at|local_datetime:'zone' }}|{{ tel|phone }}|{{ tel|tel_href }}|{{ p|patient_name }}|"
        "{{ nothing|local_date }}{{ nothing|local_time }}{{ nothing|phone }}"
        "{{ nothing|staff_name }}",
        at=at,
        tel="+19169159215",
        p=SimpleNamespace(first_name="Alex", last_name="Sample"),
        nothing=None,
    )
    assert html == (
        "Tue, Dec 8, 2026|10:00 a.m.|10:00 a.m. PT|Tue, Dec 8, 2026, 10:00 a.m. PT|"
        "(916) 915-9215|tel:+19169159215|Alex Sample|"
    )


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (dt.date(2026, 12, 8), "en", "Dec 8"),
        (dt.date(2026, 12, 8), "es", "8 dic"),  # day first, month in lower case
        (dt.datetime(2026, 12, 9, 7, 30, tzinfo=UTC), "en", "Dec 8"),  # the clinic's day
        (None, "en", ""),
        ("2026-12-08", "es", ""),
    ],
)
def test_short_date_in_a_row_of_days(value, language, expected):
    with translation.override(language):
        assert formatting.short_date(value) == expected


def test_spanish_needs_no_template_change():
    with translation.override("es"):
        text = render("{{ day|local_date }}", day=dt.date(2026, 12, 8))
    assert "dic" in text.lower()  # Django's month names; the pattern is the translator's
    assert "2026" in text


def test_a_sentence_ending_with_a_time_has_one_full_stop():
    assert formatting.end_sentence("Rebooked for Tue, Dec 8, 2026, 3:00 p.m.") == (
        "Rebooked for Tue, Dec 8, 2026, 3:00 p.m."
    )
    assert formatting.end_sentence("At 9:00 a.m. Then more.") == "At 9:00 a.m. Then more."
    assert formatting.end_sentence("Vuelva a las 9:00 a. m..") == "Vuelva a las 9:00 a. m."
    assert formatting.end_sentence("Wait... then go.") == "Wait... then go."
    assert formatting.end_sentence("At 9:00 a.m. (Pacific time).") == (
        "At 9:00 a.m. (Pacific time)."
    )
