"""The staff navigation fits a phone: its links wrap onto more lines instead of pushing the page
sideways (issue 20: usable on a tablet and a phone)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import give_backup_code, sign_in
from tests.factories import TEST_PASSWORD
from tests.test_permission_matrix import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admins_full_navigation_wraps_within_a_phone_screen(phone_page, live_server):
    admin = build_world().users["admin"]
    sign_in(phone_page, admin.username, TEST_PASSWORD, give_backup_code(admin))
    phone_page.goto("/staff/reports/")
    nav = phone_page.locator("header nav ul.navbar-nav")
    widths = phone_page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            screen: window.innerWidth,
            nav: document.querySelector('header nav').scrollWidth,
        })"""
    )
    assert widths["nav"] <= widths["screen"], widths
    assert widths["page"] <= widths["screen"], widths
    # Every link is still there, each on one line.
    labels = nav.locator("a.nav-link").all_inner_texts()
    assert {"Calendar", "Time off", "Reports", "Waitlist", "Audit log"} <= set(labels)
    assert all("\n" not in label for label in labels)
