"""Every staff page refuses the roles that must not see it, on the server."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from propel.roles import Capability, Role, can

pytestmark = pytest.mark.django_db

STAFF_PAGES = {
    "scheduling:today": Capability.CALENDAR,
    "scheduling:availability": Capability.CALENDAR,
    "propel:audit_log": Capability.CLINIC_ADMIN,
}


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(page):
    response = Client().get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("propel:login"))


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_signed_in_without_second_factor_is_sent_to_it(page, front_desk):
    client = Client()
    client.force_login(front_desk)
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"] == reverse("propel:second_factor")


@pytest.mark.parametrize("page", STAFF_PAGES)
@pytest.mark.parametrize("persona", ["front desk", "clinician", "admin", "no role"])
def test_each_role_gets_exactly_what_its_capability_allows(page, persona, personas, client_for):
    user = personas[persona]
    response = client_for(user).get(reverse(page))
    expected = 200 if can(user, STAFF_PAGES[page]) else 403
    assert response.status_code == expected


def test_the_capability_table_matches_the_design():
    from propel.roles import GRANTS

    assert GRANTS[Capability.HEALTH_RECORD] == {Role.CLINICIAN, Role.ADMIN}
    assert GRANTS[Capability.CLEARANCE_DECIDE] == {Role.CLINICIAN}
    assert GRANTS[Capability.CLINIC_ADMIN] == {Role.ADMIN}
    assert Role.FRONT_DESK in GRANTS[Capability.CALENDAR]
    assert Role.FRONT_DESK in GRANTS[Capability.HEALTH_STATUS]


def test_an_inactive_staff_member_has_no_role(front_desk):
    front_desk.is_active = False
    assert not can(front_desk, Capability.CALENDAR)
