"""The slot picker by day on a small phone (360 x 740), in a real browser: at most 20 times on
screen, no sideways scrolling on the booking pages, a day chosen from the row of days, and a
consultation booked through the picker; the reschedule page shows the same picker."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from intake.links import patient_link_token
from scheduling.models import BookingRequest
from tests.clinic_time import at
from tests.e2e.conftest import _page
from tests.e2e.test_accessibility import violations
from tests.factories import PatientFactory, consult_clinic, consultation_at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SMALL_PHONE = {"width": 360, "height": 740}
MOST_SHOWN = 20


@pytest.fixture
def small_phone(browser, live_server) -> Iterator[Page]:
    yield from _page(browser, SMALL_PHONE, live_server)


@pytest.fixture(autouse=True)
def clinic():
    return consult_clinic()


def visible_times(page: Page) -> int:
    choices = page.locator('[name="start"], a[href*="reschedule/confirm/?start="]')
    return sum(1 for index in range(choices.count()) if choices.nth(index).is_visible())


def assert_no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide in a {widths[1]} px window"


def test_a_patient_chooses_a_day_and_books_on_a_small_phone(live_server, small_phone: Page):
    page = small_phone
    page.goto("/book/")
    assert 0 < visible_times(page) <= MOST_SHOWN
    assert_no_sideways_scroll(page)
    assert not violations(page)
    first_heading = page.locator("#slot-day-heading").inner_text()
    current = page.locator('nav[aria-label="Choose a day"] [aria-current="true"]')
    expect(current).to_have_count(1)

    # Another day from the row: its times, marked as the chosen day.
    other = page.locator('nav[aria-label="Choose a day"] a:not([aria-current])').nth(2)
    other_id = other.get_attribute("id")
    page.evaluate("() => { window.stillTheSamePage = true; }")
    other.click()
    page.wait_for_url("**/book/?day=*")
    expect(page.locator(f"#{other_id}")).to_have_attribute("aria-current", "true")
    # htmx swapped the picker in place: the same page, focus still on the day, the change said.
    assert page.evaluate("() => window.stillTheSamePage === true")
    assert page.evaluate("() => document.activeElement.id") == other_id
    expect(page.locator("#slot-status")).to_have_text(
        re.compile(rf"^{page.locator('#slot-day-heading').inner_text()}: \d+ free times?$")
    )
    assert page.locator("#slot-day-heading").inner_text() != first_heading
    assert 0 < visible_times(page) <= MOST_SHOWN
    assert_no_sideways_scroll(page)

    # The second time offered that day, named with its day for a screen reader.
    choice = page.locator('button[name="start"]').nth(1)
    start = choice.get_attribute("value")
    heading = page.locator("#slot-day-heading").inner_text()
    expect(choice).to_have_accessible_name(re.compile(rf"^{heading}, \d{{1,2}}:\d\d [ap]\.m\.$"))
    choice.click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    assert_no_sideways_scroll(page)
    for name, value in {
        "first_name": "Jules",
        "last_name": "Example",
        "date_of_birth": "03/27/1980",
        "email": "jules@example.test",
        "mobile": "(916) 555-0144",
    }.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.get_by_role("button", name="Book this consultation").click()
    expect(page.get_by_role("heading", name="Check your email to confirm")).to_be_visible()
    assert_no_sideways_scroll(page)
    assert BookingRequest.objects.get().start == dt.datetime.fromisoformat(start)


def test_the_reschedule_page_has_the_same_picker_on_a_small_phone(
    live_server, small_phone: Page, clinic
):
    patient = PatientFactory()
    day = timezone.localdate() + dt.timedelta(days=7)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    appointment = consultation_at(clinic, at(day, 10), patient=patient)
    token = patient_link_token(patient)
    page = small_phone
    page.goto(reverse("scheduling:patient_reschedule", args=[token, appointment.pk]))
    expect(page.get_by_role("heading", name="Change the time")).to_be_visible()
    expect(page.locator('nav[aria-label="Choose a day"] [aria-current="true"]')).to_have_count(1)
    assert 0 < visible_times(page) <= MOST_SHOWN
    assert_no_sideways_scroll(page)
    assert not violations(page)


def test_a_day_without_times_offers_the_next_available_on_a_small_phone(
    live_server, small_phone: Page
):
    saturday = timezone.localdate() + dt.timedelta(days=3)
    while saturday.weekday() != 5:
        saturday += dt.timedelta(days=1)
    page = small_phone
    page.goto(f"/book/?day={saturday.isoformat()}")
    expect(page.locator("#slot-times").get_by_text("No free times on")).to_be_visible()
    assert visible_times(page) == 0
    assert_no_sideways_scroll(page)
    assert not violations(page)
    page.get_by_role("link", name=re.compile("^Next available: Mon, ")).click()
    page.wait_for_url(f"**/book/?day={saturday + dt.timedelta(days=2)}*")
    assert 0 < visible_times(page) <= MOST_SHOWN
