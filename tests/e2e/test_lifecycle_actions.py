"""The day sheet's visit screen and the calendar's appointment page offer the same lifecycle
actions for the same visit and the same user (scheduling.transitions.offered_actions,
rendered by templates/scheduling/_visit_actions.html): for the front desk while an infusion is
booked, for a clinician once the desk has checked the patient in through the visit screen. A
consultation's "Check in" on the calendar leads to the visit screen's check-in form.

The clock is frozen on a Tuesday morning before the visits (time_machine patches the clock for
the live server's thread too; the browser's own clock plays no part): "move" is offered only
before the start and "no-show" only after it, so a real clock would make the sets depend on
when the suite runs."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from playwright.sync_api import Page, expect

from propel.roles import Role
from scheduling.models import Appointment, AppointmentStatus, RoomKind
from tests.clinic_time import at, stopped_clock
from tests.e2e.conftest import DESKTOP, TIMEOUT_MS, give_backup_code, sign_in
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

VISIT_DAY = dt.date(2027, 1, 5)  # a Tuesday; tests.factories clears patients on 4 January 2027
NOW = at(VISIT_DAY, 8, 30)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[time_machine.Traveller]:
    yield from stopped_clock(NOW)


@contextmanager
def signed_in(browser, live_server, role: Role, username: str) -> Iterator[Page]:
    """A fresh desktop browser context signed in as a new staff user with `role`."""
    user = UserFactory(username=username, role=role)
    code = give_backup_code(user)
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, username, TEST_PASSWORD, code)
        yield page
    finally:
        context.close()


def offered(page: Page) -> set[str]:
    """The data-action values of the "Next steps" section on the page now shown."""
    expect(page.locator("#visit-actions")).to_be_visible()
    return set(
        page.locator("#visit-actions li[data-action]").evaluate_all(
            "items => items.map(item => item.dataset.action)"
        )
    )


def open_from_day_sheet(page: Page, appointment: Appointment) -> None:
    page.goto("/staff/day/")
    page.locator(f"#day-row-{appointment.pk}").get_by_role("link", name="Open visit").click()
    page.wait_for_url(re.compile(rf"/staff/visits/{appointment.pk}/$"))


def open_from_calendar(page: Page, appointment: Appointment) -> None:
    page.goto("/staff/calendar/")
    page.locator(f'a.cal-appt[data-appointment="{appointment.pk}"]').click()
    page.wait_for_url(re.compile(rf"/staff/appointments/{appointment.pk}/$"))


def both_pages(page: Page, appointment: Appointment) -> tuple[set[str], set[str]]:
    open_from_day_sheet(page, appointment)
    on_visit_screen = offered(page)
    open_from_calendar(page, appointment)
    return on_visit_screen, offered(page)


@pytest.fixture
def infusion(db) -> Appointment:
    open_weekdays()
    patient = PatientFactory(first_name="Casey", last_name="Cleared", cleared=True)
    return AppointmentFactory(
        patient=patient,
        infusion=True,
        room__name="Infusion 1",
        clinician__display_name="Dr Lifecycle",
        start=at(VISIT_DAY, 10),
    )


def test_day_sheet_and_calendar_offer_the_same_actions_before_and_after_check_in(
    browser, live_server, infusion: Appointment
):
    visit_vitals = f"/staff/visits/{infusion.pk}/#vitals"

    with signed_in(browser, live_server, Role.FRONT_DESK, "frontdesk") as desk:
        on_visit_screen, on_calendar = both_pages(desk, infusion)
        assert on_visit_screen == on_calendar
        assert {"check_in", "defer", "cancel", "move"} <= on_calendar

        open_from_day_sheet(desk, infusion)
        form = desk.locator("#check-in-form")
        form.get_by_label("I checked the patient's photo ID and date of birth").check()
        form.get_by_label("Escort or driver").fill("Pat Driver")
        form.get_by_label("Escort's phone").fill("+19165550123")
        form.locator('input[name="alcohol_or_drugs"][value="no"]').check()
        form.locator('input[name="food_as_instructed"][value="yes"]').check()
        form.locator('input[name="new_medicines"][value="no"]').check()
        form.get_by_role("button", name="Check in").click()
        expect(desk.locator("#visit-status")).to_have_text("Checked in")
        infusion.refresh_from_db()
        assert infusion.status == AppointmentStatus.CHECKED_IN

        on_visit_screen, on_calendar = both_pages(desk, infusion)
        assert on_visit_screen == on_calendar
        assert "check_in" not in on_calendar
        assert "move" not in on_calendar  # moves are for booked visits only

    with signed_in(browser, live_server, Role.CLINICIAN, "clinician") as clinician:
        on_visit_screen, on_calendar = both_pages(clinician, infusion)
        assert on_visit_screen == on_calendar
        assert {"record_vitals", "start", "defer"} <= on_calendar
        assert "check_in" not in on_calendar
        # Nothing to sign off or acknowledge yet, so neither is offered.
        assert not {"sign_off", "acknowledge_item"} & on_calendar

        # The start waits for the vital signs, and says where to take them, on both pages.
        for open_page in (open_from_day_sheet, open_from_calendar):
            open_page(clinician, infusion)
            start = clinician.locator('#visit-actions li[data-action="start"]')
            expect(start).to_contain_text("still needed")
            link = start.get_by_role("link", name="Take the pre-infusion vital signs.")
            expect(link).to_have_attribute("href", visit_vitals)

        link.click()
        clinician.wait_for_url(re.compile(rf"/staff/visits/{infusion.pk}/#vitals$"))
        expect(clinician.locator("#vitals-form")).to_be_visible()


def test_a_consultations_check_in_on_the_calendar_leads_to_the_check_in_form(
    browser, live_server, db
):
    open_weekdays()
    consultation = AppointmentFactory(
        patient=PatientFactory(first_name="Morgan", last_name="Consult"),
        appointment_type=AppointmentTypeFactory(),
        room=RoomFactory(name="Consult A", kind=RoomKind.CONSULT),
        clinician=ClinicianFactory(display_name="Dr Consult"),
        start=at(VISIT_DAY, 11),
    )

    with signed_in(browser, live_server, Role.FRONT_DESK, "frontdesk") as desk:
        open_from_calendar(desk, consultation)
        # No one-click status change to "checked in" is left on the calendar's page.
        expect(desk.locator('input[name="status"][value="checked_in"]')).to_have_count(0)
        check_in = desk.locator('#visit-actions li[data-action="check_in"]')
        expect(check_in).to_contain_text("Check in")
        check_in.get_by_role("link").first.click()

        desk.wait_for_url(re.compile(rf"/staff/visits/{consultation.pk}/#check-in$"))
        form = desk.locator("#check-in-form")
        expect(form).to_be_visible()
        form.get_by_label("I checked the patient's photo ID and date of birth").check()
        form.locator('input[name="alcohol_or_drugs"][value="no"]').check()
        form.locator('input[name="food_as_instructed"][value="yes"]').check()
        form.locator('input[name="new_medicines"][value="no"]').check()
        form.get_by_role("button", name="Check in").click()
        expect(desk.locator("#visit-status")).to_have_text("Checked in")
    consultation.refresh_from_db()
    assert consultation.status == AppointmentStatus.CHECKED_IN


def test_every_step_offered_to_the_clinician_links_to_a_section_on_the_visit_screen(
    browser, live_server, infusion: Appointment
):
    from scheduling import visits

    desk = UserFactory(username="desk", front_desk=True)
    visits.visit_check_in(
        appointment_id=infusion.pk,
        actor=desk,
        identity_confirmed=True,
        escort_name="Pat Driver",
        escort_phone="+19165550123",
        alcohol_or_drugs=False,
        food_as_instructed=True,
        new_medicines=False,
    )

    with signed_in(browser, live_server, Role.CLINICIAN, "clinician") as clinician:
        open_from_day_sheet(clinician, infusion)
        # Links to this page's sections (cancelling is done on the calendar's page).
        targets = clinician.locator("#visit-actions li[data-action] > a[href*='#']").evaluate_all(
            """links => links
                .filter(link => link.pathname === location.pathname)
                .map(link => [link.closest('li').dataset.action, link.hash.slice(1)])"""
        )
        assert targets
        dangling = {
            action: anchor
            for action, anchor in targets
            if clinician.locator(f"[id='{anchor}']").count() == 0
        }
        assert dangling == {}
