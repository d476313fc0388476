""" "Send me a new link": the same answer for every address; a link only to addresses we know."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from intake.links import patient_from_token
from tests.factories import PatientFactory
from tests.patient_links import open_link
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = pytest.mark.django_db

HEALTH_WORDS = ("ketamine", "infusion", "depress", "anxiety", "ptsd", "pain", "cancer", "psych")


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """Ask for a link, then let the outbox sweep send whatever the request wrote."""

    def run(email: str, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("scheduling:link_request"), {"email": email}, **extra)
        deliver_due_reminders()
        return response

    return run


def test_the_form_is_open_to_anyone(client):
    response = client.get(reverse("scheduling:link_request"))
    assert response.status_code == 200
    assert 'autocomplete="email"' in response.content.decode()


def test_known_and_unknown_addresses_get_the_same_answer(client, ask):
    PatientFactory(email="known@example.test")
    known = ask("known@example.test")
    unknown = ask("nobody@example.test")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == reverse("scheduling:link_sent")
    page = client.get(known["Location"]).content.decode()
    assert "If we have your email, we've sent you a link" in page
    assert len(mail.outbox) == 1


def test_a_known_address_gets_a_fresh_working_link(client, ask, settings):
    settings.SITE_URL = "https://book.propel.example"
    patient = PatientFactory(email="known@example.test", first_name="Robin")
    ask("  Known@Example.TEST ")
    (message,) = mail.outbox
    assert message.to == ["known@example.test"]
    assert "ketamine" not in message.subject.lower()
    assert "Hello Robin," in message.body
    token = re.search(r"https://book\.propel\.example/p/([^/\s]+)/\n", message.body)[1]
    assert patient_from_token(token) == patient
    assert open_link(client, reverse("scheduling:patient_home", args=[token])).status_code == 200
    for text in (message.body.lower(), message.alternatives[0][0].lower()):
        assert not any(word in text for word in HEALTH_WORDS)


def test_everyone_sharing_an_address_gets_their_own_link(ask):
    first = PatientFactory(email="family@example.test", first_name="Ana")
    second = PatientFactory(email="family@example.test", first_name="Ben")
    ask("family@example.test")
    assert len(mail.outbox) == 2
    tokens = {
        patient_from_token(re.search(r"/p/([^/\s]+)/\n", message.body)[1])
        for message in mail.outbox
    }
    assert tokens == {first, second}


def test_an_unknown_address_sends_nothing(ask):
    PatientFactory(email="known@example.test")
    ask("known@example.test.evil")
    assert not mail.outbox


def test_a_malformed_address_is_a_field_message(ask):
    response = ask("not an email")
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not mail.outbox


def test_requests_are_limited_per_address_of_the_client(ask, settings):
    settings.LINK_REQUEST_RATE_PER_IP_PER_HOUR = 2
    PatientFactory(email="known@example.test")
    ask("a@example.test")
    ask("b@example.test")
    refused = ask("known@example.test")
    assert refused.status_code == 429
    assert "too many attempts" in refused.content.decode()
    assert not mail.outbox
    assert ask("known@example.test", REMOTE_ADDR="192.0.2.9").status_code == 302


def test_requests_are_limited_per_email_without_saying_so(ask, monkeypatch):
    monkeypatch.setattr("scheduling.online.public_views.LINK_REQUESTS_PER_EMAIL_PER_DAY", 2)
    PatientFactory(email="known@example.test")
    answers = [ask("known@example.test", REMOTE_ADDR=f"192.0.2.{n}") for n in range(4)]
    assert {(answer.status_code, answer["Location"]) for answer in answers} == {
        (302, reverse("scheduling:link_sent"))
    }
    assert len(mail.outbox) == 2
