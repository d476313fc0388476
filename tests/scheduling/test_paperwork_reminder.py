"""The 72-hour paperwork reminder (issue 21): planned at booking for consultations and treatment
visits, sent when it is due only while something is still missing on file for the visit, saying
whether forms or documents (never which), with links to the patient's forms and documents."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from intake.links import patient_link_token
from intake.paperwork_models import ConsentFormKind, DocumentKind
from scheduling.booking import appointment_book
from scheduling.models import Reminder, ReminderState
from scheduling.reminders.dispatch import dispatch_due, recover_stuck
from scheduling.reminders.messages import NEVER_IN_SMS_OR_SUBJECT, render_reminder
from tests.clinic_time import LA, at
from tests.intake.requirement_factories import (
    PatientDocumentFactory,
    RequirementWaiverFactory,
    clinic_defaults,
    give_all,
    sign,
)
from tests.scheduling.reminder_support import consenting_patient, reminder_clinic, sms_lines

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday 08:00
FRIDAY = dt.date(2027, 1, 8)
DUE = at(dt.date(2027, 1, 5), 10)  # 72 h before Friday 10:00


@pytest.fixture
def clinic():
    with time_machine.travel(NOW, tick=False):
        yield reminder_clinic()


@pytest.fixture
def defaults(db):
    return clinic_defaults()


def book(clinic, patient, *, infusion=False, start=None):
    with time_machine.travel(NOW, tick=False):
        return appointment_book(
            patient_id=patient.pk,
            appointment_type_id=(clinic.infusion if infusion else clinic.consultation).pk,
            start=start or at(FRIDAY, 10),
            room_id=clinic.infusion_room.pk if infusion else None,
        )


def sweep(capture, *, now):
    with time_machine.travel(now, tick=False), capture(execute=True):
        recover_stuck(now=now)
        return dispatch_due(now=now)


def paperwork_rows(appointment):
    return Reminder.objects.filter(appointment=appointment, kind="paperwork_72h")


def sign_consents(patient, defaults) -> None:
    for kind in ConsentFormKind.values:
        sign(patient, defaults[kind])


def test_it_is_planned_72_hours_before_a_consultation_and_a_treatment_visit(clinic):
    consultation = book(clinic, consenting_patient())
    afternoon = at(FRIDAY, 13)
    infusion = book(clinic, consenting_patient(cleared=True), infusion=True, start=afternoon)
    for appointment, due in ((consultation, DUE), (infusion, afternoon - dt.timedelta(hours=72))):
        rows = paperwork_rows(appointment)
        assert {(r.channel, r.due_at) for r in rows} == {("email", due), ("sms", due)}


def test_a_booking_inside_the_72_hours_gets_none(clinic):
    soon = book(clinic, consenting_patient(), start=at(dt.date(2027, 1, 6), 10))  # 50 h ahead
    assert not paperwork_rows(soon).exists()


def test_it_goes_when_forms_are_missing_and_says_so_without_naming_them(
    clinic, defaults, django_capture_on_commit_callbacks
):
    patient = consenting_patient()
    appointment = book(clinic, patient)
    sweep(django_capture_on_commit_callbacks, now=NOW)  # the confirmation
    mail.outbox.clear()
    claimed = sweep(django_capture_on_commit_callbacks, now=DUE)
    assert {r.kind for r in Reminder.objects.filter(pk__in=claimed)} == {"paperwork_72h"}
    assert {r.state for r in paperwork_rows(appointment)} == {ReminderState.SENT}
    [email] = mail.outbox
    token_free = email.body
    assert "Please read and sign your forms" in token_free
    assert "send a document" not in token_free.lower()
    assert "Financial policy" not in token_free and "consent" not in token_free.lower()
    [sms] = [line for line in sms_lines() if "before your visit" in line["body"]]
    assert "please sign your forms:" in sms["body"]


def test_it_is_skipped_when_everything_is_on_file_by_then(
    clinic, defaults, django_capture_on_commit_callbacks
):
    patient = consenting_patient()
    appointment = book(clinic, patient)
    sweep(django_capture_on_commit_callbacks, now=NOW)
    give_all(patient, defaults)  # signed after booking, before the reminder is due
    mail.outbox.clear()
    sweep(django_capture_on_commit_callbacks, now=DUE)
    rows = paperwork_rows(appointment)
    assert {(r.state, r.last_error) for r in rows} == {
        (ReminderState.SKIPPED, "nothing missing on file")
    }
    assert mail.outbox == []


def test_a_waiver_counts_as_nothing_missing(clinic, defaults, django_capture_on_commit_callbacks):
    patient = consenting_patient(cleared=True)
    appointment = book(clinic, patient, infusion=True)
    sign_consents(patient, defaults)
    PatientDocumentFactory(patient=patient, kind=DocumentKind.PHOTO_ID)
    RequirementWaiverFactory(patient=patient, requirement=defaults[DocumentKind.REFERRAL])
    sweep(django_capture_on_commit_callbacks, now=DUE)
    assert {r.state for r in paperwork_rows(appointment)} == {ReminderState.SKIPPED}


def test_a_treatment_visit_asks_for_documents_with_the_link_and_a_short_text(clinic, defaults):
    patient = consenting_patient(cleared=True, first_name="Maximiliana-Josephine")
    appointment = book(clinic, patient, infusion=True)
    sign_consents(patient, defaults)  # only the infusion's documents are missing
    row = paperwork_rows(appointment).get(channel="sms")
    with time_machine.travel(DUE, tick=False):
        message = render_reminder(row, channel="sms", now=DUE)
        email = render_reminder(paperwork_rows(appointment).get(channel="email"), now=DUE)
    assert "please send or bring a document:" in message.sms
    assert len(message.sms) <= 320
    for part in (message.sms.lower(), email.subject.lower()):
        assert not any(word in part for word in NEVER_IN_SMS_OR_SUBJECT)
        assert "referral" not in part and "photo id" not in part
    # Links are signed when the message is made: compare the address around the token.
    documents = reverse("intake:documents", args=[patient_link_token(patient)])
    assert "/p/" in email.text and documents.rsplit("/", 2)[-2] + "/" in email.text
    assert "/forms/" not in email.text
    assert "bring it with you" in email.text


def test_the_longest_text_fits_two_segments(clinic, defaults):
    patient = consenting_patient(first_name="Maximiliana-Josephine")
    appointment = book(clinic, patient)
    requirement = defaults[ConsentFormKind.FINANCIAL]
    requirement.document_kind, requirement.consent_form = DocumentKind.INSURANCE, None
    requirement.save()  # the consultation now asks for forms and a document
    row = paperwork_rows(appointment).get(channel="sms")
    with time_machine.travel(DUE, tick=False):
        message = render_reminder(row, channel="sms", now=DUE)
    assert "please sign your forms and send or bring a document:" in message.sms
    assert len(message.sms) <= 320
