"""Issue 16: a patient's link swaps its token for a session (intake.link_pages,
intake.link_sessions). The token is in one request line only; later pages carry `me`; the session
ends when idle or when the links are revoked; refusals are calm, private and say why."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from intake.examples import COMPLETE_ANSWERS
from intake.link_sessions import ME, SESSION_KEY, session_idle
from intake.links import LinkRefusal, patient_link_check, patient_link_token, patient_links_revoke
from intake.models import IntakeSubmission
from propel.models import AuditEvent
from tests.clinic_time import stopped_clock
from tests.factories import CheckInSubmissionFactory, IntakeSubmissionFactory, section_post_data
from tests.patient_links import open_link, open_session

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 20, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def assert_private(response, referrer_policy: str = "same-origin") -> None:
    """no-store, private; no Referer at all after the swap, none to other sites from the pages
    (which carry forms: under no-referrer a browser's POST says `Origin: null`, which Django's
    CSRF check refuses, see propel.secret_addresses)."""
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == referrer_policy


def token_pages(patient) -> dict[str, str]:
    """One address of each kind of token page: the patient's page, the questionnaire, a check-in,
    the crisis page, a sent round's answers."""
    check_in = CheckInSubmissionFactory(patient=patient)
    sent = IntakeSubmissionFactory(
        patient=patient, complete=True, status="submitted", submitted_at=NOW
    )
    return {
        "home": reverse("scheduling:patient_home", args=["T"]),
        "questionnaire": reverse("intake:section", args=["T", "about"]),
        "check-in": reverse("intake:check_in_start", args=["T", check_in.round]),
        "crisis": reverse("intake:crisis", args=["T"]),
        "summary": reverse("intake:summary", args=["T", sent.round]),
    }


def with_token(address: str, token: str) -> str:
    return address.replace("/T/", f"/{token}/", 1)


def test_opening_a_link_swaps_the_token_for_a_new_session_keeping_the_query(client, patient):
    client.get(reverse("scheduling:link_request"))  # a session cookie from before, if any
    client.session.save()
    before = client.session.session_key
    token = patient_link_token(patient)

    response = client.get(reverse("intake:section", args=[token, "medications"]) + "?rows=3")

    assert response.status_code == 302
    assert response["Location"] == reverse("intake:section", args=[ME, "medications"]) + "?rows=3"
    assert_private(response, "no-referrer")
    assert client.session.session_key != before  # cycled: no fixation
    stored = client.session[SESSION_KEY]
    assert (stored["id"], stored["link_version"]) == (patient.pk, patient.link_version)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert token not in page.text


def test_a_head_request_swaps_too(client, patient):
    response = client.head(reverse("scheduling:patient_home", args=[patient_link_token(patient)]))
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:patient_home", args=[ME])


def test_every_token_page_is_private_opened_refused_and_timed_out(client, patient):
    pages = token_pages(patient)
    token = patient_link_token(patient)
    for name, address in pages.items():
        fresh = Client()
        swap = fresh.get(with_token(address, token))
        assert swap.status_code == 302, name
        assert_private(swap, "no-referrer")
        page = fresh.get(swap["Location"])
        assert page.status_code in (200, 302), name
        assert_private(page)
        bad = Client().get(with_token(address, "not-a-token"))
        assert bad.status_code == 404, name
        assert_private(bad)
        timed_out = Client().get(with_token(address, ME))
        assert timed_out.status_code == 401, name
        assert_private(timed_out)


def test_without_a_session_the_marker_gives_the_calm_timed_out_page(client, patient):
    response = client.get(reverse("scheduling:patient_home", args=[ME]))
    assert response.status_code == 401
    assert "This page has timed out" in response.text
    assert "open the link in our email again, or ask for a new one" in response.text
    assert f'action="{reverse("scheduling:link_request")}"' in response.text
    assert 'name="email"' in response.text
    assert patient.first_name not in response.text


def test_the_session_ends_after_the_idle_minutes_and_each_request_restarts_the_clock(
    client, patient, frozen
):
    me = open_session(client, patient)
    home = reverse("scheduling:patient_home", args=[me])
    frozen.shift(dt.timedelta(minutes=29))
    assert client.get(home).status_code == 200
    frozen.shift(dt.timedelta(minutes=29))
    assert client.get(home).status_code == 200
    frozen.shift(dt.timedelta(minutes=30))
    response = client.get(home)
    assert response.status_code == 401
    assert "This page has timed out" in response.text
    # Opening the link in the email again opens a new session.
    assert open_session(client, patient) == ME


def test_the_idle_minutes_are_a_setting(client, patient, frozen, settings):
    settings.PATIENT_SESSION_IDLE_MINUTES = 5
    me = open_session(client, patient)
    frozen.shift(dt.timedelta(minutes=5))
    assert client.get(reverse("scheduling:patient_home", args=[me])).status_code == 401


def test_revoking_the_links_ends_an_open_session_at_once(client, patient):
    me = open_session(client, patient)
    patient_links_revoke(patient_id=patient.pk)
    response = client.get(reverse("intake:start", args=[me]))
    assert response.status_code == 410
    assert "This link no longer works" in response.text
    assert "(916) 915-9215" in response.text
    assert_private(response)


def test_a_post_to_a_real_token_address_is_answered_and_opens_the_session(client, patient):
    token = patient_link_token(patient)
    IntakeSubmissionFactory(patient=patient)

    response = client.post(
        reverse("intake:section", args=[token, "about"]),
        section_post_data("about", COMPLETE_ANSWERS),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("intake:section", args=[ME, "cancer"])
    assert "about" in IntakeSubmission.objects.get(patient=patient).completed_sections
    assert client.get(response["Location"]).status_code == 200


def test_a_404_inside_a_token_page_keeps_the_address_out_of_the_log(client, patient, caplog):
    token = patient_link_token(patient)
    with caplog.at_level("INFO"):
        response = client.post(reverse("intake:section", args=[token, "no-such-step"]))
    assert response.status_code == 404
    assert "This link does not work" in response.text
    assert_private(response)
    assert caplog.records
    assert token.split(":")[-1] not in caplog.text


def test_another_patient_opening_their_link_replaces_the_session(client, patient, other_patient):
    open_session(client, patient)
    open_session(client, other_patient)
    page = client.get(reverse("scheduling:patient_home", args=[ME]))
    assert other_patient.first_name in page.text
    assert f"Hello, {patient.first_name}" not in page.text


@pytest.mark.parametrize(("minutes", "idle"), [(0, False), (29.9, False), (30, True), (600, True)])
def test_session_idle_rule(minutes, idle):
    assert session_idle(0.0, minutes * 60, dt.timedelta(minutes=30)) is idle


def test_why_a_link_fails_has_one_answer_per_case(patient, frozen):
    token = patient_link_token(patient)
    assert patient_link_check(token).patient == patient
    assert patient_link_check("garbage").refusal == LinkRefusal.INVALID
    assert patient_link_check(token[:-1] + ("A" if token[-1] != "A" else "B")).refusal == (
        LinkRefusal.INVALID
    )
    frozen.shift(dt.timedelta(days=31))
    assert patient_link_check(token).refusal == LinkRefusal.GONE
    frozen.shift(dt.timedelta(days=-31))
    patient_links_revoke(patient_id=patient.pk)
    assert patient_link_check(token).refusal == LinkRefusal.GONE
    assert AuditEvent.objects.filter(action="patient.links_revoked", patient_id=patient.pk).exists()


def test_a_form_posted_with_origin_null_is_refused_so_form_pages_are_not_no_referrer(patient):
    """Why the pages with forms say same-origin: the Origin a browser sends under no-referrer."""
    browser = Client(enforce_csrf_checks=True)
    page = open_link(
        browser, reverse("intake:section", args=[patient_link_token(patient), "about"])
    )
    token = page.context["csrf_token"]
    data = {**section_post_data("about", COMPLETE_ANSWERS), "csrfmiddlewaretoken": str(token)}
    url = reverse("intake:section", args=[ME, "about"])
    assert browser.post(url, data, HTTP_ORIGIN="null").status_code == 403
    assert browser.post(url, data, HTTP_ORIGIN="http://testserver").status_code == 302
