"""Blocking a clinician's time in a browser (issue 20, item 3): the visits it hits are listed
first, the pages are axe AA clean, and confirming saves it without cancelling them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from scheduling.models import AppointmentStatus, BlockedTime
from scheduling.time_fields import to_local_input
from tests.e2e.conftest import give_backup_code, sign_in
from tests.e2e.test_accessibility import violations
from tests.factories import TEST_PASSWORD, open_weekdays
from tests.test_permission_matrix import World, build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(db) -> World:
    open_weekdays()
    return build_world()


def test_front_desk_blocks_time_over_a_visit_after_seeing_it_listed(
    desktop_page, live_server, world
):
    page = desktop_page
    user = world.users["front_desk"]
    sign_in(page, user.username, TEST_PASSWORD, give_backup_code(user))
    visit = world.appointment
    page.goto(reverse("scheduling:time_off_new"))
    assert not violations(page)
    page.select_option("#id_clinician", str(world.clinician.pk))
    page.fill("#id_start", to_local_input(visit.start - dt.timedelta(hours=1)))
    page.fill("#id_end", to_local_input(visit.end + dt.timedelta(hours=1)))
    page.select_option("#id_reason", "training")
    page.fill("#id_note", "Fake training day")
    page.locator("#time-off-form [type=submit]").click()
    page.wait_for_selector("#time-off-visits")
    assert "1 visit would be affected" in page.inner_text("#time-off-visits")
    assert page.locator(".time-off-visit").count() == 1
    assert not violations(page)
    assert not BlockedTime.objects.exists()
    page.locator("#time-off-confirm [type=submit]").click()
    page.wait_for_selector("#time-off")
    assert "Fake training day" in page.inner_text("#time-off")
    assert not violations(page)
    row = BlockedTime.objects.get()
    assert row.clinician_id == world.clinician.pk
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED
