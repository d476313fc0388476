"""The one-click opt-out link in every email (intake.opt_out, intake.opt_out_pages): GET changes
nothing, the button's POST and a mail app's RFC 8058 one-click POST opt out, a bad token is the
calm 404, and the token never reaches the log."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from intake.links import patient_link_token
from intake.models import ConsentEvent, Patient
from intake.opt_out import (
    email_opt_out_patient,
    email_opt_out_token,
    email_opt_out_url,
    list_unsubscribe_headers,
)
from propel.models import AuditEvent

pytestmark = pytest.mark.django_db


def url_for(token: str) -> str:
    return reverse("intake:email_opt_out", args=[token])


def still_on(patient: Patient) -> bool:
    patient.refresh_from_db()
    return patient.consent_email and not ConsentEvent.objects.exists()


def test_opening_the_link_changes_nothing_and_offers_one_button(client, patient):
    url = url_for(email_opt_out_token(patient.pk))
    page = client.get(url)
    assert page.status_code == 200
    assert "Stop email reminders" in page.text and 'method="post"' in page.text
    assert "We will still email you when you book" in page.text
    assert client.head(url).status_code == 200
    assert still_on(patient)
    assert "no-store" in page["Cache-Control"]


def test_the_button_opts_out_without_a_session_or_csrf_cookie(patient):
    client = Client(enforce_csrf_checks=True)
    page = client.post(url_for(email_opt_out_token(patient.pk)))
    assert page.status_code == 200
    assert "we will not email you appointment reminders any more" in page.text
    patient.refresh_from_db()
    assert patient.consent_email is False
    event = ConsentEvent.objects.get()
    assert (event.patient, event.channel, event.given, event.source) == (
        patient,
        "email",
        False,
        "email_link",
    )
    assert AuditEvent.objects.filter(action="patient.email_opt_out", patient_id=patient.pk)


def test_a_mail_apps_one_click_post_opts_out(patient):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        url_for(email_opt_out_token(patient.pk)),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.consent_email is False


def test_clicking_twice_records_one_opt_out(client, patient):
    url = url_for(email_opt_out_token(patient.pk))
    client.post(url)
    assert client.post(url).status_code == 200
    assert ConsentEvent.objects.count() == 1


def test_texts_are_not_touched(client, patient):
    patient.consent_sms, patient.consent_sms_at = True, patient.consent_email_at
    patient.save()
    client.post(url_for(email_opt_out_token(patient.pk)))
    patient.refresh_from_db()
    assert (patient.consent_email, patient.consent_sms) == (False, True)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_or_foreign_token_is_the_calm_404(client, patient, method):
    good = email_opt_out_token(patient.pk)
    for token in (good[:-2] + ("AA" if not good.endswith("AA") else "BB"), "x" * 30):
        response = getattr(client, method)(url_for(token))
        assert response.status_code == 404
        assert "This link does not work" in response.text
    # A patient's page link is signed for another purpose: it opens nothing here.
    assert getattr(client, method)(url_for(patient_link_token(patient))).status_code == 404
    assert email_opt_out_patient(patient_link_token(patient)) is None
    assert still_on(patient)


def test_the_token_never_reaches_the_log(client, patient, caplog):
    token = email_opt_out_token(patient.pk)
    with caplog.at_level(logging.DEBUG):
        client.get(url_for(token))
        client.post(url_for(token[:-3] + "xyz"))
        client.put(url_for(token))
        client.post(url_for(token))
    assert caplog.records
    assert token.split(":")[-1] not in caplog.text
    assert token not in caplog.text


def test_each_patient_has_their_own_link(patient, other_patient, settings):
    settings.SITE_URL = "https://propel.example"
    url = email_opt_out_url(patient.pk)
    assert url.startswith("https://propel.example/email-reminders/stop/")
    assert url != email_opt_out_url(other_patient.pk)
    assert email_opt_out_patient(url.rstrip("/").rsplit("/", 1)[-1]) == patient


def test_the_list_unsubscribe_headers_follow_rfc_8058():
    assert list_unsubscribe_headers("https://x.example/stop/t/") == {
        "List-Unsubscribe": "<https://x.example/stop/t/>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert list_unsubscribe_headers("") == {}
