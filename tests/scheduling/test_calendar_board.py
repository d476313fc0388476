"""The staff calendar as a board (issue 20, item 2): a day by room or by clinician, the week
with every room, visits drawn to their real length, empty half hours that book on a click with
the column's room, clinician and type filled in, blocked time drawn from calendar_blocks(), an
agenda list for narrow screens, and a move asked for from the calendar (a dropped visit) that the
booking service refuses with its reason, then accepts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from scheduling.calendar import views as calendar_views
from scheduling.calendar.blocks import BlockedSpan, Window, calendar_blocks
from scheduling.models import AppointmentStatus
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ClosureFactory,
    ExtraOpeningFactory,
    PatientFactory,
    RoomFactory,
    open_weekdays,
)
from tests.scheduling.test_calendar_pages import count_queries, fill
from tests.scheduling.time_off_support import block

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]

WEDNESDAY = TUESDAY + dt.timedelta(days=1)


@pytest.fixture
def staff(client_for, front_desk) -> Client:
    return client_for(front_desk)


@pytest.fixture
def clinic():
    open_weekdays()
    consultation = AppointmentTypeFactory()
    infusion = AppointmentTypeFactory(infusion=True)
    return {
        "consultation": consultation,
        "infusion": infusion,
        "consult": RoomFactory(name="Consult A"),
        "infusion_room": RoomFactory(name="Infusion 1", infusion=True),
        "doctor": ClinicianFactory(display_name="Dr Example"),
        "nurse": ClinicianFactory(display_name="Dr Sample"),
    }


def day(client: Client, when: dt.date = TUESDAY, **params):
    return client.get(reverse("scheduling:calendar"), {"date": when.isoformat(), **params})


def columns_by_title(response) -> dict:
    return {column.title: column for column in response.context["columns"]}


def test_the_day_toggles_from_a_column_per_room_to_a_column_per_clinician(staff, clinic):
    visit = AppointmentFactory(
        room=clinic["infusion_room"], clinician=clinic["nurse"], start=at(TUESDAY, 10)
    )
    by_room = columns_by_title(day(staff))
    assert list(by_room) == ["Consult A", "Infusion 1"]
    assert [b.appointment for b in by_room["Infusion 1"].blocks] == [visit]
    response = day(staff, by="clinician")
    assert response.status_code == 200
    by_clinician = columns_by_title(response)
    assert list(by_clinician) == ["Dr Example", "Dr Sample"]
    assert by_clinician["Dr Example"].blocks == []
    assert [b.appointment for b in by_clinician["Dr Sample"].blocks] == [visit]
    body = response.content.decode()
    assert 'aria-current="page"' in body and "By room" in body
    assert response.context["next"].endswith("by=clinician")
    assert day(staff, by="bogus").status_code == 400


def test_visits_are_drawn_to_their_real_length(staff, clinic):
    AppointmentFactory(room=clinic["consult"], start=at(TUESDAY, 9, 30))
    AppointmentFactory(
        appointment_type=clinic["infusion"], room=clinic["infusion_room"], start=at(TUESDAY, 13)
    )
    drawn = columns_by_title(day(staff))
    assert drawn["Consult A"].blocks[0].placement.css == "slot-start-2 slot-span-4"  # 60 min
    assert drawn["Infusion 1"].blocks[0].placement.css == "slot-start-16 slot-span-8"  # 120 min


def test_the_week_shows_every_room_under_each_day(staff, clinic):
    visit = AppointmentFactory(
        appointment_type=clinic["infusion"],
        room=clinic["infusion_room"],
        start=at(WEDNESDAY, 17),
    )
    response = staff.get(reverse("scheduling:calendar_week"), {"date": "2027-01-05"})
    assert response.status_code == 200
    columns = response.context["columns"]
    assert len(columns) == 14  # 7 days x 2 rooms
    assert [(c.group, c.title) for c in columns[4:6]] == [
        ("Wed Jan 6", "Consult A"),
        ("Wed Jan 6", "Infusion 1"),
    ]
    assert [c.first_of_group for c in columns[:3]] == [True, False, True]
    [block] = [b for c in columns for b in c.blocks]
    assert block.appointment == visit and columns[5].blocks == [block]
    assert block.placement.css == "slot-start-32 slot-span-8"  # 5-7pm, not clipped
    assert "all rooms" in response.content.decode()


def test_an_empty_half_hour_links_to_booking_with_time_room_and_type_filled_in(staff, clinic):
    AppointmentFactory(room=clinic["consult"], start=at(TUESDAY, 10))
    AppointmentFactory(
        room=clinic["consult"], start=at(TUESDAY, 12), status=AppointmentStatus.CANCELLED
    )
    drawn = columns_by_title(day(staff))
    cells = {cell.time: cell for cell in drawn["Consult A"].cells}
    assert "10:00-0800" not in cells and "10:30-0800" not in cells  # the visit's hour
    assert "12:00-0800" in cells  # a cancelled visit leaves its time free
    assert len(cells) == 20 - 2
    query = parse_qs(urlsplit(cells["09:30-0800"].url).query)
    assert query == {
        "date": ["2027-01-05"],
        "time": ["09:30-0800"],
        "room": [str(clinic["consult"].pk)],
        "appointment_type": [str(clinic["consultation"].pk)],
    }
    infusion_cell = drawn["Infusion 1"].cells[0]
    assert parse_qs(urlsplit(infusion_cell.url).query)["appointment_type"] == [
        str(clinic["infusion"].pk)
    ]
    by_clinician = columns_by_title(day(staff, by="clinician"))
    query = parse_qs(urlsplit(by_clinician["Dr Sample"].cells[0].url).query)
    assert query["clinician"] == [str(clinic["nurse"].pk)] and "room" not in query


def test_the_booking_link_carries_its_prefill_through_the_patient_search(staff, clinic):
    PatientFactory(first_name="Robin", last_name="Sample")
    cell = columns_by_title(day(staff))["Consult A"].cells[1]  # 9:30
    search = staff.get(f"{cell.url}&q=Robin")
    body = search.content.decode()
    assert '<input type="hidden" name="time" value="09:30-0800">' in body
    patient = search.context["patients"][0]
    book_link = f"?patient={patient.pk}&amp;{search.context['prefill_query'].replace('&', '&amp;')}"
    assert book_link in body
    step_two = staff.get(f"{cell.url}&patient={patient.pk}")
    assert step_two.status_code == 200
    form = step_two.context["form"]
    assert form.cleaned_data["room"] == clinic["consult"]
    assert form.cleaned_data["appointment_type"] == clinic["consultation"]
    assert 'value="09:30-0800" checked' in step_two.content.decode()


def test_closures_are_blocked_spans_and_the_view_draws_whatever_calendar_blocks_returns(
    staff, clinic, monkeypatch
):
    ClosureFactory(start_date=WEDNESDAY, reason="Staff training")
    [closure] = calendar_blocks(Window(TUESDAY, WEDNESDAY + dt.timedelta(days=3)))
    assert closure.label == "Closed: Staff training"
    assert (closure.start, closure.end) == (at(WEDNESDAY, 0), at(WEDNESDAY + dt.timedelta(1), 0))
    assert calendar_blocks(Window(TUESDAY, TUESDAY)) == []

    maintenance = BlockedSpan(
        start=at(TUESDAY, 14),
        end=at(TUESDAY, 16),
        label="Maintenance",
        kind="blocked",
        room_id=clinic["infusion_room"].pk,
    )
    monkeypatch.setattr(calendar_views, "calendar_blocks", lambda window: [maintenance])
    response = day(staff)
    drawn = columns_by_title(response)
    assert drawn["Consult A"].blocked == []
    [blocked] = drawn["Infusion 1"].blocked
    assert blocked.placement.css == "slot-start-20 slot-span-8"
    assert not {"14:00-0800", "15:30-0800"} & {c.time for c in drawn["Infusion 1"].cells}
    assert "15:30-0800" in {c.time for c in drawn["Consult A"].cells}
    body = response.content.decode()
    assert 'class="cal-blocked cal-blocked-blocked slot-start-20 slot-span-8">Maintenance' in body


def test_staff_time_off_and_a_room_out_of_use_are_drawn_in_their_own_columns(staff, clinic):
    block(at(TUESDAY, 14), at(TUESDAY, 16), clinician=clinic["doctor"], note="Course")
    block(at(TUESDAY, 9), at(TUESDAY, 11), room=clinic["infusion_room"], reason="maintenance")
    spans = calendar_blocks(Window(TUESDAY, TUESDAY))
    assert {(span.kind, span.clinician_id, span.room_id) for span in spans} == {
        ("time_off", clinic["doctor"].pk, None),
        ("blocked", None, clinic["infusion_room"].pk),
    }

    by_room = columns_by_title(day(staff))
    [room_block] = by_room["Infusion 1"].blocked
    assert room_block.span.label == "Maintenance"
    assert by_room["Consult A"].blocked == []
    assert "9:00-0800" not in {c.time for c in by_room["Infusion 1"].cells}

    by_clinician = day(staff, by="clinician")
    drawn = columns_by_title(by_clinician)
    [time_off] = drawn["Dr Example"].blocked
    assert time_off.span.label.endswith("Course")
    assert drawn["Dr Sample"].blocked == []
    assert not {"14:00-0800", "15:30-0800"} & {c.time for c in drawn["Dr Example"].cells}
    assert "cal-blocked cal-blocked-time_off" in by_clinician.content.decode()


def test_a_blocked_span_for_a_clinician_shows_only_in_their_column():
    span = BlockedSpan(start=at(TUESDAY, 9), end=at(TUESDAY, 10), label="Training", clinician_id=7)
    assert span.applies_to(room_id=None, clinician_id=7)
    assert not span.applies_to(room_id=3, clinician_id=None)
    clinic_wide = BlockedSpan(start=at(TUESDAY, 9), end=at(TUESDAY, 10), label="Closed")
    assert clinic_wide.applies_to(room_id=3, clinician_id=None)


def test_the_agenda_for_narrow_screens_lists_the_days_visits_with_a_move_link(staff, clinic):
    visit = AppointmentFactory(
        room=clinic["consult"],
        start=at(TUESDAY, 11),
        patient=PatientFactory(first_name="Robin", last_name="Sample"),
    )
    response = day(staff)
    [entry] = response.context["agenda"]
    assert entry.appointments == [visit]
    body = response.content.decode()
    agenda = body.split('class="cal-agenda"')[1]
    assert "Robin Sample" in agenda and "11:00 a.m." in agenda
    move = reverse("scheduling:appointment_move", kwargs={"appointment_id": visit.pk})
    assert f'href="{move}"' in agenda
    assert f'draggable="true" data-move="{move}"' in body  # the grid's visit can be dragged
    css = (Path(settings.BASE_DIR) / "static" / "css" / "calendar.css").read_text()
    assert "@media (max-width: 767.98px)" in css and ".cal-agenda { display: block; }" in css


def test_a_dropped_move_is_refused_with_the_rule_then_accepted(staff, clinic):
    visit = AppointmentFactory(
        room=clinic["consult"], clinician=clinic["doctor"], start=at(TUESDAY, 9)
    )
    AppointmentFactory(
        appointment_type=clinic["infusion"],
        room=clinic["infusion_room"],
        clinician=clinic["doctor"],
        start=at(WEDNESDAY, 10),
    )
    AppointmentFactory(
        appointment_type=clinic["infusion"],
        room=RoomFactory(name="Infusion 2", infusion=True),
        clinician=clinic["nurse"],
        start=at(WEDNESDAY, 10),
    )
    other_room = RoomFactory(name="Consult B")
    url = reverse("scheduling:appointment_move", kwargs={"appointment_id": visit.pk})
    dropped = {"date": "2027-01-06", "time": "10:00-0800", "room": other_room.pk}
    page = staff.get(url, dropped)
    assert page.status_code == 200
    assert page.context["requested"] == at(WEDNESDAY, 10)  # every clinician busy: not listed
    assert 'id="slot-requested" value="10:00-0800" checked' in page.content.decode()
    refused = staff.post(url, dropped)
    assert refused.status_code == 409
    [reason] = refused.context["move_form"].non_field_errors()
    assert reason.startswith("No room or clinician is free at that time.")
    assert reason in refused.content.decode()
    visit.refresh_from_db()
    assert visit.start == at(TUESDAY, 9)
    free = staff.get(url, {**dropped, "time": "13:00-0800"})
    assert free.context["requested"] is None  # a free time: checked among the free times
    accepted = staff.post(url, {**dropped, "time": "13:00-0800"})
    assert accepted.status_code == 302
    visit.refresh_from_db()
    assert visit.start == at(WEDNESDAY, 13) and visit.room == other_room


def test_the_all_rooms_week_and_the_clinician_day_run_the_same_queries_for_10_or_1000(staff):
    open_weekdays()
    fill(10, TUESDAY)
    week = reverse("scheduling:calendar_week")
    few = count_queries(staff, week, {"date": "2027-01-05"})
    few_day = count_queries(staff, reverse("scheduling:calendar"), {"date": "2027-01-05"})
    fill(1000, TUESDAY + dt.timedelta(days=7))
    assert count_queries(staff, week, {"date": "2027-01-12"}) == few
    assert count_queries(staff, reverse("scheduling:calendar"), {"date": "2027-01-12"}) == few_day
    by = {"by": "clinician"}
    assert count_queries(staff, reverse("scheduling:calendar"), {"date": "2027-01-05", **by}) == (
        count_queries(staff, reverse("scheduling:calendar"), {"date": "2027-01-12", **by})
    )


def test_the_board_pages_with_visits_cells_and_blocked_time_are_valid_html(staff, clinic):
    from tests.propel.html_validity import parse_errors, unknown_attributes

    AppointmentFactory(room=clinic["consult"], start=at(TUESDAY, 10))
    ClosureFactory(start_date=WEDNESDAY, reason="Staff training")
    pages = [
        day(staff),
        day(staff, by="clinician"),
        day(staff, WEDNESDAY),
        staff.get(reverse("scheduling:calendar_week"), {"date": "2027-01-05"}),
    ]
    for page in pages:
        document = page.content.decode()
        assert "cal-cell" in document or "cal-blocked" in document
        assert parse_errors(document) == [] and unknown_attributes(document) == []


def test_an_extra_opening_is_drawn_on_the_grid_with_its_cells(staff, clinic):
    saturday = TUESDAY + dt.timedelta(days=4)
    ExtraOpeningFactory(date=saturday, opens=dt.time(9), closes=dt.time(12), note="Open Saturday")
    response = day(staff, saturday)
    [column, *_] = response.context["columns"]
    assert [p.css for p in column.extra_spans] == ["slot-start-0 slot-span-12"]
    assert len(column.cells) == 6
    assert 'class="cal-extra-open slot-start-0 slot-span-12"' in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"time": "25:99", "room": "x", "appointment_type": "999999", "date": "2027-02-30"},
        {"time": "=1+1" * 30, "clinician": "-1"},
    ],
)
def test_a_bad_prefill_is_never_a_500(staff, clinic, params):
    patient = PatientFactory()
    new = reverse("scheduling:appointment_new")
    assert staff.get(new, params).status_code == 200
    assert staff.get(new, {**params, "patient": patient.pk}).status_code in (200, 400)
    visit = AppointmentFactory(room=clinic["consult"], start=at(TUESDAY, 11))
    move = reverse("scheduling:appointment_move", kwargs={"appointment_id": visit.pk})
    page = staff.get(move, params)
    assert page.status_code == 200 and page.context["requested"] is None
