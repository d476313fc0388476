"""Issue 8, item 5: security headers on every response (propel.security)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from intake.links import patient_link_token
from tests.factories import AppointmentFactory, SlotHoldFactory, clear_patient
from tests.patient_links import open_link

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=|<style", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def pages(patient, clinician_user, client_for):
    """(name, client, url) for a landing, booking, staff and patient page each."""
    appointment = AppointmentFactory(patient=patient)
    submission = clear_patient(patient).submission
    token = patient_link_token(patient)
    staff = client_for(clinician_user)
    anonymous = Client()
    return {
        "landing": (anonymous, reverse("propel:home")),
        "booking": (anonymous, reverse("scheduling:book")),
        "booking details": (
            anonymous,
            reverse("scheduling:book_details", args=[SlotHoldFactory().key]),
        ),
        "link request": (anonymous, reverse("scheduling:link_request")),
        "staff today": (staff, reverse("scheduling:today")),
        "staff calendar": (staff, reverse("scheduling:calendar")),
        "staff chart": (staff, reverse("intake:chart", args=[patient.pk])),
        "staff appointment": (staff, reverse("scheduling:appointment", args=[appointment.pk])),
        "patient home": (anonymous, reverse("scheduling:patient_home", args=[token])),
        "patient cancel": (
            anonymous,
            reverse("scheduling:patient_cancel", args=[token, appointment.pk]),
        ),
        "patient answers": (
            anonymous,
            reverse("intake:summary", args=[token, submission.round]),
        ),
    }


PAGE_NAMES = [
    "landing",
    "booking",
    "booking details",
    "link request",
    "staff today",
    "staff calendar",
    "staff chart",
    "staff appointment",
    "patient home",
    "patient cancel",
    "patient answers",
]
PRIVATE = [name for name in PAGE_NAMES if name.startswith(("staff", "patient"))]


@pytest.mark.parametrize("page", PAGE_NAMES)
def test_html_pages_carry_a_strict_policy_and_no_inline_script(page, pages):
    client, url = pages[page]
    response = client.get(url, follow=True)  # a patient's link is swapped for a session first
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert response["Permissions-Policy"] == "camera=(), microphone=(), geolocation=()"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    html = response.content.decode()
    assert not INLINE_SCRIPT.findall(html), "inline <script> would be blocked by the policy"
    assert not EVENT_ATTRIBUTE.findall(html), "on*= event attributes would be blocked"
    assert not STYLE_ATTRIBUTE.findall(html), "inline styles would be blocked by style-src"
    assert "includeIndicatorStyles" in html  # htmx must not inject its own <style>


@pytest.mark.parametrize("page", PRIVATE)
def test_staff_and_patient_pages_are_never_stored(page, pages):
    client, url = pages[page]
    response = client.get(url)
    assert "no-store" in response["Cache-Control"]
    assert response["Cache-Control"].count("no-store") == 1


def test_the_public_landing_page_may_be_cached_but_any_signed_in_answer_is_not(
    front_desk, client_for
):
    assert "no-store" not in Client().get(reverse("propel:home")).get("Cache-Control", "")
    signed_in = client_for(front_desk).get(reverse("propel:home"))
    assert "no-store" in signed_in["Cache-Control"]


def test_a_refused_staff_page_is_not_stored_either():
    response = Client().get(reverse("scheduling:today"))
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]


def test_calendar_files_and_json_keep_their_own_content_types(patient, front_desk, client_for):
    appointment = AppointmentFactory(patient=patient)
    token = patient_link_token(patient)
    patient_ics = open_link(
        Client(), reverse("scheduling:patient_ics", args=[token, appointment.pk])
    )
    staff_ics = client_for(front_desk).get(
        reverse("scheduling:appointment_ics", args=[appointment.pk])
    )
    health = Client().get(reverse("propel:healthz"))
    for response in (patient_ics, staff_ics):
        assert response["Content-Type"].startswith("text/calendar")
        assert "Content-Security-Policy" not in response
        assert "no-store" in response["Cache-Control"]
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert health["Content-Type"].startswith("application/json")
    assert "Content-Security-Policy" not in health
    assert health["Permissions-Policy"] == "camera=(), microphone=(), geolocation=()"


def test_production_turns_on_hsts_and_secure_cookies():
    """The settings module's production block (checked end to end by test_deploy_check)."""
    text = (Path(__file__).resolve().parents[2] / "propel" / "settings.py").read_text()
    block = text.split("if PRODUCTION:\n    SECURE_SSL_REDIRECT", 1)[1].split("\n\n", 1)[0]
    for setting in (
        "SESSION_COOKIE_SECURE = True",
        "CSRF_COOKIE_SECURE = True",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS = True",
    ):
        assert setting in block
