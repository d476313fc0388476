"""Booking a consultation online, end to end through the pages: hold, details, "check your
email", the emailed link, the confirmation page, the patient's own page, the email with a
calendar file; and every way it can go wrong without a 500. (That the form answers the same for
everyone: tests/scheduling/test_online_book_no_disclosure.py.)"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from intake.links import patient_from_token
from intake.models import Flag, Patient, Severity, SubmissionStatus
from propel.models import AuditEvent
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BookedVia,
    BookingRequest,
    Reminder,
    SlotHold,
)
from scheduling.online.changes import online_consultation_cancel
from scheduling.tasks import dispatch_reminders
from tests.clinic_time import LA, MONDAY, TUESDAY, at, stopped_clock
from tests.factories import (
    ClinicianFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    RoomFactory,
    consultation_at,
)
from tests.scheduling.reminder_support import deliver_due_reminders

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 12)
THREE_PM = "2027-01-05T15:00:00-08:00"
HEALTH_WORDS = ("ketamine", "infusion", "depress", "anxiety", "ptsd", "pain", "cancer", "psych")
CONFIRM_LINK = re.compile(r"https?://[^\s\"]+/book/confirm/[^/\s\"]+/")
CHECK_EMAIL = "/book/check-email/"

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


def request_emails() -> list:
    return [message for message in mail.outbox if "/book/confirm/" in message.body]


def confirmations() -> list:
    return [message for message in mail.outbox if "/book/confirm/" not in message.body]


def open_link(client) -> str:
    """Open the confirmation link from the latest booking-request email: it lands on the
    token-free confirmation page. Returns that page's HTML."""
    link = CONFIRM_LINK.search(request_emails()[-1].body)[0]
    landed = client.get(urlparse(link).path)
    assert (landed.status_code, landed["Location"]) == (302, reverse("scheduling:book_confirm"))
    page = client.get(landed["Location"])
    assert page.status_code == 200
    return page.content.decode()


def confirm(client, capture, **data):
    """Open the emailed link and press "Confirm my booking" (with `data`, e.g. an alternative)."""
    open_link(client)
    with capture(execute=True):
        response = client.post(reverse("scheduling:book_confirm"), data)
    deliver_due_reminders()
    return response


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """Submit the details form only (the booking request)."""

    def run(url: str | None = None, **changes):
        return submit(client, url or hold(client), django_capture_on_commit_callbacks, **changes)

    return run


@pytest.fixture
def book(client, ask, django_capture_on_commit_callbacks):
    """Submit the details form and, when it was accepted, confirm from the emailed link; return
    the last response."""

    def run(url: str | None = None, **changes):
        response = ask(url, **changes)
        if response.status_code != 302 or response["Location"] != CHECK_EMAIL:
            return response
        return confirm(client, django_capture_on_commit_callbacks)

    return run


def home_token(response) -> str:
    match = re.fullmatch(r"/p/([^/]+)/", response["Location"])
    assert match, response["Location"]
    return match[1]


def test_a_new_patient_books_from_the_emailed_link_and_lands_on_their_page(
    client, online_clinic, ask, django_capture_on_commit_callbacks
):
    details_url = hold(client)
    hold_key = details_url.rstrip("/").rsplit("/", 1)[-1]
    response = ask(details_url)
    assert (response.status_code, response["Location"]) == (302, CHECK_EMAIL)
    page = client.get(CHECK_EMAIL).content.decode()
    assert "Check your email to confirm" in page and "30 minutes" in page
    assert not Patient.objects.exists() and not Appointment.objects.exists()
    (message,) = mail.outbox
    assert message.to == ["robin.example@example.test"]
    assert "Tue, Jan 5, 2027 at 3:00 p.m. (Pacific time)" in message.body
    for text in (message.subject.lower(), message.body.lower()):
        assert not any(word in text for word in HEALTH_WORDS)
    assert SlotHold.objects.get().expires_at == NOW + dt.timedelta(minutes=30)

    confirm_page = open_link(client)
    assert "Confirm my booking" in confirm_page and "3:00 p.m. PT" in confirm_page
    assert not Appointment.objects.exists()  # opening the link books nothing
    response = confirm(client, django_capture_on_commit_callbacks)

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
    assert BookingRequest.objects.get().appointment == appointment
    assert patient_from_token(home_token(response)) == patient
    assert len(confirmations()) == 1


def test_the_confirmation_email_has_the_essentials_and_a_calendar_file(
    client, online_clinic, book, settings
):
    settings.SITE_URL = "https://book.propel.example"
    book()
    appointment = Appointment.objects.get()
    (message,) = confirmations()
    assert message.to == ["robin.example@example.test"]
    assert message.subject == "Your appointment on Tue, Jan 5, 2027"
    body = message.body
    assert "Hello Robin," in body
    assert "Tue, Jan 5, 2027 at 3:00 p.m. (Pacific time)" in body
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
    assert (filename, mimetype) == ("appointment.ics", "text/calendar; method=REQUEST")
    calendar = Calendar.from_ical(content)
    (event,) = calendar.walk("VEVENT")
    assert event["dtstart"].params["TZID"] == "America/Los_Angeles"
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["America/Los_Angeles"]
    assert event.decoded("dtstart") == at(TUESDAY, 15)
    assert event.decoded("dtstart").astimezone(LA).hour == 15
    assert str(event["uid"]) == f"appointment-{appointment.pk}@book.propel.example"
    assert event.decoded("sequence") == 0
    assert str(event["status"]) == "CONFIRMED"


def test_an_existing_patient_is_matched_when_the_link_is_confirmed(client, online_clinic, book):
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
    assert patient_from_token(home_token(response)) == existing
    (message,) = confirmations()
    assert message.to == ["robin.example@example.test"]


def test_the_confirmation_reloaded_says_booked_then_cancelled_never_confirm_again(
    client, online_clinic, book
):
    """Issue 17 §6: reloading the confirmation page (or reopening the emailed link) after booking
    says the visit is booked; after a cancel, that it is cancelled, with the way to book again."""
    book()
    page = client.get(reverse("scheduling:book_confirm"))  # the back button after booking
    assert page.status_code == 200
    text = page.content.decode()
    assert "Your consultation is booked for Tue, Jan 5, 2027 at 3:00 p.m." in text
    assert "Confirm my booking" not in text and "nothing was booked" not in text

    appointment = Appointment.objects.get()
    online_consultation_cancel(patient_id=appointment.patient_id, appointment_id=appointment.pk)
    for text in (
        client.get(reverse("scheduling:book_confirm")).content.decode(),
        open_link(client),
    ):
        assert "Your consultation on Tue, Jan 5, 2027 at 3:00 p.m. was cancelled." in text
        assert "Book a new time" in text and 'href="/book/"' in text
        assert "is booked" not in text and "Confirm my booking" not in text
    # Its button opens the patient's page (which lists the cancelled visit); nothing is booked.
    response = client.post(reverse("scheduling:book_confirm"))
    assert patient_from_token(home_token(response)) == appointment.patient
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED


def test_a_different_date_of_birth_is_a_different_patient(client, online_clinic, book):
    PatientFactory(last_name="O'Example", email="robin.example@example.test")
    book()
    assert Patient.objects.count() == 2


def test_double_submit_and_a_second_click_book_once(
    client, online_clinic, ask, django_capture_on_commit_callbacks
):
    url = hold(client)
    assert ask(url)["Location"] == CHECK_EMAIL
    assert ask(url)["Location"] == CHECK_EMAIL  # the second submission sends nothing more
    assert len(request_emails()) == 1
    first = confirm(client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("scheduling:book_confirm"))  # the button pressed twice
    second = confirm(client, django_capture_on_commit_callbacks)  # the link clicked again
    assert Appointment.objects.count() == 1 and Patient.objects.count() == 1
    patient = Patient.objects.get()
    assert {patient_from_token(home_token(r)) for r in (first, second)} == {patient}
    assert again.status_code in (302, 410)
    deliver_due_reminders()
    assert len(confirmations()) == 1
    assert client.get(url)["Location"] == CHECK_EMAIL


def test_the_same_key_with_someone_elses_details_books_nothing_more(
    client, online_clinic, book, ask
):
    url = hold(client)
    book(url)
    response = ask(url, email="someone.else@example.test", last_name="Else")
    assert (response.status_code, response["Location"]) == (302, CHECK_EMAIL)
    assert Appointment.objects.count() == 1
    assert Patient.objects.count() == 1
    assert BookingRequest.objects.get().email == "robin.example@example.test"


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
    assert response.status_code == 302 and response["Location"].startswith("/p/")
    assert Appointment.objects.get(patient__first_name="Robin").start == chosen


def test_a_time_lost_before_the_confirmation_offers_alternatives_not_a_500(
    client, online_clinic, ask, django_capture_on_commit_callbacks
):
    RoomFactory(name="Consult B")
    ask()
    # Between the form and the confirmation the held room is taken out of use.
    online_clinic.room.active = False
    online_clinic.room.save()
    response = confirm(client, django_capture_on_commit_callbacks)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Sorry, that time is no longer free." in page
    choices = re.findall(r'name="alternative" value="([^"]+)"', page)
    assert len(choices) == 5
    assert not Appointment.objects.exists() and not Patient.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post(reverse("scheduling:book_confirm"), {"alternative": choices[0]})
    assert booked.status_code == 302
    assert Appointment.objects.get().start == dt.datetime.fromisoformat(choices[0])


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
    assert not mail.outbox and not BookingRequest.objects.exists()


def test_the_honeypot_is_hidden_from_people_and_screen_readers(client, online_clinic):
    page = client.get(hold(client)).content.decode()
    wrapper = re.search(r'<div[^>]*aria-hidden="true"[^>]*>\s*(.*?)</div>', page, re.S)
    assert wrapper and 'name="website"' in page[wrapper.start() : wrapper.end() + 2000]
    field = re.search(r'<input[^>]*name="website"[^>]*>', page)[0]
    assert 'tabindex="-1"' in field and 'autocomplete="off"' in field


def test_too_many_attempts_from_one_address_get_429_and_keep_the_answers(
    client, online_clinic, ask, settings
):
    urls = [hold(Client(), f"2027-01-05T{hour}:00:00-08:00") for hour in (15, 16, 17)]
    settings.BOOKING_RATE_PER_IP_PER_HOUR = 2
    for url, email in zip(urls, ("a@example.test", "b@example.test"), strict=False):
        assert ask(url, email=email).status_code == 302
    response = ask(urls[2])
    assert response.status_code == 429
    page = response.content.decode()
    assert "too many attempts" in page and "call us" in page
    assert 'value="Robin"' in page
    assert BookingRequest.objects.count() == 2


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
    assert (ok.status_code, ok["Location"]) == (302, CHECK_EMAIL)
    assert refused.status_code == 429
    assert BookingRequest.objects.count() == 1


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
    # Staff bookings do not count against the online cap: confirming again now books.
    assert client.post(reverse("scheduling:book_confirm")).status_code == 302
    assert Appointment.objects.count() == 3


def test_under_eighteen_is_politely_refused_on_the_date_of_birth(client, online_clinic, book):
    response = book(date_of_birth="01/05/2009")  # 18 tomorrow
    assert response.status_code == 409
    page = response.content.decode()
    assert "adults aged 18 or over" in page and "call the clinic" in page
    assert not Patient.objects.exists() and not Appointment.objects.exists()
    assert not BookingRequest.objects.exists()
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
    assert response.status_code == 200
    page = response.content.decode()
    assert "Our care team will contact you" in page
    assert "ketamine" not in page.lower().split("<footer")[0].split("</h1>")[-1]
    assert not Appointment.objects.exists()
    assert not confirmations()


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
    token = home_token(book())
    events = AuditEvent.objects.filter(action__in=["patient.created", "appointment.booked"])
    assert events.count() == 2
    for event in events:
        assert token not in str(event.detail)
        assert event.ip_address == "127.0.0.1"


def test_the_confirmation_page_without_a_valid_link_is_calm_and_books_nothing(
    client, online_clinic, ask
):
    ask()
    for response in (
        client.get(reverse("scheduling:book_confirm")),
        client.post(reverse("scheduling:book_confirm")),
    ):
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
        assert 'href="/book/"' in response.content.decode()
    tampered = reverse("scheduling:book_confirm_link", args=["1:abc:def"])
    assert client.get(tampered)["Location"] == reverse("scheduling:book_confirm")
    assert client.post(reverse("scheduling:book_confirm")).status_code == 410
    assert not Appointment.objects.exists()


def test_an_expired_request_is_calm_and_the_purge_deletes_what_was_typed(
    client, online_clinic, ask, frozen
):
    ask()
    open_link(client)
    frozen.shift(dt.timedelta(minutes=31))
    response = client.post(reverse("scheduling:book_confirm"))
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert not Appointment.objects.exists()
    dispatch_reminders.apply()  # beat's one-minute sweep purges with the holds
    assert not BookingRequest.objects.exists() and not Reminder.objects.exists()


def test_a_confirmation_link_email_held_up_past_its_time_is_not_sent(
    client, online_clinic, django_capture_on_commit_callbacks, frozen
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(hold(client), DETAILS)
    frozen.shift(dt.timedelta(minutes=31))  # the outbox was down all this time
    deliver_due_reminders()
    assert mail.outbox == []
    assert Reminder.objects.get().last_error == "booking request expired"


def test_the_confirmation_pages_keep_out_of_caches_and_referers(client, online_clinic, ask):
    ask()
    link = urlparse(CONFIRM_LINK.search(request_emails()[-1].body)[0]).path
    landed = client.get(link)
    assert "no-store" in landed["Cache-Control"]
    assert landed["Referrer-Policy"] == "no-referrer"
    # The token-free page posts its form: "no-referrer" would make browsers send Origin: null.
    page = client.get(reverse("scheduling:book_confirm"))
    assert "no-store" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "same-origin"


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
    assert booked.status_code == 302 and booked["Location"].startswith("/p/")
    assert Appointment.objects.get().start == dt.datetime.fromisoformat(choices[0])
