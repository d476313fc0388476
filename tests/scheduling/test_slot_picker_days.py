"""The slot picker by day (/book/?day=): the first day with a free time unless another is asked
for, a row of days with their counts, "next available" for a full or closed day, never more than
20 times on screen, and any ?day= value answered calmly with a day inside the online window."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from scheduling.models import OpeningHours, WorkingHours
from tests.clinic_time import LA, MONDAY, THURSDAY, TUESDAY, WEDNESDAY, at, stopped_clock
from tests.factories import ClosureFactory, PatientFactory, consultation_at

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 12)  # the first bookable start is Tuesday 12:00
FRIDAY = dt.date(2027, 1, 8)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def picker(client, **params) -> str:
    response = client.get(reverse("scheduling:book"), params)
    assert response.status_code == 200
    return response.content.decode()


def offered(page: str) -> list[dt.datetime]:
    values = re.findall(r'name="start" value="([^"]+)"', page)
    return [dt.datetime.fromisoformat(value).astimezone(LA) for value in values]


def visible(page: str) -> list[str]:
    """The times on screen: every choice outside a closed "more times" disclosure."""
    outside = re.sub(r"<details.*?</details>", "", page, flags=re.DOTALL)
    return re.findall(r'name="start" value="([^"]+)"', outside)


def heading(page: str) -> str:
    return re.search(r'id="slot-day-heading">([^<]+)<', page)[1]


def current_day(page: str) -> str:
    (anchor,) = re.findall(r'id="day-(\d{8})"[^>]*aria-current="true"', page)
    return anchor


def fill(online_clinic, day: dt.date) -> None:
    """Book the one consult room from 9:00 to 19:00."""
    patients = PatientFactory.create_batch(2)
    for index, hour in enumerate(range(9, 19)):
        consultation_at(online_clinic, at(day, hour), patient=patients[index % 2])


def test_the_first_day_with_a_free_time_is_shown_first(client, online_clinic):
    page = picker(client)
    assert heading(page) == "Tue, Jan 5, 2027"
    assert current_day(page) == "20270105"
    starts = offered(page)
    assert {start.date() for start in starts} == {TUESDAY}
    assert starts[0].time() == dt.time(12) and starts[-1].time() == dt.time(18)
    assert "Afternoon" in page and "Evening" in page and "Morning" not in page


def test_a_full_first_day_moves_the_first_choice_to_the_next(client, online_clinic):
    fill(online_clinic, TUESDAY)
    ClosureFactory(start_date=WEDNESDAY, reason="Training day")
    page = picker(client)
    assert heading(page) == "Thu, Jan 7, 2027"
    assert {start.date() for start in offered(page)} == {THURSDAY}


def test_the_row_lists_the_weekdays_with_their_counts_and_switches_day(client, online_clinic):
    page = picker(client)
    row = re.findall(r'id="day-(\d{8})"', page)
    # A fortnight from the first bookable day: ten weekdays, no weekend.
    assert row == [
        f"{TUESDAY + dt.timedelta(days=offset):%Y%m%d}"
        for offset in range(14)
        if (TUESDAY + dt.timedelta(days=offset)).weekday() < 5
    ]
    assert re.search(r'id="day-20270105".*?13 free', page, re.DOTALL)
    assert re.search(r'id="day-20270107".*?19 free', page, re.DOTALL)
    assert 'href="/book/?day=2027-01-07#slot-times"' in page
    thursday = picker(client, day="2027-01-07")
    assert heading(thursday) == "Thu, Jan 7, 2027"
    assert current_day(thursday) == "20270107"
    starts = offered(thursday)
    assert {start.date() for start in starts} == {THURSDAY}
    assert [start.time() for start in starts[:2]] == [dt.time(9), dt.time(9, 30)]
    assert len(starts) == 19
    assert "Morning" in thursday


def test_a_full_day_points_to_the_next_available_day(client, online_clinic):
    fill(online_clinic, WEDNESDAY)
    page = picker(client, day="2027-01-06")
    assert offered(page) == []
    assert "No free times on Wed, Jan 6, 2027." in page
    assert "Next available: Thu, Jan 7, 2027" in page
    assert 'href="/book/?day=2027-01-07#slot-times">Next available' in page
    assert re.search(r'id="day-20270106"[^>]*slot-day-none.*?none</span>', page, re.DOTALL)


def test_a_closed_day_points_to_the_next_available_day(client, online_clinic):
    ClosureFactory(start_date=THURSDAY, end_date=FRIDAY, reason="Training days")
    page = picker(client, day="2027-01-07")
    assert offered(page) == []
    assert "Next available: Mon, Jan 11, 2027" in page


def test_never_more_than_twenty_times_are_on_screen(client, online_clinic):
    for day in ("", "2027-01-07", "2027-01-12"):
        page = picker(client, day=day) if day else picker(client)
        assert 0 < len(visible(page)) <= 20


def test_each_time_is_named_with_its_day(client, online_clinic):
    page = picker(client, day="2027-01-07")
    assert re.search(
        r'value="2027-01-07T09:00:00-08:00"[^>]*>'
        r'<span class="visually-hidden">Thu, Jan 7, 2027, </span>9:00 a.m.</button>',
        page,
    )
    assert '<legend class="visually-hidden">Free times on Thu, Jan 7, 2027</legend>' in page
    # The live region that tells a screen reader what a day switched in place (htmx) shows.
    assert re.search(
        r'id="slot-status"[^>]*aria-live="polite"[^>]*>Thu, Jan 7, 2027: 19 free times<', page
    )


@pytest.mark.parametrize(
    "day",
    [
        "2027-01-01",  # past
        "2027-01-04",  # today, inside the minimum notice
        "2027-06-07",  # beyond the online window
        "2027-13-01",
        "0000-00-00",
        "9999-12-31",
        "2027-1-5",
        "2027-01-05T00:00",
        "\u0662\u0660\u0662\u0667-\u0660\u0661-\u0660\u0665",  # Arabic-Indic digits
        "x" * 5000,
        "<script>",
        "",
    ],
)
def test_any_other_day_shows_the_first_available_day(client, online_clinic, day):
    page = picker(client, day=day)
    assert heading(page) == "Tue, Jan 5, 2027"
    assert min(offered(page)) >= NOW + dt.timedelta(hours=24)
    assert "<script>" not in page.split("</header>", 1)[-1]


def test_a_weekend_day_inside_the_window_says_when_the_next_free_time_is(client, online_clinic):
    page = picker(client, day="2027-01-09")
    assert offered(page) == []
    assert "Next available: Mon, Jan 11, 2027" in page


def test_a_later_row_links_back_and_its_days_can_be_chosen(client, online_clinic):
    page = picker(client, day="2027-01-20")
    assert heading(page) == "Wed, Jan 20, 2027"
    assert current_day(page) == "20270120"
    assert 'href="/book/?day=2027-01-05#slot-times"' in page  # earlier days: the first row
    assert "Earlier days" in page and "Later days" in page


def test_the_picker_for_a_day_costs_no_more_queries_than_the_first(
    client, online_clinic, django_assert_max_num_queries
):
    fill(online_clinic, WEDNESDAY)
    with django_assert_max_num_queries(7):
        picker(client, day="2027-01-06")
    with django_assert_max_num_queries(7):
        picker(client, day="2027-02-17")


def test_a_long_day_keeps_the_times_past_twenty_behind_more_times(client, online_clinic):
    OpeningHours.objects.filter(weekday=THURSDAY.weekday()).update(
        opens=dt.time(7), closes=dt.time(21)
    )
    WorkingHours.objects.filter(weekday=THURSDAY.weekday()).update(
        starts=dt.time(7), ends=dt.time(21)
    )
    page = picker(client, day="2027-01-07")
    assert len(offered(page)) == 27  # 7:00 to 20:00, every half hour
    assert len(visible(page)) == 18  # the first six of each group
    assert "<summary>4 more morning times</summary>" in page
    assert "<summary>1 more evening time</summary>" in page
    assert "<summary>4 more afternoon times</summary>" in page
