"""The slot picker (/book/) and slot holds: consultation times only, inside the online window,
never staff-only openings, in clinic time, in a fixed number of queries; a hold hides its time
from everyone but its holder until it expires."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from scheduling.booking import appointment_book
from scheduling.errors import SchedulingError
from scheduling.models import BookedVia, RoomKind, SlotHold
from scheduling.online.booking import online_slot_hold
from scheduling.slots import find_slots
from tests.clinic_time import LA, MONDAY, TUESDAY, at, stopped_clock
from tests.factories import (
    AppointmentTypeFactory,
    ExtraOpeningFactory,
    PatientFactory,
    RoomFactory,
    SlotHoldFactory,
    consultation_at,
)

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 12)  # the first bookable start is Tuesday 12:00


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def offered(response) -> list[dt.datetime]:
    """The starts the page offers, from the buttons' values."""
    values = re.findall(r'name="start" value="([^"]+)"', response.content.decode())
    return [dt.datetime.fromisoformat(value) for value in values]


def local(starts: list[dt.datetime]) -> list[str]:
    return [start.astimezone(LA).strftime("%a %m-%d %H:%M") for start in starts]


def test_the_picker_offers_times_from_the_notice_onwards_in_half_hours(client, online_clinic):
    response = client.get(reverse("scheduling:book"))
    assert response.status_code == 200
    starts = local(offered(response))
    assert starts[0] == "Tue 01-05 12:00"
    assert "Tue 01-05 11:30" not in starts
    assert "Tue 01-05 18:00" in starts  # the last 60-minute slot before 19:00
    assert "Tue 01-05 18:30" not in starts
    assert {start[-2:] for start in starts} == {"00", "30"}
    assert not any(start.startswith("Mon") for start in starts)


def test_times_are_shown_in_clinic_time_with_the_zone_named(client, online_clinic):
    page = client.get(reverse("scheduling:book")).content.decode()
    assert "All times are Pacific time." in page
    assert "12:00 p.m." in page
    assert "Tue, Jan 5, 2027" in page


def test_days_page_forward_to_the_last_bookable_day_and_no_further(client, online_clinic):
    first = client.get(reverse("scheduling:book")).content.decode()
    assert "Earlier days" not in first
    assert "?day=2027-01-19" in first  # the next row of days starts a fortnight on
    last = client.get(reverse("scheduling:book"), {"day": "2027-03-05"})
    starts = local(offered(last))
    assert starts[-1] == "Fri 03-05 18:00"  # now + 60 days
    assert "Later days" not in last.content.decode()
    beyond = client.get(reverse("scheduling:book"), {"day": "2027-06-07"})
    assert local(offered(beyond))[0] == "Tue 01-05 12:00"  # the first available day instead
    assert client.get(reverse("scheduling:book"), {"day": "not-a-date"}).status_code == 200


def test_staff_only_saturdays_are_never_offered(client, online_clinic):
    ExtraOpeningFactory(date=dt.date(2027, 1, 9))
    starts = local(offered(client.get(reverse("scheduling:book"))))
    assert not any(start.startswith(("Sat", "Sun")) for start in starts)


def test_only_the_consultation_is_offered(client, online_clinic):
    RoomFactory(infusion=True)
    AppointmentTypeFactory(
        code="infusion", duration_minutes=120, room_kind=RoomKind.INFUSION, self_bookable=False
    )
    consultation_at(online_clinic, at(TUESDAY, 14))
    starts = local(offered(client.get(reverse("scheduling:book"))))
    # The one consult room is busy 14-15: the 60-minute consultation cannot start 13:30-14:30.
    assert {"Tue 01-05 13:30", "Tue 01-05 14:00", "Tue 01-05 14:30"}.isdisjoint(starts)
    assert {"Tue 01-05 13:00", "Tue 01-05 15:00"} <= set(starts)


def test_without_a_self_bookable_consultation_the_page_says_to_call(client, online_clinic):
    online_clinic.consultation.self_bookable = False
    online_clinic.consultation.save()
    response = client.get(reverse("scheduling:book"))
    assert response.status_code == 503
    assert "Please call us" in response.content.decode()


def test_nine_oclock_stays_nine_oclock_across_the_spring_clock_change(
    client, online_clinic, frozen
):
    frozen.move_to(at(dt.date(2027, 3, 1), 8))
    before = offered(client.get(reverse("scheduling:book"), {"day": "2027-03-08"}))
    after = offered(client.get(reverse("scheduling:book"), {"day": "2027-03-15"}))
    assert before[0] == dt.datetime(2027, 3, 8, 17, 0, tzinfo=dt.UTC)  # 9:00 PST
    assert after[0] == dt.datetime(2027, 3, 15, 16, 0, tzinfo=dt.UTC)  # 9:00 PDT
    assert local([before[0], after[0]]) == ["Mon 03-08 09:00", "Mon 03-15 09:00"]
    page = client.get(reverse("scheduling:book"), {"day": "2027-03-15"}).content.decode()
    assert "9:00 a.m." in page
    assert "2027-03-15T09:00:00-07:00" in page


def test_nine_oclock_stays_nine_oclock_across_the_autumn_clock_change(
    client, online_clinic, frozen
):
    frozen.move_to(at(dt.date(2027, 10, 25), 8))
    before = offered(client.get(reverse("scheduling:book"), {"day": "2027-11-01"}))
    after = offered(client.get(reverse("scheduling:book"), {"day": "2027-11-08"}))
    assert before[0] == dt.datetime(2027, 11, 1, 16, 0, tzinfo=dt.UTC)  # 9:00 PDT
    assert after[0] == dt.datetime(2027, 11, 8, 17, 0, tzinfo=dt.UTC)  # 9:00 PST


def _book_many(online_clinic, count: int) -> None:
    patients = PatientFactory.create_batch(3)
    for index in range(count):
        day = TUESDAY + dt.timedelta(days=7 * (index // 20) + (index % 4))
        consultation_at(
            online_clinic, at(day, 9 + (index % 20) // 4 * 2), patient=patients[index % 3]
        )


# The consultation type, then find_slots' six (seven with a patient's own appointments, which
# the public picker has none of).
PICKER_QUERIES = 7


@pytest.mark.parametrize("appointments", [2, 200])
def test_the_picker_runs_a_fixed_number_of_queries(
    client, online_clinic, appointments, django_assert_num_queries
):
    _book_many(online_clinic, appointments)
    SlotHoldFactory.create_batch(
        3,
        appointment_type=online_clinic.consultation,
        room=online_clinic.room,
        clinician=online_clinic.clinician,
    )
    with django_assert_num_queries(PICKER_QUERIES):
        response = client.get(reverse("scheduling:book"), {"day": "2027-01-11"})
    assert response.status_code == 200


# Holds --------------------------------------------------------------------------------------


def hold_at(start: dt.datetime) -> SlotHold:
    return online_slot_hold(start=start)


def tuesday_starts(online_clinic, *, hold_key: str | None = None) -> list[str]:
    slots = find_slots(
        appointment_type=online_clinic.consultation,
        start_date=TUESDAY,
        end_date=TUESDAY,
        include_extra_openings=False,
        hold_key=hold_key,
        step=dt.timedelta(hours=1),
    )
    return local([slot.start for slot in slots])


def test_a_hold_takes_the_first_free_room_and_clinician_for_the_hold_time(online_clinic, settings):
    hold = hold_at(at(TUESDAY, 15))
    assert (hold.room, hold.clinician) == (online_clinic.room, online_clinic.clinician)
    assert hold.end - hold.start == dt.timedelta(minutes=60)
    assert hold.expires_at == NOW + dt.timedelta(minutes=settings.SLOT_HOLD_MINUTES)
    assert len(hold.key) >= 32


def test_a_hold_hides_the_time_from_others_but_not_from_its_holder(online_clinic):
    hold = hold_at(at(TUESDAY, 15))
    assert "Tue 01-05 15:00" not in tuesday_starts(online_clinic)
    assert "Tue 01-05 15:00" in tuesday_starts(online_clinic, hold_key=hold.key)


def test_find_slots_with_holds_still_runs_seven_queries(
    online_clinic, patient, django_assert_num_queries
):
    hold_at(at(TUESDAY, 15))
    with django_assert_num_queries(7):
        find_slots(
            appointment_type=online_clinic.consultation,
            start_date=TUESDAY,
            end_date=TUESDAY + dt.timedelta(weeks=8),
            include_extra_openings=False,
            patient_id=patient.pk,
        )


def test_an_expired_hold_frees_the_time(online_clinic, frozen, settings):
    hold_at(at(TUESDAY, 15))
    frozen.shift(dt.timedelta(minutes=settings.SLOT_HOLD_MINUTES, seconds=1))
    assert "Tue 01-05 15:00" in tuesday_starts(online_clinic)
    other = hold_at(at(TUESDAY, 15))
    assert other.room == online_clinic.room


def test_a_second_hold_on_a_held_time_is_refused(online_clinic):
    hold_at(at(TUESDAY, 15))
    with pytest.raises(SchedulingError) as refused:
        hold_at(at(TUESDAY, 15))
    assert refused.value.code == "slot_gone"
    with pytest.raises(SchedulingError):
        hold_at(at(TUESDAY, 15, 30))  # overlaps the held hour


def test_a_live_hold_blocks_other_bookings_even_by_staff(online_clinic, patient):
    hold_at(at(TUESDAY, 15))
    for via in (BookedVia.STAFF, BookedVia.ONLINE):
        with pytest.raises(SchedulingError) as refused:
            appointment_book(
                patient_id=patient.pk,
                appointment_type_id=online_clinic.consultation.pk,
                start=at(TUESDAY, 15),
                via=via,
            )
        assert refused.value.code == "no_resource"
    with pytest.raises(SchedulingError) as named:
        appointment_book(
            patient_id=patient.pk,
            appointment_type_id=online_clinic.consultation.pk,
            start=at(TUESDAY, 15),
            room_id=online_clinic.room.pk,
        )
    assert named.value.code == "held"


def test_the_holder_books_the_held_room_and_the_hold_is_released(online_clinic, patient):
    RoomFactory(name="Consult B")  # would be second choice without the hold
    hold = hold_at(at(TUESDAY, 15))
    appointment = appointment_book(
        patient_id=patient.pk,
        appointment_type_id=online_clinic.consultation.pk,
        start=at(TUESDAY, 15),
        via=BookedVia.ONLINE,
        hold_key=hold.key,
    )
    assert appointment.room == online_clinic.room
    assert not SlotHold.objects.filter(key=hold.key).exists()


def test_a_new_hold_from_the_same_browser_releases_the_previous_one(online_clinic):
    first = hold_at(at(TUESDAY, 15))
    second = online_slot_hold(start=at(TUESDAY, 16), replaces=first.key)
    assert list(SlotHold.objects.values_list("key", flat=True)) == [second.key]


def test_holds_outside_the_online_window_are_refused(online_clinic):
    with pytest.raises(SchedulingError) as soon:
        hold_at(at(TUESDAY, 11))
    with pytest.raises(SchedulingError) as far:
        hold_at(at(dt.date(2027, 3, 8), 10))
    assert (soon.value.code, far.value.code) == ("too_soon", "too_far")


def test_a_time_off_the_half_hour_grid_is_not_offered(online_clinic):
    with pytest.raises(SchedulingError) as refused:
        hold_at(at(TUESDAY, 15, 15))
    assert refused.value.code == "slot_gone"


# The hold page flow ---------------------------------------------------------------------------


def test_choosing_a_time_holds_it_and_opens_the_details_form(client, online_clinic):
    response = client.post(reverse("scheduling:book_hold"), {"start": "2027-01-05T15:00:00-08:00"})
    hold = SlotHold.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:book_details", args=[hold.key])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "We are holding this time for you until 12:10 p.m." in page.content.decode()
    assert page["Cache-Control"].count("no-store") == 1
    assert page["Referrer-Policy"] == "same-origin"


def test_choosing_a_taken_time_offers_the_nearest_free_ones(client, online_clinic):
    consultation_at(online_clinic, at(TUESDAY, 15))
    response = client.post(reverse("scheduling:book_hold"), {"start": "2027-01-05T15:00:00-08:00"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Sorry, that time is no longer free." in page
    assert local(offered(response)) == [
        "Tue 01-05 13:00",
        "Tue 01-05 13:30",
        "Tue 01-05 14:00",
        "Tue 01-05 16:00",
        "Tue 01-05 16:30",
    ]
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("start", ["", "tomorrow", "2027-01-05T15:00:00", "x" * 5000])
def test_a_nonsense_time_goes_back_to_the_picker(client, online_clinic, start):
    response = client.post(reverse("scheduling:book_hold"), {"start": start})
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:book")
    assert not SlotHold.objects.exists()


def test_a_lapsed_hold_on_a_free_time_can_still_be_booked(client, online_clinic, frozen):
    client.post(reverse("scheduling:book_hold"), {"start": "2027-01-05T15:00:00-08:00"})
    hold = SlotHold.objects.get()
    frozen.shift(dt.timedelta(minutes=30))
    page = client.get(reverse("scheduling:book_details", args=[hold.key])).content.decode()
    assert "it is still free" in page
    assert 'name="alternative"' not in page


def test_a_lapsed_hold_on_a_taken_time_offers_alternatives(client, online_clinic, frozen):
    client.post(reverse("scheduling:book_hold"), {"start": "2027-01-05T15:00:00-08:00"})
    hold = SlotHold.objects.get()
    frozen.shift(dt.timedelta(minutes=30))
    consultation_at(online_clinic, at(TUESDAY, 15))
    response = client.get(reverse("scheduling:book_details", args=[hold.key]))
    page = response.content.decode()
    assert "Sorry, that time is no longer free." in page
    assert page.count('name="alternative"') == 5


def test_an_unknown_hold_key_goes_back_to_the_picker(client, online_clinic):
    response = client.get(reverse("scheduling:book_details", args=["a" * 32]))
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:book")
    assert client.get(reverse("scheduling:book_details", args=["bad key!"])).status_code == 404


def test_holding_is_rate_limited_per_address(client, online_clinic, settings):
    settings.BOOKING_RATE_PER_IP_PER_HOUR = 2
    for _ in range(2):
        client.post(reverse("scheduling:book_hold"), {"start": "2027-01-05T15:00:00-08:00"})
    response = client.post(reverse("scheduling:book_hold"), {"start": "2027-01-05T16:00:00-08:00"})
    assert response.status_code == 429
    assert "too many attempts" in response.content.decode()


def test_when_the_notice_window_opens_on_a_weekend_the_picker_starts_on_the_monday(
    client, online_clinic, frozen
):
    frozen.move_to(at(dt.date(2027, 1, 8), 10))  # Friday: the first bookable start is Saturday
    response = client.get(reverse("scheduling:book"))
    starts = local(offered(response))
    assert starts[0] == "Mon 01-11 09:00"
    page = response.content.decode()
    assert '<h2 class="h4" id="slot-day-heading">Mon, Jan 11, 2027</h2>' in page
    assert 'id="day-20270111" class="slot-day slot-day-current" href' in page
