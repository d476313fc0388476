"""The start banner (manage.py seed_demo): the address from PORT / SITE_URL, real signed patient
links that open, and where the demo's messages are written."""

from __future__ import annotations

import base64
import datetime as dt
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from demo.banner import delivery_lines
from intake.models import IntakeSubmission

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 6, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def banner(*args: str) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_the_banner_prints_the_address_it_was_given_and_its_links_open(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    text = banner("--url", "http://127.0.0.1:8080/")
    assert (
        "Propel is at http://127.0.0.1:8080/  (staff sign-in: http://127.0.0.1:8080/accounts/"
        in text
    )
    questionnaire = re.search(r"http://127\.0\.0\.1:8080(/p/\S+/intake/)", text)
    manage = re.search(r"http://127\.0\.0\.1:8080(/p/[^/\s]+/)$", text, re.MULTILINE)
    assert questionnaire and manage, text

    client = Client()
    with time_machine.travel(NOW, tick=False):
        response = client.get(questionnaire.group(1), follow=True)
        assert response.status_code == 200
        assert re.search(r"/p/me/intake/[\w-]+/$", response.redirect_chain[-1][0])
        assert Client().get(manage.group(1), follow=True).status_code == 200


def test_the_questionnaire_link_is_for_a_patient_who_has_not_answered_yet(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    text = banner()
    assert "Propel is at http://127.0.0.1:8000/" in text
    name = re.search(r"questionnaire \(new patient\), (\w+) (\w+):", text)
    assert name, text
    first, last = name.groups()
    assert not IntakeSubmission.objects.filter(
        patient__first_name=first, patient__last_name=last
    ).exists()


def test_delivery_lines_follow_the_backends(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.SMS_BACKEND = "propel.sms.ConsoleBackend"
    assert delivery_lines() == [
        f"  Emails: written to {tmp_path / 'mail'}/ by the worker",
        "  Texts (SMS): printed in this console by the worker",
    ]
    settings.EMAIL_BACKEND = "anymail.backends.example.EmailBackend"
    assert delivery_lines()[0] == "  Emails: sent through anymail.backends.example.EmailBackend"


def test_the_fhir_curl_lines_read_a_patient_and_their_questionnaire_responses(settings):
    """The two curl lines the banner prints answer, with the demo client, and the second one
    finds that patient's answers (the README's line that reads a QuestionnaireResponse)."""
    settings.SITE_URL = "http://127.0.0.1:8000"
    text = banner()
    found = re.findall(
        r"curl -u (\S+):(\S+) \"?http://127\.0\.0\.1:8000(/fhir/R4/\S+?)\"?$", text, re.M
    )
    assert [path.split("?")[0].split("/")[3] for _, _, path in found] == [
        "Patient",
        "QuestionnaireResponse",
    ], text
    client_id, secret = found[0][:2]
    auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    with time_machine.travel(NOW, tick=False):
        patient = Client().get(found[0][2], HTTP_AUTHORIZATION=auth)
        answers = Client().get(found[1][2], HTTP_AUTHORIZATION=auth)
    assert patient.status_code == 200 and patient.json()["resourceType"] == "Patient"
    bundle = answers.json()
    assert answers.status_code == 200 and bundle["type"] == "searchset"
    assert bundle["entry"], "the banner's patient has sent a questionnaire"
    reference = f"Patient/{patient.json()['id']}"
    assert {e["resource"]["subject"]["reference"] for e in bundle["entry"]} == {reference}
