"""The slot picker's shared window (scheduling.online.slot_page): served from the cache while
nothing it depends on has changed, and never a moment longer: a booking, a cancellation, a hold, a
hold running out, a closure, a change of hours or rooms, and the clock reaching the notice all show
on the very next visit, whichever day it asks for. Someone holding a time sees it; nobody else
does. One entry per state serves every day of the window."""

from __future__ import annotations

import datetime as dt
import random
import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.urls import reverse

from scheduling.booking import appointment_book
from scheduling.models import AppointmentStatus, BookedVia, OpeningHours, Room
from scheduling.online import slot_page
from scheduling.online.booking import online_slot_hold
from scheduling.online.rules import current_window
from scheduling.online.slot_days import ROW_DAYS
from scheduling.transitions import appointment_transition
from tests.clinic_time import LA, MONDAY, THURSDAY, TUESDAY, WEDNESDAY, at, stopped_clock
from tests.factories import ClosureFactory, PatientFactory, SlotHoldFactory, consultation_at

# The cache is only used outside a transaction (uncommitted rows must never reach a shared
# entry), so these tests commit.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = at(MONDAY, 12)  # the first bookable start is Tuesday 12:00


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def offered(client, day: dt.date | None = None, **params) -> list[str]:
    """The starts the picker offers (on `day`, if given), as clinic wall-clock times."""
    if day is not None:
        params["day"] = day.isoformat()
    response = client.get(reverse("scheduling:book"), params)
    assert response.status_code == 200
    values = re.findall(r'name="start" value="([^"]+)"', response.content.decode())
    return [dt.datetime.fromisoformat(v).astimezone(LA).strftime("%a %H:%M") for v in values]


def book(online_clinic, hour: int, minute: int = 0):
    return appointment_book(
        patient_id=PatientFactory().pk,
        appointment_type_id=online_clinic.consultation.pk,
        start=at(TUESDAY, hour, minute),
        via=BookedVia.ONLINE,
    )


def test_a_second_visit_is_served_from_the_cache_in_one_query(
    client, online_clinic, django_assert_num_queries
):
    first = offered(client)
    with django_assert_num_queries(1):
        again = offered(client)
    assert again == first
    assert "Tue 15:00" in again


def test_another_day_is_served_from_the_same_entry_in_one_query(
    client, online_clinic, django_assert_num_queries
):
    assert "Tue 15:00" in offered(client, TUESDAY)
    with django_assert_num_queries(1):  # the version: the window is not computed again
        wednesday = offered(client, WEDNESDAY)
    assert wednesday and {start[:3] for start in wednesday} == {"Wed"}
    with django_assert_num_queries(1):
        assert offered(client, THURSDAY)[0] == "Thu 09:00"


def test_another_process_serves_another_day_from_the_shared_entry(
    client, online_clinic, django_assert_num_queries
):
    offered(client, TUESDAY)
    slot_page._recent.clear()  # as a second web process sees it: only the shared cache has it
    with (
        mock.patch.object(slot_page, "window_starts", side_effect=AssertionError("computed")),
        django_assert_num_queries(1),
    ):
        assert offered(client, WEDNESDAY)[0] == "Wed 09:00"


def test_a_miss_computes_the_days_the_page_needs_and_a_later_row_only_its_own(
    client, online_clinic
):
    window = current_window(NOW)
    computed = mock.patch.object(slot_page, "window_starts", wraps=slot_page.window_starts)
    with computed as window_starts:
        offered(client)
        far = window.first_day + dt.timedelta(days=40)
        offered(client, far)
        offered(client, far - dt.timedelta(days=1))
    spans = [(c.kwargs["start_date"], c.kwargs["end_date"]) for c in window_starts.call_args_list]
    fortnights_on = window.first_day + dt.timedelta(days=2 * ROW_DAYS)
    assert spans == [
        (window.first_day, fortnights_on - dt.timedelta(days=1)),  # the first row and the next
        (fortnights_on, fortnights_on + dt.timedelta(days=2 * ROW_DAYS - 1)),  # the third, fourth
    ]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda clinic: book(clinic, 15), id="booking"),
        pytest.param(lambda clinic: online_slot_hold(start=at(TUESDAY, 15)), id="hold"),
        pytest.param(
            lambda clinic: ClosureFactory(start_date=TUESDAY, reason="Training"), id="closure"
        ),
    ],
)
def test_a_change_on_one_day_shows_on_the_next_visit_to_it_from_any_other(
    client, online_clinic, change
):
    assert "Tue 15:00" in offered(client, TUESDAY)
    offered(client, WEDNESDAY)  # the entry most recently used is the whole window's
    change(online_clinic)
    assert "Tue 15:00" not in offered(client, TUESDAY)


def test_a_booking_shows_on_the_next_visit(client, online_clinic):
    assert "Tue 15:00" in offered(client)
    book(online_clinic, 15)
    starts = offered(client)
    assert {"Tue 14:30", "Tue 15:00", "Tue 15:30"}.isdisjoint(starts)
    assert "Tue 14:00" in starts


def test_a_cancellation_frees_the_time_on_the_next_visit(client, online_clinic):
    appointment = book(online_clinic, 15)
    assert "Tue 15:00" not in offered(client)
    appointment_transition(appointment_id=appointment.pk, to_status=AppointmentStatus.CANCELLED)
    assert "Tue 15:00" in offered(client)


def test_a_hold_hides_the_time_until_it_runs_out(client, online_clinic, frozen, settings):
    assert "Tue 15:00" in offered(client)
    online_slot_hold(start=at(TUESDAY, 15))
    assert "Tue 15:00" not in offered(client)
    frozen.shift(dt.timedelta(minutes=settings.SLOT_HOLD_MINUTES) - dt.timedelta(seconds=1))
    assert "Tue 15:00" not in offered(client)
    # Nothing in the database changes when a hold runs out: the clock alone frees the time.
    frozen.shift(dt.timedelta(seconds=1))
    assert "Tue 15:00" in offered(client)


def test_the_holder_sees_their_time_and_nobody_else_does(client, online_clinic):
    other = client.__class__()
    assert "Tue 15:00" in offered(other)
    client.post(reverse("scheduling:book_hold"), {"start": "2027-01-05T15:00:00-08:00"})
    assert "Tue 15:00" in offered(client)
    assert "Tue 15:00" not in offered(other)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda: ClosureFactory(start_date=TUESDAY, reason="Training"), id="closure"),
        pytest.param(
            lambda: OpeningHours.objects.filter(weekday=1).update(opens=dt.time(16)),
            id="opening hours",
        ),
        pytest.param(lambda: Room.objects.update(active=False), id="room out of use"),
    ],
)
def test_a_change_to_the_clinic_shows_on_the_next_visit(client, online_clinic, change):
    assert "Tue 15:00" in offered(client)
    change()
    assert "Tue 15:00" not in offered(client)


def test_times_drop_off_the_front_as_the_notice_moves(client, online_clinic, frozen):
    assert offered(client)[0] == "Tue 12:00"
    frozen.shift(dt.timedelta(minutes=1))
    assert offered(client)[0] == "Tue 12:30"


def test_the_week_of_another_language_is_not_served(client, online_clinic):
    spanish = client.get(reverse("scheduling:book"), headers={"accept-language": "es"})
    assert "martes, 5 de enero de 2027" in spanish.content.decode()
    english = client.get(reverse("scheduling:book"), headers={"accept-language": "en"})
    assert "Tue, Jan 5, 2027" in english.content.decode()
    assert "enero" not in english.content.decode()


def test_the_page_still_works_when_the_cache_is_down(client, online_clinic):
    with (
        mock.patch.object(cache, "get", side_effect=ConnectionError("redis down")),
        mock.patch.object(cache, "set", side_effect=ConnectionError("redis down")),
    ):
        assert "Tue 15:00" in offered(client)


def _every_page(days: list[dt.date | None]) -> list[str]:
    return [str(slot_page.shared_days_html(day=day, now=NOW)) for day in days]


@pytest.mark.parametrize("seed", [0, 1, 2, "closed five weeks"])
def test_the_cached_picker_is_the_picker_computed_afresh(online_clinic, seed):
    """A few seeded calendars (bookings, holds, closures, a long closure that sends the page
    looking far ahead): every day the picker can show is the same from the shared entry, from
    this process's copy and computed afresh."""
    if seed == "closed five weeks":
        ClosureFactory(start_date=TUESDAY, end_date=TUESDAY + dt.timedelta(weeks=5))
    rng = random.Random(str(seed))
    for day in rng.sample(range(1, 50), 8):
        date = TUESDAY + dt.timedelta(days=day)
        hour = rng.randrange(9, 18)
        if rng.random() < 0.2:
            ClosureFactory(start_date=date, reason="Training")
        elif rng.random() < 0.5:
            consultation_at(online_clinic, at(date, hour))
        else:
            SlotHoldFactory(
                appointment_type=online_clinic.consultation,
                room=online_clinic.room,
                clinician=online_clinic.clinician,
                start=at(date, hour),
            )
    window = current_window(NOW)
    days: list[dt.date | None] = [None, MONDAY, window.last_day + dt.timedelta(days=1)]
    days += [window.first_day + dt.timedelta(days=n) for n in range(61)]
    afresh = [str(slot_page.days_html(day=day, now=NOW)) for day in days]
    assert _every_page(days) == afresh  # computed once, then rendered from the entry
    assert _every_page(days) == afresh  # this process's copy
    slot_page._recent.clear()
    assert _every_page(days) == afresh  # the shared entry
