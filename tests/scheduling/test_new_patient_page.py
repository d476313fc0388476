"""Issue 20 item 1: the front desk registers a caller (scheduling.calendar.new_patient_views):
likely duplicates shown before anything is saved, with "use this patient" and a deliberate
"create new"; the patient, the consents said on the call (ConsentEvent, source staff) and an
audit event; the questionnaire link queued in the outbox by email and/or text with no health
words; and on to booking. Hostile input never saves or 500s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from intake.examples import complete_answers
from intake.links import patient_from_token
from intake.models import ConsentEvent, Patient
from propel.models import AuditEvent
from scheduling.models import Reminder, ReminderChannel, ReminderKind
from tests.factories import IntakeSubmissionFactory, PatientFactory
from tests.scheduling.reminder_support import deliver_due_reminders, sms_lines
from tests.scheduling.test_reminder_content import FORBIDDEN, forbidden_in

pytestmark = pytest.mark.django_db

URL = "/staff/patients/new/"
# Wednesday 2027-02-10, 10:00 in Sacramento: clinic hours, not quiet hours.
NOW = dt.datetime(2027, 2, 10, 18, 0, tzinfo=dt.UTC)
ANSWER = "Emergency Contact Zebulon"  # only in a questionnaire's answers


def caller(**overrides) -> dict:
    data = {
        "first_name": "Alex",
        "last_name": "Sample",
        "date_of_birth": "03/27/1980",
        "mobile": "(916) 555-0142",
        "email": "alex.sample@example.test",
        "preferred_language": "es",
        "heard_about": "clinician",
        "heard_about_other": "",
        "referrer_name": "Dr. Pat Fakename",
        "referrer_practice": "Sample Oncology",
        "referrer_phone": "916-555-0177",
        "sms_consent": "on",
        "send_link": ["email", "sms"],
    }
    return {**data, **overrides}


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def desk(client_as):
    return client_as("front_desk")


def test_the_search_step_of_a_new_appointment_links_here(desk):
    response = desk.get(reverse("scheduling:appointment_new"))
    assert f'href="{URL}"' in response.text


def test_a_new_caller_is_saved_with_consents_audited_and_sent_on_to_booking(desk, front_desk):
    assert desk.get(URL).status_code == 200
    response = desk.post(URL, caller())
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('scheduling:appointment_new')}?patient={patient.pk}"
    assert (patient.first_name, patient.last_name) == ("Alex", "Sample")
    assert patient.date_of_birth == dt.date(1980, 3, 27)
    assert str(patient.mobile) == "+19165550142"
    assert str(patient.referrer_phone) == "+19165550177"
    assert patient.preferred_language == "es" and patient.heard_about == "clinician"
    assert patient.referrer_name == "Dr. Pat Fakename"
    assert patient.consent_sms and patient.consent_sms_at == NOW
    assert patient.consent_email
    events = {(e.channel, e.given, e.source, e.by_id) for e in ConsentEvent.objects.all()}
    assert events == {
        ("email", True, "staff", front_desk.pk),
        ("sms", True, "staff", front_desk.pk),
    }
    created = AuditEvent.objects.get(action="patient.created")
    assert created.patient_id == patient.pk and created.actor_id == front_desk.pk


def test_the_questionnaire_link_goes_by_email_and_text_with_no_health_words(desk, settings):
    desk.post(URL, caller())
    patient = Patient.objects.get()
    rows = Reminder.objects.filter(patient=patient, kind=ReminderKind.QUESTIONNAIRE_LINK)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "sms"]
    deliver_due_reminders(now=NOW)
    (email,) = mail.outbox
    (sms,) = sms_lines()
    assert email.to == ["alex.sample@example.test"]
    for text in (email.subject, email.body, sms["body"]):
        assert forbidden_in(text, FORBIDDEN) == []
        assert "ketamine" not in text.lower()
    token = sms["body"].split("/p/")[1].split("/")[0]
    assert patient_from_token(token) == patient
    assert reverse("intake:start", args=[token]) in sms["body"]


def test_without_consent_to_texts_no_text_is_sent_or_consent_recorded(desk):
    response = desk.post(caller_url := URL, caller(sms_consent="", send_link=["sms"]))
    assert response.status_code == 400
    assert "consent to texts" in response.text
    assert not Patient.objects.exists()
    desk.post(caller_url, caller(sms_consent="", send_link=["email"]))
    patient = Patient.objects.get()
    assert not patient.consent_sms
    assert not ConsentEvent.objects.filter(channel="sms").exists()
    assert list(Reminder.objects.values_list("channel", flat=True)) == [ReminderChannel.EMAIL]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date_of_birth": "03/27/2031"}, "cannot be in the future"),
        ({"date_of_birth": "02/30/1980"}, "month/day/year"),
        ({"date_of_birth": "01/01/1850"}, "Check the year"),
        ({"mobile": "555"}, "valid phone number"),
        ({"email": "not-an-email"}, "valid email"),
        ({"mobile": "", "send_link": ["sms"]}, "need a mobile"),
        ({"heard_about": "other"}, "how they heard"),
        ({"first_name": "x" * 101}, "at most 100"),
        ({"send_link": ["pigeon"]}, "valid choice"),
        ({"preferred_language": "xx"}, "valid choice"),
    ],
)
def test_hostile_input_saves_nothing_and_says_why(desk, overrides, message):
    response = desk.post(URL, caller(**overrides))
    assert response.status_code == 400
    assert message in response.text
    assert not Patient.objects.exists() and not Reminder.objects.exists()


def test_a_likely_duplicate_is_shown_before_saving_with_use_this_patient(desk, front_desk):
    known = PatientFactory(
        first_name="Álex", last_name="SAMPLE", date_of_birth=dt.date(1980, 3, 27)
    )
    IntakeSubmissionFactory(patient=known, answers=complete_answers(emergency_name=ANSWER))
    response = desk.post(URL, caller(first_name="Sample", last_name="Alex"))  # swapped
    assert response.status_code == 200
    page = response.text
    assert Patient.objects.count() == 1  # nothing saved yet
    assert "same date of birth, similar name" in page
    assert f"{reverse('scheduling:appointment_new')}?patient={known.pk}" in page
    assert f'value="{known.pk}"' in page and "None of these" in page
    assert ANSWER not in page  # front desk: contact details only
    shown = AuditEvent.objects.get(action="patient.viewed")
    assert shown.detail["patient_ids"] == [known.pk]

    response = desk.post(URL, caller(confirmed_new=str(known.pk)))
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_a_double_submit_creates_one_patient(desk):
    assert desk.post(URL, caller()).status_code == 302
    again = desk.post(URL, caller())
    assert again.status_code == 200 and "may already be a patient" in again.text
    assert Patient.objects.count() == 1
    assert Reminder.objects.count() == 2  # the first submit's email and text only


def test_a_confirmation_made_before_a_new_duplicate_appeared_is_asked_again(desk):
    first = PatientFactory(email="alex.sample@example.test")
    second = PatientFactory(mobile="+19165550142")
    response = desk.post(URL, caller(confirmed_new=str(first.pk)))
    assert response.status_code == 200
    assert (
        f'value="{first.pk},{second.pk}"' in response.text
        or f'value="{second.pk},{first.pk}"' in response.text
    )
    assert Patient.objects.count() == 2


def test_the_page_needs_a_staff_member_with_the_calendar(client_as):
    assert client_as(None).get(URL).status_code == 302
    assert client_as("no_role_user").get(URL).status_code in (403, 302)
    assert client_as("no_role_user").post(URL, caller()).status_code in (403, 302)
    assert not Patient.objects.exists()


def test_a_text_asked_for_in_quiet_hours_waits_for_the_morning(client_as, time_machine):
    time_machine.move_to(dt.datetime(2027, 2, 11, 6, 30, tzinfo=dt.UTC), tick=False)  # 22:30
    client_as("front_desk").post(URL, caller())
    text = Reminder.objects.get(channel=ReminderChannel.SMS)
    assert text.due_at == dt.datetime(2027, 2, 11, 16, 0, tzinfo=dt.UTC)  # 8am Sacramento


def test_a_garbled_confirmation_is_ignored_not_an_error(desk):
    known = PatientFactory(email="alex.sample@example.test")
    response = desk.post(URL, caller(confirmed_new="x," * 5000 + "99999999999999999999"))
    assert response.status_code == 200 and f'value="{known.pk}"' in response.text
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("many", [1, 30])
def test_the_duplicates_page_runs_a_constant_number_of_queries(
    desk, many, django_assert_max_num_queries
):
    PatientFactory.create_batch(
        many, first_name="Alex", last_name="Sample", date_of_birth=dt.date(1980, 3, 27)
    )
    with django_assert_max_num_queries(12):
        response = desk.post(URL, caller())
    assert response.status_code == 200
