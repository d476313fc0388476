"""The staff calendar in a browser (issue 20, item 2): a click on an empty half hour of the day
view books there with the room, type and time filled in; a visit dragged onto another room's
cell opens its move page, where the booking service refuses the time with its reason and then
accepts a free one; the keyboard's "Move" link beside a visit leads to the same page; a phone
gets the agenda list instead of the grid.

The clock is frozen on Tuesday 5 January 2027 at 8:30, before the visits (time_machine patches
the live server's thread too)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import time_machine
from playwright.sync_api import Page, expect

from propel.roles import Role
from scheduling.models import Appointment
from tests.clinic_time import at, stopped_clock
from tests.e2e.conftest import DESKTOP, PHONE, TIMEOUT_MS, give_backup_code, sign_in
from tests.factories import (
    TEST_PASSWORD,
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    open_weekdays,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DAY = dt.date(2027, 1, 5)  # a Tuesday
NOW = at(DAY, 8, 30)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[time_machine.Traveller]:
    yield from stopped_clock(NOW)


def desk(browser, live_server, viewport: dict = DESKTOP) -> tuple[object, Page]:
    user = UserFactory(username="desk", role=Role.FRONT_DESK)
    code = give_backup_code(user)
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, "desk", TEST_PASSWORD, code)
    return context, page


@pytest.fixture
def clinic(db) -> dict:
    open_weekdays()
    infusion = AppointmentTypeFactory(infusion=True)
    doctor = ClinicianFactory(display_name="Dr Example")
    nurse = ClinicianFactory(display_name="Dr Sample")
    return {
        "consultation": AppointmentTypeFactory(),
        "infusion": infusion,
        "consult_a": RoomFactory(name="Consult A"),
        "consult_b": RoomFactory(name="Consult B"),
        "infusion_1": RoomFactory(name="Infusion 1", infusion=True),
        "infusion_2": RoomFactory(name="Infusion 2", infusion=True),
        "doctor": doctor,
        "nurse": nurse,
    }


def test_click_an_empty_half_hour_on_the_day_view_to_book_there(browser, live_server, clinic):
    PatientFactory(first_name="Robin", last_name="Caller")
    context, page = desk(browser, live_server)
    try:
        page.goto(f"/staff/calendar/?date={DAY}")
        page.get_by_role("link", name="Book Consult B at 9:30 a.m.").click()
        page.wait_for_url(re.compile(r"/staff/appointments/new/\?"))
        page.get_by_label("Find a patient").fill("Robin")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name="Book for Robin Caller").click()
        expect(page.locator('input[name="time"][value="09:30-0800"]')).to_be_checked()
        expect(page.get_by_label("Room")).to_have_value(str(clinic["consult_b"].pk))
        page.get_by_role("button", name="Book", exact=True).click()
        page.wait_for_url(re.compile(r"/staff/appointments/\d+/$"))
        expect(page.get_by_text("The appointment was booked.")).to_be_visible()
    finally:
        context.close()
    booked = Appointment.objects.get(patient__first_name="Robin")
    assert booked.start == at(DAY, 9, 30)
    assert booked.room == clinic["consult_b"]
    assert booked.appointment_type == clinic["consultation"]


def test_a_visit_dragged_to_a_busy_time_is_refused_with_the_reason_then_moved(
    browser, live_server, clinic
):
    visit = AppointmentFactory(
        room=clinic["consult_a"],
        clinician=clinic["doctor"],
        start=at(DAY, 9),
        patient=PatientFactory(first_name="Alex", last_name="Mover"),
    )
    for clinician, room in (("doctor", "infusion_1"), ("nurse", "infusion_2")):
        AppointmentFactory(
            appointment_type=clinic["infusion"],
            room=clinic[room],
            clinician=clinic[clinician],
            start=at(DAY, 11),
        )
    context, page = desk(browser, live_server)
    try:
        page.goto(f"/staff/calendar/?date={DAY}")
        grid_visit = page.locator(f'a.cal-appt[data-appointment="{visit.pk}"]')
        target = page.get_by_role("link", name="Book Consult B at 11:00 a.m.")
        grid_visit.drag_to(target)
        page.wait_for_url(re.compile(rf"/staff/appointments/{visit.pk}/move/\?"))
        expect(page.locator("#slot-requested")).to_be_checked()
        expect(page.get_by_label("Room")).to_have_value(str(clinic["consult_b"].pk))
        page.get_by_role("button", name="Move", exact=True).click()
        refusal = page.get_by_role("alert").filter(has_text="No room or clinician is free")
        expect(refusal).to_be_visible()
        visit.refresh_from_db()
        assert visit.start == at(DAY, 9)

        page.locator('input[name="time"][value="13:00-0800"]').check()
        page.get_by_role("button", name="Move", exact=True).click()
        page.wait_for_url(re.compile(rf"/staff/appointments/{visit.pk}/$"))
        expect(page.get_by_text("The appointment was moved.")).to_be_visible()
    finally:
        context.close()
    visit.refresh_from_db()
    assert visit.start == at(DAY, 13) and visit.room == clinic["consult_b"]


def test_the_keyboard_move_link_beside_a_visit_opens_its_move_page(browser, live_server, clinic):
    visit = AppointmentFactory(
        room=clinic["consult_a"],
        start=at(DAY, 10),
        patient=PatientFactory(first_name="Kim", last_name="Keys"),
    )
    context, page = desk(browser, live_server)
    try:
        page.goto(f"/staff/calendar/?date={DAY}")
        page.locator(f'a.cal-appt[data-appointment="{visit.pk}"]').focus()
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        expect(focused).to_have_text(re.compile(r"Move Kim Keys's visit at 10:00 a\.m\."))
        expect(focused).to_be_visible()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/staff/appointments/{visit.pk}/move/$"))
    finally:
        context.close()


def test_a_phone_gets_the_agenda_list_instead_of_the_grid(browser, live_server, clinic):
    AppointmentFactory(
        room=clinic["consult_a"],
        start=at(DAY, 10),
        patient=PatientFactory(first_name="Pat", last_name="Phone"),
    )
    context, page = desk(browser, live_server, PHONE)
    try:
        page.goto(f"/staff/calendar/?date={DAY}")
        expect(page.locator(".cal-scroll")).to_be_hidden()
        agenda = page.locator(".cal-agenda")
        expect(agenda).to_be_visible()
        expect(agenda.get_by_role("link", name="Pat Phone", exact=True)).to_be_visible()
        expect(agenda.get_by_role("link", name="Move Pat Phone's visit")).to_be_visible()
        # The calendar itself fits the phone (the staff navigation bar above it is base.html's).
        right = page.evaluate(
            "Math.max(...Array.from(document.querySelectorAll('#calendar *'))"
            ".map(e => e.getBoundingClientRect().right))"
        )
        assert right <= PHONE["width"]
    finally:
        context.close()
