"""Booking a consultation online, end to end through the pages: hold, details, confirmation,
email with a calendar file; and every way it can go wrong without a 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from intake.links import patient_from_token
from intake.models import Flag, Patient, Severity, SubmissionStatus
from propel.models import AuditEvent
from scheduling.models import Appointment, AppointmentStatus, BookedVia, SlotHold
from tests.clinic_time import LA, MONDAY, TUESDAY, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    RoomFactory,
    consultation_at,
)
from tests.patient_links import open_link
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 12)
THREE_PM = "2027-01-05T15:00:00-08:00"
HEALTH_WORDS = ("ketamine", "infusion", "depress", "anxiety", "ptsd", "pain", "cancer", "psych")

DETAILS = {
    "first_name": "Robin",
    "last_name": "O'Example",
    "date_of_birth": "03/27/1980",
    "email": "Robin.Example@Example.TEST",
    "mobile": "(916) 555-0123",
    "consent_email": "on",
}


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def hold(client, start: str = THREE_PM) -> str:
    """Choose a time; return the details page's address."""
    response = client.post(reverse("scheduling:book_hold"), {"start": start})
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def submit(client, url: str, capture, **changes):
    data = {**DETAILS, **changes}
    with capture(execute=True):
        response = client.post(url, {k: v for k, v in data.items() if v is not None})
    deliver_due_reminders()
    return response


@pytest.fixture
def book(client, django_capture_on_commit_callbacks):
    def run(url: str | None = None, **changes):
        return submit(client, url or hold(client), django_capture_on_commit_callbacks, **changes)

    return run


def test_a_new_patient_books_and_is_shown_their_links(client, online_clinic, book):
    details_url = hold(client)
    hold_key = details_url.rstrip("/").rsplit("/", 1)[-1]
    response = book(details_url)

    patient = Patient.objects.get()
    appointment = Appointment.objects.get()
    assert (patient.first_name, patient.last_name) == ("Robin", "O'Example")
    assert patient.email == "robin.example@example.test"
    assert patient.date_of_birth == dt.date(1980, 3, 27)
    assert str(patient.mobile) == "+19165550123"
    assert (patient.consent_email, patient.consent_email_at) == (True, NOW)
    assert (patient.consent_sms, patient.consent_sms_at) == (False, None)
    assert appointment.patient == patient
    assert appointment.start == at(TUESDAY, 15)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.booked_via == BookedVia.ONLINE
    assert appointment.idempotency_key == hold_key
    assert (appointment.room, appointment.clinician) == (
        online_clinic.room,
        online_clinic.clinician,
    )
    assert not SlotHold.objects.exists()

    assert response.status_code == 302
    match = re.fullmatch(r"/book/done/([^/]+)/(\d+)/", response["Location"])
    assert match and int(match[2]) == appointment.pk
    token = match[1]
    assert patient_from_token(token) == patient
    done = open_link(client, response["Location"])
    page = done.content.decode()
    assert done.status_code == 200
    assert "Tuesday, January 5, 2027 at 3:00 PM" in page
    assert "Pacific time" in page
    assert f'href="{reverse("intake:start", args=["me"])}"' in page  # the link's session
    assert "Start your health questionnaire" in page
    assert f'href="{reverse("scheduling:patient_home", args=["me"])}"' in page
    assert "no-store" in done["Cache-Control"]
    assert done["Referrer-Policy"] == "same-origin"


def test_the_confirmation_email_has_the_essentials_and_a_calendar_file(
    client, online_clinic, book, settings
):
    settings.SITE_URL = "https://book.propel.example"
    book()
    appointment = Appointment.objects.get()
    (message,) = mail.outbox
    assert message.to == ["robin.example@example.test"]
    assert message.subject == "Your appointment on Tuesday, January 5"
    body = message.body
    assert "Hello Robin," in body
    assert "Tuesday, January 5, 2027 at 3:00 PM (Pacific time)" in body
    assert settings.CLINIC_ADDRESS in body and settings.CLINIC_PHONE in body
    assert "photo ID" in body
    manage = re.search(r"https://book\.propel\.example/p/([^/\s]+)/\n", body)
    assert manage and patient_from_token(manage[1]) == appointment.patient
    assert f"https://book.propel.example/p/{manage[1]}/intake/" in body
    html = message.alternatives[0][0]
    assert "Hello Robin," in html and "O&#x27;Example" not in body
    for text in (message.subject.lower(), body.lower(), html.lower()):
        assert not any(word in text for word in HEALTH_WORDS)

    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == ("appointment.ics", "text/calendar")
    calendar = Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    assert event["dtstart"].params["TZID"] == "America/Los_Angeles"
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["America/Los_Angeles"]
    assert event.decoded("dtstart") == at(TUESDAY, 15)
    assert event.decoded("dtstart").astimezone(LA).hour == 15
    assert str(event["uid"]) == f"appointment-{appointment.pk}@book.propel.example"
    assert event.decoded("sequence") == 0
    assert str(event["status"]) == "CONFIRMED"


def test_an_existing_patient_is_matched_and_told_the_link_went_by_email(
    client, online_clinic, book
):
    existing = PatientFactory(
        first_name="Robin",
        last_name="o'example",
        email="robin.example@example.test",
        date_of_birth=dt.date(1980, 3, 27),
        mobile="+19165550100",
    )
    response = book(mobile="(916) 555-0199", first_name="Rob")
    assert Patient.objects.get() == existing
    existing.refresh_from_db()
    assert str(existing.mobile) == "+19165550100"  # the form never changes a matched record
    assert existing.first_name == "Robin"
    assert Appointment.objects.get().patient == existing
    assert response["Location"].startswith("/book/booked/")
    page = client.get(response["Location"]).content.decode()
    assert "We have emailed you a link" in page
    assert "/p/" not in page
    assert "Start your health questionnaire" not in page
    (message,) = mail.outbox
    assert message.to == ["robin.example@example.test"]


def test_a_different_date_of_birth_is_a_different_patient(client, online_clinic, book):
    PatientFactory(last_name="O'Example", email="robin.example@example.test")
    book()
    assert Patient.objects.count() == 2


def test_double_submit_with_the_same_key_books_once(client, online_clinic, book):
    url = hold(client)
    first = book(url)
    second = book(url)
    assert Appointment.objects.count() == 1
    assert Patient.objects.count() == 1
    assert first["Location"].startswith("/book/done/")
    assert second["Location"].startswith("/book/booked/")
    assert len(mail.outbox) == 1
    assert client.get(url)["Location"].startswith("/book/booked/")


def test_the_same_key_with_someone_elses_details_books_nothing_more(client, online_clinic, book):
    url = hold(client)
    book(url)
    response = book(url, email="someone.else@example.test", last_name="Else")
    assert response.status_code == 302
    assert response["Location"].startswith("/book/booked/")  # the page for a finished booking
    assert Appointment.objects.count() == 1
    assert Patient.objects.count() == 1


def test_a_time_taken_while_the_hold_lapsed_offers_alternatives_and_keeps_the_answers(
    client, online_clinic, book, frozen
):
    url = hold(client)
    frozen.shift(dt.timedelta(minutes=20))
    consultation_at(online_clinic, at(TUESDAY, 15))
    response = book(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sorry, that time is no longer free." in page
    assert "Please choose one of these times." in page
    assert 'value="Robin"' in page and 'value="Robin.Example@Example.TEST"' in page
    choices = re.findall(r'name="alternative" value="([^"]+)"', page)
    assert len(choices) == 5
    assert Appointment.objects.count() == 1 and not Patient.objects.filter(first_name="Robin")

    chosen = dt.datetime.fromisoformat(choices[0])
    response = book(url, alternative=choices[0])
    assert response.status_code == 302
    assert Appointment.objects.get(patient__first_name="Robin").start == chosen


def test_a_time_lost_at_the_last_moment_is_a_message_with_alternatives_not_a_500(
    client, online_clinic, book
):
    RoomFactory(name="Consult B")
    url = hold(client)
    # Between the form and its submission the held room is taken out of use.
    online_clinic.room.active = False
    online_clinic.room.save()
    response = book(url)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Sorry, that time is no longer free." in page
    assert "Your answers are kept below." in page
    assert 'value="Robin"' in page
    assert len(re.findall(r'name="alternative"', page)) == 5
    assert not Appointment.objects.exists() and not Patient.objects.exists()


def test_a_chosen_alternative_that_was_taken_meanwhile_is_a_field_message(
    client, online_clinic, book, frozen
):
    url = hold(client)
    frozen.shift(dt.timedelta(minutes=20))
    consultation_at(online_clinic, at(TUESDAY, 15))
    response = book(url, alternative="2027-01-05T10:00:00-08:00")  # long gone: before noon
    assert response.status_code == 200
    assert "That time is no longer free. Please choose another." in response.content.decode()


def test_the_honeypot_books_nothing_and_says_little(client, online_clinic, book):
    response = book(website="http://spam.example")
    assert response.status_code == 400
    assert "We could not complete your booking." in response.content.decode()
    assert not Appointment.objects.exists() and not Patient.objects.exists()
    assert not mail.outbox


def test_the_honeypot_is_hidden_from_people_and_screen_readers(client, online_clinic):
    page = client.get(hold(client)).content.decode()
    wrapper = re.search(r'<div[^>]*aria-hidden="true"[^>]*>\s*(.*?)</div>', page, re.S)
    assert wrapper and 'name="website"' in page[wrapper.start() : wrapper.end() + 2000]
    field = re.search(r'<input[^>]*name="website"[^>]*>', page)[0]
    assert 'tabindex="-1"' in field and 'autocomplete="off"' in field


def test_too_many_attempts_from_one_address_get_429_and_keep_the_answers(
    client, online_clinic, book, settings
):
    settings.BOOKING_RATE_PER_IP_PER_HOUR = 2
    url = hold(client)
    for _ in range(2):
        assert book(url, email="not-an-email").status_code == 200
    response = book(url)
    assert response.status_code == 429
    page = response.content.decode()
    assert "too many attempts" in page and "call us" in page
    assert 'value="Robin"' in page
    assert not Appointment.objects.exists()


def test_too_many_attempts_for_one_email_get_429_from_any_address(
    client, online_clinic, settings, django_capture_on_commit_callbacks
):
    settings.BOOKING_RATE_PER_EMAIL_PER_DAY = 1
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(hold(client), DETAILS, REMOTE_ADDR="192.0.2.1")
        second = hold(client, "2027-01-06T15:00:00-08:00")
        refused = client.post(
            second, {**DETAILS, "email": "robin.example@example.test"}, REMOTE_ADDR="192.0.2.2"
        )
    assert ok.status_code == 302
    assert ok["Location"].startswith("/book/done/")
    assert refused.status_code == 429
    assert Appointment.objects.count() == 1


def test_the_number_of_upcoming_online_consultations_is_capped(
    client, online_clinic, book, settings
):
    settings.ONLINE_MAX_UPCOMING_CONSULTATIONS = 2
    RoomFactory()
    ClinicianFactory()
    patient = PatientFactory(
        last_name="O'Example",
        email="robin.example@example.test",
        date_of_birth=dt.date(1980, 3, 27),
    )
    for day in (6, 7):
        consultation_at(
            online_clinic,
            at(dt.date(2027, 1, day), 10),
            patient=patient,
            booked_via=BookedVia.ONLINE,
        )
    response = book()
    assert response.status_code == 409
    assert "You already have 2 upcoming consultations booked." in response.content.decode()
    assert Appointment.objects.count() == 2

    Appointment.objects.filter(start=at(dt.date(2027, 1, 7), 10)).update(booked_via=BookedVia.STAFF)
    assert book().status_code == 302  # staff bookings do not count against the online cap


def test_under_eighteen_is_politely_refused_on_the_date_of_birth(client, online_clinic, book):
    response = book(date_of_birth="01/05/2009")  # 18 tomorrow
    assert response.status_code == 409
    page = response.content.decode()
    assert "adults aged 18 or over" in page and "call the clinic" in page
    assert not Patient.objects.exists() and not Appointment.objects.exists()
    assert book(date_of_birth="01/04/2009").status_code == 302  # 18 today


def hard_stop_patient(*, latest_flagged: bool) -> Patient:
    patient = PatientFactory(
        last_name="O'Example",
        email="robin.example@example.test",
        date_of_birth=dt.date(1980, 3, 27),
    )
    rounds = [True, latest_flagged]
    for number, flagged in enumerate(rounds, start=1):
        submission = IntakeSubmissionFactory(
            patient=patient, round=number, status=SubmissionStatus.SUBMITTED, submitted_at=NOW
        )
        if flagged:
            Flag.objects.create(
                submission=submission,
                rule_id="A11",
                severity=Severity.HARD_STOP,
                title="Non-medical ketamine use",
                source="Clinic policy",
            )
    return patient


def test_a_patient_whose_latest_screening_has_a_hard_stop_is_not_booked_online(
    client, online_clinic, book
):
    hard_stop_patient(latest_flagged=True)
    response = book()
    assert response.status_code == 409
    page = response.content.decode()
    assert "Our care team will contact you" in page
    assert "ketamine" not in page.lower().split("<footer")[0].split("</h1>")[-1]
    assert not Appointment.objects.exists()
    assert not mail.outbox


def test_an_earlier_hard_stop_that_a_later_screening_cleared_does_not_block(
    client, online_clinic, book
):
    hard_stop_patient(latest_flagged=False)
    assert book().status_code == 302
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"date_of_birth": "12/31/2030"}, "date_of_birth", "must be in the past"),
        ({"date_of_birth": "01/01/1899"}, "date_of_birth", "check the year"),
        ({"date_of_birth": "31/12/1980"}, "date_of_birth", "month/day/year"),
        ({"email": "robin@"}, "email", "valid email"),
        ({"mobile": "12345"}, "mobile", "valid phone number"),
        ({"first_name": ""}, "first_name", "This field is required"),
        ({"last_name": "x" * 1_000_000}, "last_name", "at most 100 characters"),
    ],
)
def test_bad_answers_get_a_message_on_their_field(
    client, online_clinic, book, changes, field, message
):
    response = book(**changes)
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert f'id="error_1_id_{field}"' in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_five_megabyte_answer_is_refused_calmly(client, online_clinic, book):
    response = book(first_name="x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert "more than we can accept" in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_five_megabyte_answer_is_no_500_with_csrf_checks_on(online_clinic):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("scheduling:book_hold"), {"start": "x" * (5 * 1024 * 1024)})
    assert response.status_code in (400, 403, 413)


def test_a_time_in_the_past_or_inside_the_notice_cannot_be_held(client, online_clinic):
    for start in ("2027-01-04T09:00:00-08:00", "2027-01-05T11:00:00-08:00"):
        response = client.post(reverse("scheduling:book_hold"), {"start": start})
        assert response.status_code == 409
        assert "Online bookings need at least 24 hours" in response.content.decode()
    assert not SlotHold.objects.exists()


def test_status_room_and_clinician_are_never_taken_from_the_form(client, online_clinic, book):
    other_room = RoomFactory(name="Consult B")
    other_clinician = ClinicianFactory()
    book(
        status=AppointmentStatus.COMPLETED,
        room=other_room.pk,
        clinician=other_clinician.pk,
        booked_via=BookedVia.STAFF,
        idempotency_key="chosen-by-the-client",
        link_version=99,
    )
    appointment = Appointment.objects.get()
    assert appointment.status == AppointmentStatus.BOOKED
    assert (appointment.room, appointment.clinician) == (
        online_clinic.room,
        online_clinic.clinician,
    )
    assert appointment.booked_via == BookedVia.ONLINE
    assert appointment.idempotency_key != "chosen-by-the-client"
    assert appointment.patient.link_version == 1


def test_the_audit_trail_names_no_token(client, online_clinic, book):
    response = book()
    token = response["Location"].split("/")[3]
    events = AuditEvent.objects.filter(action__in=["patient.created", "appointment.booked"])
    assert events.count() == 2
    for event in events:
        assert token not in str(event.detail)
        assert event.ip_address == "127.0.0.1"


def test_the_done_page_refuses_another_patients_appointment(client, online_clinic, book):
    response = book()
    token = response["Location"].split("/")[3]
    other = AppointmentFactory(start=at(dt.date(2027, 1, 6), 10))
    stolen = open_link(client, reverse("scheduling:book_done", args=[token, other.pk]))
    assert stolen.status_code == 404
    assert other.patient.first_name not in stolen.content.decode()
    tampered = client.get(
        reverse("scheduling:book_done", args=[token[:-2] + "xx", Appointment.objects.first().pk])
    )
    assert tampered.status_code == 404


def test_a_tampered_receipt_is_404(client, online_clinic):
    response = client.get(reverse("scheduling:book_booked", args=["1:abc:def"]))
    assert response.status_code == 404


def test_a_unique_key_race_that_slips_past_the_checks_returns_the_first_booking(
    online_clinic, patient, monkeypatch
):
    """The last line: both checks for the key saw nothing, so the insert meets the unique
    constraint; the booking then answers with the appointment that won."""
    from scheduling import booking

    RoomFactory(name="Consult B")
    ClinicianFactory()
    first = booking.appointment_book(
        patient_id=patient.pk,
        appointment_type_id=online_clinic.consultation.pk,
        start=at(TUESDAY, 15),
        idempotency_key="same-key-0123456789",
    )
    calls = {"n": 0}
    replay = booking._replay

    def blind_twice(key, patient_id):
        calls["n"] += 1
        return None if calls["n"] <= 2 else replay(key, patient_id)

    monkeypatch.setattr(booking, "_replay", blind_twice)
    again = booking.appointment_book(
        patient_id=patient.pk,
        appointment_type_id=online_clinic.consultation.pk,
        start=at(TUESDAY, 10),
        idempotency_key="same-key-0123456789",
    )
    assert again == first
    assert calls["n"] == 3
    assert Appointment.objects.count() == 1


def test_a_held_time_that_slipped_inside_the_notice_offers_later_times_that_can_be_booked(
    client, online_clinic, book, frozen
):
    url = hold(client, "2027-01-05T12:00:00-08:00")  # exactly 24 hours ahead
    frozen.shift(dt.timedelta(minutes=5))  # still held, but now inside the notice
    response = book(url)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Online bookings need at least 24 hours" in page
    choices = re.findall(r'name="alternative" value="([^"]+)"', page)
    assert choices and all(
        dt.datetime.fromisoformat(choice) >= at(TUESDAY, 12, 5) for choice in choices
    )
    assert "We are holding this time" not in page
    booked = book(url, alternative=choices[0])
    assert booked.status_code == 302
    assert Appointment.objects.get().start == dt.datetime.fromisoformat(choices[0])
