"""axe-core (vendored in static/vendor/axe-core-4.14.1) finds no serious or critical
accessibility violations on the pages a patient meets, at phone size."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from intake.links import patient_link_token
from intake.opt_out import email_opt_out_token
from tests.e2e.conftest import give_backup_code, sign_in
from tests.factories import (
    TEST_PASSWORD,
    AppointmentTypeFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    open_weekdays,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE_URL = "/static/vendor/axe-core-4.14.1/axe.min.js"


def serious_violations(page) -> list[dict]:
    # Loaded from this site's static files: the Content-Security-Policy rightly refuses an
    # injected inline script.
    page.add_script_tag(url=AXE_URL)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def clinic(db):
    open_weekdays()
    AppointmentTypeFactory()
    RoomFactory(name="Consult A")
    ClinicianFactory(display_name="Dr Example")
    return PatientFactory()


def test_patient_pages_have_no_serious_accessibility_violations(phone_page, live_server, clinic):
    token = patient_link_token(clinic)
    pages = [
        "/",
        "/book/",
        "/book/check-email/",
        "/link/",
        "/accounts/login/",
        f"/p/{token}/",
        f"/p/{token}/intake/about/",
        f"/p/{token}/intake/phq9/",
        f"/p/{token}/intake/medications/",
        f"/p/{token}/contact/",
        reverse("intake:email_opt_out", args=[email_opt_out_token(clinic.pk)]),
    ]
    found = {}
    for path in pages:
        assert phone_page.goto(path).status == 200, path
        if violations := serious_violations(phone_page):
            found[path] = violations
    assert not found, json.dumps(found, indent=1)


def test_staff_pages_have_no_serious_accessibility_violations(
    desktop_page, live_server, clinic, clinician_user
):
    sign_in(desktop_page, clinician_user.username, TEST_PASSWORD, give_backup_code(clinician_user))
    found = {}
    for path in [
        "/staff/",
        "/staff/day/",
        "/staff/calendar/",
        "/staff/review/",
        "/staff/reminders/",
    ]:
        assert desktop_page.goto(path).status == 200, path
        if violations := serious_violations(desktop_page):
            found[path] = violations
    assert not found, json.dumps(found, indent=1)
