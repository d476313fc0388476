"""Blocked time moves the availability version (migration 0014's triggers), so the public slot
picker's cached week shows time off added or removed on the next visit."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import transaction
from django.urls import reverse

from scheduling.models import BlockedTime
from scheduling.slots import availability_version
from tests.clinic_time import LA, MONDAY, TUESDAY, at, stopped_clock
from tests.scheduling.time_off_support import block

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(at(MONDAY, 12))


def offered(client) -> list[str]:
    response = client.get(reverse("scheduling:book"), {"day": TUESDAY.isoformat()})
    assert response.status_code == 200
    values = re.findall(r'name="start" value="([^"]+)"', response.content.decode())
    return [dt.datetime.fromisoformat(v).astimezone(LA).strftime("%a %H:%M") for v in values]


def test_adding_changing_and_removing_blocked_time_each_move_the_version(online_clinic):
    before = availability_version()
    with transaction.atomic():
        row = block(at(TUESDAY, 9), at(TUESDAY, 12), clinician=online_clinic.clinician)
    assert availability_version() == before + 1
    with transaction.atomic():
        BlockedTime.objects.filter(pk=row.pk).update(end=at(TUESDAY, 13))
    assert availability_version() == before + 2
    with transaction.atomic():
        BlockedTime.objects.all().delete()
    assert availability_version() == before + 3


def test_the_cached_slot_page_shows_time_off_on_the_next_visit(client, online_clinic):
    assert "Tue 15:00" in offered(client)
    row = block(at(TUESDAY, 14), at(TUESDAY, 17), clinician=online_clinic.clinician)
    starts = offered(client)
    assert {"Tue 14:00", "Tue 15:00", "Tue 16:30"}.isdisjoint(starts)
    assert "Tue 17:00" in starts
    row.delete()
    assert "Tue 15:00" in offered(client)
