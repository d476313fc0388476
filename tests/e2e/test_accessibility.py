"""axe-core (vendored in static/vendor/axe-core-4.14.1) finds no violation of any impact of the
WCAG 2.0/2.1 A and AA rules on any page: the pages a patient meets at phone size, every staff
page at desk size, and the error pages (issue 19, item 6)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from intake.consent_defaults import consent_defaults_add
from intake.opt_out import email_opt_out_token
from intake.paperwork_models import ConsentForm, ConsentFormVersion
from intake.questions import SECTIONS
from scheduling.models import Closure
from tests.e2e.conftest import give_backup_code, sign_in
from tests.factories import TEST_PASSWORD, ReferralFactory, open_weekdays
from tests.intake.requirement_factories import RequirementWaiverFactory, clinic_defaults
from tests.test_permission_matrix import World, build_world, tok_document, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE_URL = "/static/vendor/axe-core-4.14.1/axe.min.js"
AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page) -> list[dict]:
    # Loaded from this site's static files: the Content-Security-Policy rightly refuses an
    # injected inline script.
    page.add_script_tag(url=AXE_URL)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AA_TAGS,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [(n["target"], n.get("failureSummary", "")[:200]) for n in v["nodes"]][:3],
        }
        for v in result["violations"]
    ]


def check(page, paths: list[str], expected_status: dict[str, int] | None = None) -> dict:
    found = {}
    for path in paths:
        status = page.goto(path).status
        assert status == (expected_status or {}).get(path, 200), f"{path}: {status}"
        if problems := violations(page):
            found[path] = problems
    return found


@pytest.fixture
def world(db) -> World:
    open_weekdays()
    found = build_world()
    # What must be on file: the patient's "Before your visit" card, the day sheet's column, the
    # staff patient page's section with a waiver form and a waiver given, the visit's list.
    requirements = clinic_defaults()
    RequirementWaiverFactory(patient=found.patient, requirement=requirements["referral"])
    return found


def test_patient_pages_have_no_accessibility_violations(phone_page, live_server, world):
    token = token_for(world, "patient")
    other = token_for(world, "other_link")  # a patient with a questionnaire to fill in
    appointment = world.appointment.pk
    consent_defaults_add(ConsentForm, ConsentFormVersion)  # a transactional test emptied them
    pages = [
        "/",
        "/book/",
        reverse("scheduling:book_details", kwargs={"hold_key": world.hold.key}),
        "/book/check-email/",
        "/link/",
        "/link/sent/",
        f"/p/{token}/",
        f"/p/{token}/waitlist/",
        f"/p/{token}/contact/",
        f"/p/{token}/documents/",
        f"/p/{token}/appointments/{appointment}/cancel/",
        f"/p/{token}/appointments/{appointment}/reschedule/",
        f"/p/{token}/check-in/{world.infusion.pk}/",
        f"/p/{token}/forms/",
        f"/p/{token}/forms/electronic/",
        f"/p/{token}/forms/treatment/",  # the consent to electronic records comes first
        f"/p/{token}/intake/help-now/",  # the crisis page (the round has a crisis alert)
        f"/p/{token}/intake/answers/{world.submission.round}/",
        f"/p/{token}/intake/sent/{world.submission.round}/",
        *[f"/p/{other}/intake/{section.key}/" for section in SECTIONS],
        reverse("intake:email_opt_out", args=[email_opt_out_token(world.patient.pk)]),
        reverse("intake:referral"),  # the public form for referring offices
        "/no-such-page/",
    ]
    found = check(phone_page, pages, {"/no-such-page/": 404})
    assert not found, json.dumps(found, indent=1)


def test_staff_pages_have_no_accessibility_violations(desktop_page, live_server, world):
    login = check(desktop_page, ["/accounts/login/"])
    user = world.users["clinician"]
    sign_in(desktop_page, user.username, TEST_PASSWORD, give_backup_code(user))
    day = world.infusion.start.astimezone().date().isoformat()
    closure = Closure.objects.create(
        start_date=world.infusion.start.date(), end_date=world.infusion.start.date(), reason="Fake"
    )
    tok_document(world, "")  # the patient page's Documents section with a row in it
    found = check(
        desktop_page,
        [
            "/staff/",
            f"/staff/day/?date={day}",
            f"/staff/calendar/?date={day}",
            f"/staff/calendar/week/?date={day}",
            f"/staff/calendar/?date={world.appointment.start.date()}&by=clinician",
            f"/staff/calendar/?date={world.appointment.start.date()}",
            reverse("scheduling:appointment_move", args=[world.appointment.pk])
            + f"?date={world.appointment.start.date()}&time=09:00",
            reverse("scheduling:visit", args=[world.infusion.pk]),
            reverse("scheduling:appointment", args=[world.appointment.pk]),
            reverse("scheduling:appointment_new"),
            reverse("scheduling:patient_new"),
            reverse("scheduling:patient", args=[world.patient.pk]),
            "/staff/review/",
            reverse("intake:chart", args=[world.patient.pk]),
            reverse("intake:staff_submission", args=[world.submission.pk]),
            reverse("scheduling:course_detail", args=[world.course.pk]),
            reverse("scheduling:course_new", args=[world.patient.pk]),
            "/staff/reminders/",
            reverse("scheduling:appointment_reminders", args=[world.appointment.pk]),
            reverse("scheduling:closure_new"),
            reverse("scheduling:closure", args=[closure.pk]),
            reverse("scheduling:availability"),
            reverse("scheduling:feed_settings"),
            reverse("scheduling:time_off"),
            reverse("scheduling:reports"),
            reverse("scheduling:waitlist"),
            reverse("scheduling:waitlist") + f"?q={world.patient.last_name}",
            reverse("scheduling:waitlist") + f"?patient={world.patient.pk}",
            reverse("intake:referral_queue"),
            reverse("intake:referral_detail", args=[ReferralFactory().pk]),
            reverse("scheduling:patient_new") + f"?referral={ReferralFactory().pk}",
        ],
    )
    assert not {**login, **found}, json.dumps({**login, **found}, indent=1)


def test_admin_pages_have_no_accessibility_violations(desktop_page, live_server, world):
    user = world.users["admin"]
    sign_in(desktop_page, user.username, TEST_PASSWORD, give_backup_code(user))
    found = check(
        desktop_page,
        [f"/staff/audit/?patient={world.patient.pk}", "/staff/audit/", "/staff/review/"],
    )
    assert not found, json.dumps(found, indent=1)


def test_the_403_page_has_no_accessibility_violations(desktop_page, live_server, world):
    user = world.users["front_desk"]
    sign_in(desktop_page, user.username, TEST_PASSWORD, give_backup_code(user))
    found = check(desktop_page, ["/staff/review/"], {"/staff/review/": 403})
    assert not found, json.dumps(found, indent=1)
