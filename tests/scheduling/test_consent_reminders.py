"""Consent and reminders together (issue 17, item 1): a new online booking gets email reminders
by default and texts only with the ticked box; a change of consent (the one-click link, STOP, the
patient's page) is recorded and re-plans the pending reminders of upcoming appointments; every
email to a patient carries the opt-out link and the List-Unsubscribe headers."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from intake.consent import consent_backfill, consent_set
from intake.models import ConsentEvent, ConsentSource, Patient
from intake.opt_out import email_opt_out_token, email_opt_out_url
from scheduling.booking import appointment_book
from scheduling.models import Reminder, ReminderKind, ReminderState
from scheduling.online.booking import online_booking_confirm, online_booking_request
from scheduling.online.public_forms import BookingDetailsForm
from scheduling.online.rules import PatientDetails
from scheduling.reminders.dispatch import _deliver
from scheduling.reminders.messages import EMAIL_ONLY_CONTEXTS
from scheduling.reminders.sms_webhook import signature_for
from tests.clinic_time import MONDAY, TUESDAY, at, stopped_clock
from tests.factories import AppointmentFactory, PatientFactory
from tests.patient_links import open_session
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 12)
# Thursday next week: every "before" reminder is still to come.
LATER = at(TUESDAY, 15) + dt.timedelta(days=9)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def details(**changes) -> PatientDetails:
    base = {
        "first_name": "Robin",
        "last_name": "Example",
        "date_of_birth": dt.date(1980, 3, 27),
        "email": "robin@example.test",
        "mobile": "+19165550123",
        "consent_email": True,
        "consent_sms": False,
    }
    return PatientDetails(**{**base, **changes})


def book_online(**changes) -> Patient:
    booking_request = online_booking_request(
        details=details(**changes), start=LATER, hold_key="k" * 20, now=NOW
    )
    return online_booking_confirm(booking_request_id=booking_request.pk, now=NOW).patient


def planned(patient: Patient, state: str = ReminderState.PENDING) -> set[tuple[str, str]]:
    rows = Reminder.objects.filter(appointment__patient=patient, state=state)
    return set(rows.values_list("kind", "channel"))


def test_the_booking_form_starts_with_email_reminders_ticked_and_texts_unticked():
    form = BookingDetailsForm()
    assert form["consent_email"].value() is True
    assert not form["consent_sms"].value()


def test_a_new_online_booking_gets_email_reminders_by_default(online_clinic):
    patient = book_online()
    assert (patient.consent_email, patient.consent_email_at) == (True, NOW)
    assert planned(patient) == {
        ("confirmation", "email"),
        ("paperwork_72h", "email"),
        ("consultation_24h", "email"),
        ("intake_nudge_48h", "email"),
    }
    [event] = ConsentEvent.objects.filter(patient=patient)
    assert (event.channel, event.given, event.source, event.at) == ("email", True, "booking", NOW)


def test_texts_only_with_the_ticked_box(online_clinic):
    patient = book_online(consent_sms=True)
    assert (patient.consent_sms, patient.consent_sms_at) == (True, NOW)
    assert ("consultation_24h", "sms") in planned(patient)
    assert set(
        ConsentEvent.objects.filter(patient=patient).values_list("channel", "given", "source")
    ) == {("email", True, "booking"), ("sms", True, "booking")}


def test_an_unticked_email_box_is_an_opt_out_at_booking(online_clinic):
    patient = book_online(consent_email=False)
    assert patient.consent_email is False
    # The confirmation of what they booked still goes; no reminders.
    assert planned(patient) == {("confirmation", "email")}
    assert ConsentEvent.objects.get(patient=patient).given is False


@pytest.fixture
def booked(online_clinic):
    patient = PatientFactory(consent_sms=True, consent_sms_at=NOW)
    appointment_book(
        patient_id=patient.pk,
        appointment_type_id=online_clinic.consultation.pk,
        start=LATER,
        now=NOW,
    )
    return patient


def test_an_opt_out_cancels_pending_email_reminders_and_an_opt_in_plans_them_again(booked):
    assert ("consultation_24h", "email") in planned(booked)
    consent_set(patient_id=booked.pk, channel="email", given=False, source="email_link")
    assert planned(booked) == {
        ("confirmation", "email"),  # the confirmation of the booking still goes
        ("confirmation", "sms"),
        ("paperwork_72h", "sms"),
        ("consultation_24h", "sms"),
        ("intake_nudge_48h", "sms"),
    }
    assert ("consultation_24h", "email") in planned(booked, ReminderState.CANCELLED)
    consent_set(patient_id=booked.pk, channel="email", given=True, source="manage_page")
    assert {("consultation_24h", "email"), ("intake_nudge_48h", "email")} <= planned(booked)


def test_the_link_post_cancels_pending_email_reminders(booked):
    Client().post(reverse("intake:email_opt_out", args=[email_opt_out_token(booked.pk)]))
    assert ("consultation_24h", "email") in planned(booked, ReminderState.CANCELLED)


def test_stop_records_an_event_and_cancels_pending_texts(booked, settings):
    body = json.dumps({"from": str(booked.mobile), "text": "STOP"}).encode()
    response = Client().post(
        "/webhooks/sms/",
        data=body,
        content_type="application/json",
        HTTP_X_PROPEL_SIGNATURE=signature_for(body),
    )
    assert response.status_code == 200
    event = ConsentEvent.objects.get(patient=booked)
    assert (event.channel, event.given, event.source) == ("sms", False, "sms_stop")
    assert not {
        kind for kind, channel in planned(booked) if channel == "sms" and kind != "confirmation"
    }
    assert ("consultation_24h", "email") in planned(booked)


class TestManagePage:
    def url(self) -> str:
        return reverse("scheduling:patient_contact", args=["me"])

    def test_the_page_shows_how_we_contact_the_patient(self, client, booked):
        open_session(client, booked)
        home = client.get(reverse("scheduling:patient_home", args=["me"])).text
        assert "How we contact you" in home
        assert self.url() in home
        page = client.get(self.url())
        assert page.status_code == 200
        assert 'name="consent_email"' in page.text and 'name="consent_sms"' in page.text

    def test_toggling_saves_through_the_consent_door_and_re_plans(self, client, booked):
        open_session(client, booked)
        response = client.post(self.url(), {"consent_sms": "on"})
        assert response.status_code == 302
        booked.refresh_from_db()
        assert (booked.consent_email, booked.consent_sms) == (False, True)
        event = ConsentEvent.objects.get(patient=booked)
        assert (event.channel, event.given, event.source) == ("email", False, "manage_page")
        assert ("consultation_24h", "email") in planned(booked, ReminderState.CANCELLED)
        client.post(self.url(), {"consent_email": "on", "consent_sms": "on"})
        booked.refresh_from_db()
        assert booked.consent_email is True
        assert ("consultation_24h", "email") in planned(booked)
        home = client.get(reverse("scheduling:patient_home", args=["me"])).text
        assert "Saved." in home

    def test_texts_need_a_mobile_on_file(self, client, db):
        patient = PatientFactory(mobile="")
        open_session(client, patient)
        page = client.get(self.url()).text
        assert "We have no mobile number for you" in page
        client.post(self.url(), {"consent_email": "on", "consent_sms": "on"})
        patient.refresh_from_db()
        assert patient.consent_sms is False
        assert not ConsentEvent.objects.exists()

    def test_no_session_or_a_bad_link_opens_nothing(self, client, booked):
        assert client.get(self.url()).status_code == 401
        assert client.post(self.url(), {}).status_code == 401
        bad = reverse("scheduling:patient_contact", args=["x" * 40])
        assert client.get(bad).status_code == 404
        booked.refresh_from_db()
        assert booked.consent_email is True


# Every email to a patient: all kinds but the booking request, which goes to a typed address
# before any patient record exists (nothing to opt out of; they asked for that one email).
PATIENT_EMAIL_KINDS = [kind for kind in ReminderKind.values if kind != ReminderKind.BOOKING_REQUEST]


@pytest.mark.parametrize("kind", PATIENT_EMAIL_KINDS)
def test_every_email_to_a_patient_carries_the_opt_out_link_and_headers(kind, settings):
    settings.SITE_URL = "https://propel.example"
    patient = PatientFactory(first_name="Alex")
    if kind in EMAIL_ONLY_CONTEXTS:
        reminder = Reminder(patient=patient, kind=kind, channel="email", due_at=NOW)
    else:
        appointment = AppointmentFactory(patient=patient, start=LATER)
        reminder = Reminder(appointment=appointment, kind=kind, channel="email", due_at=NOW)
    _deliver([reminder])
    [message] = mail.outbox
    url = email_opt_out_url(patient.pk)
    headers = message.message()
    assert headers["List-Unsubscribe"] == f"<{url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.body
    assert f'href="{url}"' in message.alternatives[0][0]


def test_the_booking_request_email_has_no_opt_out(online_clinic):
    online_booking_request(details=details(), start=LATER, hold_key="k" * 20, now=NOW)
    _deliver([Reminder.objects.get(kind=ReminderKind.BOOKING_REQUEST)])
    [message] = mail.outbox
    assert "List-Unsubscribe" not in message.message()
    assert "/email-reminders/stop/" not in message.body


def test_a_patient_who_opted_out_still_gets_the_confirmation_of_their_booking(booked):
    consent_set(patient_id=booked.pk, channel="email", given=False, source=ConsentSource.STAFF)
    deliver_due_reminders(now=NOW)
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == 1 and subjects[0].startswith("Your appointment on")


def test_after_the_backfill_the_replan_command_plans_email_reminders(online_clinic):
    patient = PatientFactory(consent_email=False, consent_email_at=None)
    appointment_book(
        patient_id=patient.pk,
        appointment_type_id=online_clinic.consultation.pk,
        start=LATER,
        now=NOW,
    )
    assert planned(patient) == {("confirmation", "email")}
    consent_backfill(patient_model=Patient, event_model=ConsentEvent, now=NOW)
    out = StringIO()
    call_command("reminders_replan", stdout=out)
    assert "1 upcoming appointment" in out.getvalue()
    assert {("consultation_24h", "email"), ("intake_nudge_48h", "email")} <= planned(patient)
    call_command("reminders_replan", stdout=StringIO())  # again: nothing more
    assert Reminder.objects.filter(appointment__patient=patient).count() == 4


def test_the_contact_page_runs_a_fixed_number_of_queries(
    client, online_clinic, django_assert_max_num_queries
):
    patient = PatientFactory(consent_sms=True, consent_sms_at=NOW)
    for days in (0, 1, 5):
        appointment_book(
            patient_id=patient.pk,
            appointment_type_id=online_clinic.consultation.pk,
            start=LATER + dt.timedelta(days=days),
            now=NOW,
        )
    open_session(client, patient)
    url = reverse("scheduling:patient_contact", args=["me"])
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200
