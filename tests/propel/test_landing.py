"""The landing page: open to anyone, says what the clinic does and how to start."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client):
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_anyone_can_open_it_without_signing_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_it_says_what_to_expect(page):
    for words in (
        "consultation",
        "4 to 8 infusions over 4 to 8 weeks",
        "quiet, monitored room",
        "rest until you are fully alert",
        "adult drives you home",
    ):
        assert words in page


def test_it_names_who_needs_a_closer_look_in_plain_words(page):
    for words in (
        "high blood pressure that is not well controlled",
        "certain heart conditions",
        "misusing ketamine",
    ):
        assert words in page


def test_it_names_the_side_effects(page):
    for words in ("dizziness", "temporary rise in blood pressure", "vivid dreams", "nausea"):
        assert words in page


def test_it_gives_hours_address_and_phone(page, settings):
    assert "Monday to Friday, 9am to 7pm" in page
    assert "Some Saturdays by appointment" in page
    assert settings.CLINIC_ADDRESS in page
    assert settings.CLINIC_PHONE in page
    assert 'href="tel:9169159215"' in page


def test_it_leads_to_booking_managing_and_staff_sign_in(page):
    assert f'href="{reverse("scheduling:book")}"' in page
    assert "Book a consultation" in page
    assert f'href="{reverse("scheduling:link_request")}"' in page
    assert "Manage my booking / get a new link" in page
    footer = page[page.index("<footer") :]
    assert f'href="{reverse("propel:login")}"' in footer


def test_it_runs_no_queries_for_an_anonymous_visitor(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        client.get("/")
