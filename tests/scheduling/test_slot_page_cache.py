"""The slot picker's shared week (scheduling.online.slot_page): served from the cache while nothing
it depends on has changed, and never a moment longer: a booking, a cancellation, a hold, a hold
running out, a closure, a change of hours or rooms, and the clock reaching the notice all show on
the very next visit. Someone holding a time sees it; nobody else does."""

from __future__ import annotations

import datetime as dt
import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.urls import reverse

from scheduling.booking import appointment_book
from scheduling.models import AppointmentStatus, BookedVia, OpeningHours, Room
from scheduling.online.booking import online_slot_hold
from scheduling.transitions import appointment_transition
from tests.clinic_time import LA, MONDAY, TUESDAY, at, stopped_clock
from tests.factories import ClosureFactory, PatientFactory

# The cache is only used outside a transaction (uncommitted rows must never reach a shared
# entry), so these tests commit.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = at(MONDAY, 12)  # the first bookable start is Tuesday 12:00


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def offered(client, **params) -> list[str]:
    """The starts the picker offers, as clinic wall-clock times."""
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
    assert "martes" in spanish.content.decode()
    english = client.get(reverse("scheduling:book"), headers={"accept-language": "en"})
    assert "Tuesday, January 5" in english.content.decode()
    assert "martes" not in english.content.decode()


def test_the_page_still_works_when_the_cache_is_down(client, online_clinic):
    with (
        mock.patch.object(cache, "get", side_effect=ConnectionError("redis down")),
        mock.patch.object(cache, "set", side_effect=ConnectionError("redis down")),
    ):
        assert "Tue 15:00" in offered(client)
