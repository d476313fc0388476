"""Issue 20, item 6, in a browser: the reports page for each staff role shows the right sections
(front desk the operational ones only), a range can be chosen, a reversed range is a form error,
and each section offers its CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scheduling.models import AppointmentStatus
from tests.e2e.conftest import give_backup_code, sign_in
from tests.factories import TEST_PASSWORD, AppointmentFactory, UserFactory, open_weekdays

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OPERATIONAL = ("utilisation", "attendance", "lead-times", "deferrals", "delivery")
CLINICAL = ("courses", "deferrals-by-reason", "outcomes")


@pytest.mark.parametrize("role", ["front_desk", "clinician", "admin"])
def test_reports_page_sections_per_role(desktop_page, live_server, role):
    open_weekdays()
    AppointmentFactory(
        start=timezone.now() - dt.timedelta(days=7), status=AppointmentStatus.NO_SHOW
    )
    user = UserFactory(username=f"reports-{role}", **{role: True})
    sign_in(desktop_page, user.username, TEST_PASSWORD, give_backup_code(user))
    desktop_page.goto("/staff/reports/")
    expect(desktop_page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    for key in OPERATIONAL:
        expect(desktop_page.locator(f"section#{key}")).to_be_visible()
        expect(desktop_page.locator(f"section#{key} svg[role=img]")).to_have_count(1)
    for key in CLINICAL:
        expect(desktop_page.locator(f"section#{key}")).to_have_count(
            0 if role == "front_desk" else 1
        )
    # The no-show shows in its table.
    expect(desktop_page.locator("section#attendance tbody tr").last).to_contain_text("100.0")
    # A reversed range is a form error, not a page of numbers.
    desktop_page.locator("#id_first").fill("2027-03-01")
    desktop_page.locator("#id_last").fill("2027-01-01")
    desktop_page.get_by_role("button", name="Show").click()
    expect(desktop_page.locator("#range-errors")).to_be_visible()
    expect(desktop_page.locator("section.report")).to_have_count(0)
