"""Every email promised to a patient is an outbox row (scheduling.reminder_plan) written in the
request's own transaction and sent by the dispatch sweep: a "send me a new link" request made
while the broker is down is sent once it is back, with a working link and no health words. Rows
about a patient or a booking request have a subject, store no secret and ignore the email
reminder consent (they are transactional)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlparse

import pytest
from celery import Task
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import resolve, reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from intake.links import patient_from_token
from intake.opt_out import email_opt_out_patient
from scheduling import tasks
from scheduling.models import Reminder, ReminderChannel, ReminderKind, ReminderState
from scheduling.reminder_plan import patient_message_plan
from scheduling.reminders.dispatch import dispatch_due, recover_stuck
from scheduling.reminders.messages import render_reminder
from tests.factories import AppointmentFactory, PatientFactory
from tests.patient_links import open_link
from tests.scheduling.reminder_support import deliver_due_reminders
from tests.scheduling.test_reminder_content import FORBIDDEN, forbidden_in

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/p/([^/\s]+)/")


def broker_down(self, *args, **kwargs):
    raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_link_asked_for_while_the_broker_is_down_is_sent_once_it_is_back(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    patient = PatientFactory(email="known@example.test", first_name="Robin", consent_email=False)
    with monkeypatch.context() as patch:
        patch.setattr(Task, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(reverse("scheduling:link_request"), {"email": patient.email})
        assert answer.status_code == 302
        # The beat sweep during the outage claims the row and cannot queue the send.
        with django_capture_on_commit_callbacks(execute=True):
            claimed = dispatch_due()
    row = Reminder.objects.get()
    assert (row.kind, row.channel, row.patient_id, row.appointment_id) == (
        ReminderKind.PATIENT_LINK,
        ReminderChannel.EMAIL,
        patient.pk,
        None,
    )
    assert claimed == [row.pk] and mail.outbox == []
    later = timezone.now() + dt.timedelta(minutes=10)
    recover_stuck(now=later)
    for _ in range(2):
        deliver_due_reminders(now=later)
    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert "Hello Robin," in message.body
    token = LINK.search(message.body)[1]
    assert patient_from_token(token) == patient
    assert open_link(client, reverse("scheduling:patient_home", args=[token])).status_code == 200
    for text in (message.subject, message.body, message.alternatives[0][0]):
        assert forbidden_in(text.replace("Robin", "")) == []
    assert Reminder.objects.get().state == ReminderState.SENT


def test_the_row_stores_no_link_the_link_is_signed_when_sent(settings):
    patient = PatientFactory()
    row = patient_message_plan(patient_id=patient.pk, kind=ReminderKind.PATIENT_LINK)
    values = Reminder.objects.filter(pk=row.pk).values().get()
    assert not any(isinstance(value, str) and "/p/" in value for value in values.values())
    settings.SITE_URL = "https://elsewhere.example"
    assert "https://elsewhere.example/p/" in render_reminder(row).text


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", [ReminderKind.PATIENT_LINK, ReminderKind.INFORMATION_REQUEST])
def test_patient_emails_render_with_a_working_link_and_no_health_words(kind, language):
    patient = PatientFactory(first_name="Alex", preferred_language=language)
    message = render_reminder(Reminder(patient=patient, kind=kind, channel="email"))
    assert message.sms == "" and message.attachments == []
    assert f'<html lang="{language}">' in message.html
    for text in (message.subject, message.text, message.html):
        assert forbidden_in(text, FORBIDDEN) == []
    links = re.findall(r'href="([^"]+)"', message.html)
    assert links
    for link in links:
        match = resolve(urlparse(link).path)
        if match.view_name == "intake:email_opt_out":
            assert email_opt_out_patient(match.kwargs["token"]) == patient
            continue
        assert patient_from_token(match.kwargs["token"]) == patient


def test_a_row_must_have_a_subject():
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            kind=ReminderKind.PATIENT_LINK, channel="email", due_at=timezone.now()
        )


def test_rows_about_a_patient_may_repeat_appointment_rows_may_not():
    appointment = AppointmentFactory()
    for _ in range(2):
        patient_message_plan(patient_id=appointment.patient_id, kind=ReminderKind.PATIENT_LINK)
    assert Reminder.objects.filter(kind=ReminderKind.PATIENT_LINK).count() == 2
    Reminder.objects.create(
        appointment=appointment, kind="consultation_24h", channel="email", due_at=timezone.now()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            appointment=appointment, kind="consultation_24h", channel="email", due_at=timezone.now()
        )


def test_a_patient_without_an_email_address_is_skipped():
    patient = PatientFactory(email="")
    row = patient_message_plan(patient_id=patient.pk, kind=ReminderKind.PATIENT_LINK)
    deliver_due_reminders()
    row.refresh_from_db()
    assert (row.state, row.last_error) == (ReminderState.SKIPPED, "no email address")
    assert mail.outbox == []


def test_the_old_link_task_name_writes_the_row_for_one_release():
    patient = PatientFactory()
    tasks.send_patient_link.apply(args=[patient.pk])
    tasks.send_patient_link.apply(args=[patient.pk + 1000])  # removed meanwhile: nothing
    assert list(Reminder.objects.values_list("kind", "patient_id")) == [
        (ReminderKind.PATIENT_LINK, patient.pk)
    ]
