"""What every reminder says, over every kind and channel, for a consultation and an infusion:
SMS bodies and email subjects carry the minimum and name no treatment, diagnosis, score or
medicine; links are present and work; the confirmation carries the calendar file."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.urls import resolve
from django.utils import translation

from intake import policy
from intake.links import patient_from_token
from intake.opt_out import email_opt_out_patient
from propel import formatting
from propel.sms import gsm7_fold, is_gsm7, sms_segments
from scheduling.models import NoticeReason, Reminder, ReminderChannel, ReminderKind, RoomKind
from scheduling.reminders.messages import EMAIL_ONLY_CONTEXTS, RenderedMessage, render_reminder
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    PatientFactory,
    RoomFactory,
)

pytestmark = pytest.mark.django_db

HEALTH_WORDS = (
    "ketamine",
    "infusion",
    "depress",
    "anxiety",
    "ptsd",
    "pain",
    "cancer",
    "psych",
    "suicid",
    "clearance",
    "eligib",
    "score",
    "dose",
    "mg",
    # Spanish (issue 22), matched without accents (words_only folds them).
    "ketamina",
    "depresi",
    "ansiedad",
    "tept",
    "estres postraumatico",
    "dolor",
    "psiqui",
    "puntuaci",
    "elegib",
    "dosis",
)


def medication_names() -> set[str]:
    names: set[str] = set(policy.MME_FACTORS)
    for table in policy.MEDICATION_CLASSES.values():
        for generic, brands in table.items():
            names.add(generic)
            names.update(brands)
    names.update(policy.COMBINATION_PRODUCTS)
    names.update(policy.COMBINATION_MARKERS)
    return {name.lower() for name in names}


FORBIDDEN = tuple(HEALTH_WORDS) + tuple(sorted(medication_names()))
URL = re.compile(r"https?://\S+")


def words_only(text: str) -> str:
    """The text without its links (a signed token is random letters) or the patient's name, in
    lower case without accents ("Infusión" -> "infusion")."""
    lowered = URL.sub("", text).replace("Alex", "").lower()
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def forbidden_in(text: str, forbidden: tuple[str, ...] = FORBIDDEN) -> list[str]:
    lowered = words_only(text)
    return [word for word in forbidden if word in lowered]


@pytest.fixture
def appointments():
    return make_appointments("en")


@pytest.fixture(params=["en", "es"])
def any_language_appointments(request):
    """The same appointments for a patient who prefers English, then one who prefers Spanish
    (issue 22): the checks that hold in every language run in both."""
    return make_appointments(request.param)


def make_appointments(language: str):
    patient = PatientFactory(first_name="Alex", mobile="+19165550123", preferred_language=language)
    consultation = AppointmentFactory(patient=patient)
    infusion_type = AppointmentTypeFactory(
        code="infusion", name="Infusion", duration_minutes=120, room_kind=RoomKind.INFUSION
    )
    infusion = AppointmentFactory(
        patient=patient,
        appointment_type=infusion_type,
        room=RoomFactory(infusion=True),
        start=consultation.start.replace(day=12),
    )
    return {"consultation": consultation, "infusion": infusion}


def rendered(appointment, kind: str, channel: str = ReminderChannel.SMS) -> RenderedMessage:
    reminder = Reminder(
        appointment=appointment, kind=kind, channel=channel, due_at=appointment.start
    )
    return render_reminder(reminder)


# Messages about an appointment (the emails about a patient or a booking request are checked in
# tests/scheduling/test_outbox_emails.py).
APPOINTMENT_KINDS = [kind for kind in ReminderKind.values if kind not in EMAIL_ONLY_CONTEXTS]
CASES = [
    (visit, kind, channel)
    for visit in ("consultation", "infusion")
    for kind in APPOINTMENT_KINDS
    for channel in ReminderChannel.values
]


def test_the_forbidden_list_covers_medicines_from_the_policy():
    assert "alprazolam" in FORBIDDEN and "xanax" in FORBIDDEN and "oxycodone" in FORBIDDEN
    assert settings.CLINIC_NAME == "Propel Clinic"


@pytest.mark.parametrize(("visit", "kind", "channel"), CASES)
def test_sms_and_subject_name_nothing_about_health(any_language_appointments, visit, kind, channel):
    message = rendered(any_language_appointments[visit], kind, channel)
    assert forbidden_in(message.sms) == []
    assert forbidden_in(message.subject) == []
    assert "\n" not in message.subject and message.subject


@pytest.mark.parametrize(("visit", "kind"), [(v, k) for v, k, c in CASES if c == "sms"])
def test_sms_carries_the_minimum(any_language_appointments, visit, kind):
    appointment = any_language_appointments[visit]
    sms = rendered(appointment, kind).sms
    # Two segments at most, in GSM-7 whatever the language (propel.sms: "día" goes as "dia").
    assert len(sms) <= 320 and is_gsm7(sms) and sms_segments(sms) <= 2
    assert "Alex" in sms
    assert "Propel Clinic" in sms
    assert settings.CLINIC_PHONE in sms
    language = appointment.patient.preferred_language
    with translation.override(language):
        day = gsm7_fold(formatting.local_date(appointment.start))
        time = gsm7_fold(formatting.local_time(appointment.start, zone=True))
    if language == "en":
        assert day == ("Tue, Jan 5, 2027" if visit == "consultation" else "Tue, Jan 12, 2027")
        assert time == "9:00 a.m. PT"
    assert day in sms
    if kind != ReminderKind.FOLLOW_UP_NEXT_DAY:
        assert time in sms
    links = URL.findall(sms)
    assert len(links) == 1


@pytest.mark.parametrize(("visit", "kind"), [(v, k) for v, k, c in CASES if c == "email"])
def test_email_bodies_greet_and_stay_clear_of_health_detail(any_language_appointments, visit, kind):
    message = rendered(any_language_appointments[visit], kind, ReminderChannel.EMAIL)
    for body in (message.text, message.html):
        assert "Alex" in body
        assert settings.CLINIC_PHONE in body
        # A body may say where and when; it still names no diagnosis, score or medicine.
        body_forbidden = tuple(word for word in FORBIDDEN if word not in ("infusion",))
        assert forbidden_in(body, body_forbidden) == []
    assert "<p>" in message.html
    assert "&lt;" not in message.text


@pytest.mark.parametrize(("visit", "kind", "channel"), CASES)
def test_every_link_resolves_to_a_working_patient_page(
    any_language_appointments, visit, kind, channel
):
    appointment = any_language_appointments[visit]
    message = rendered(appointment, kind, channel)
    links = URL.findall(message.sms) + URL.findall(message.text)
    links += re.findall(r'href="([^"]+)"', message.html)
    assert links
    for link in links:
        assert link.startswith(settings.SITE_URL + "/")
        match = resolve(urlparse(link).path)
        if match.view_name == "intake:email_opt_out":
            assert email_opt_out_patient(match.kwargs["token"]) == appointment.patient
            continue
        assert patient_from_token(match.kwargs["token"]) == appointment.patient
        if match.view_name == "scheduling:check_in":
            assert match.kwargs["appointment_id"] == appointment.pk


@pytest.mark.parametrize("channel", ReminderChannel.values)
def test_each_kind_links_to_what_it_asks_for(appointments, channel):
    infusion = appointments["infusion"]
    expected = {
        ReminderKind.CHECK_IN_LINK: "scheduling:check_in",
        ReminderKind.INTAKE_NUDGE_48H: "intake:start",
        ReminderKind.INFUSION_2H: "scheduling:patient_home",
    }
    for kind, view_name in expected.items():
        sms = rendered(infusion, kind, channel).sms
        assert resolve(urlparse(URL.findall(sms)[0]).path).view_name == view_name


CALENDAR_KINDS = (
    ReminderKind.CONFIRMATION,
    ReminderKind.RESCHEDULED_NOTICE,
    ReminderKind.CANCELLED_NOTICE,
)


@pytest.mark.parametrize("kind", CALENDAR_KINDS)
def test_the_confirmation_and_the_notices_attach_the_calendar_file(appointments, kind):
    message = rendered(appointments["consultation"], kind)
    [(filename, content, mimetype)] = message.attachments
    # The file follows the appointment as it stands (booked here): a REQUEST.
    assert (filename, mimetype) == ("appointment.ics", "text/calendar; method=REQUEST")
    assert content.startswith(b"BEGIN:VCALENDAR") and b"METHOD:REQUEST" in content
    for other in APPOINTMENT_KINDS:
        if other not in CALENDAR_KINDS:
            assert rendered(appointments["consultation"], other).attachments == []


def test_the_preparation_email_gives_the_guidance(appointments):
    message = rendered(appointments["infusion"], ReminderKind.INFUSION_PREP_48H, "email")
    for body in (message.text, message.html):
        assert "adult to drive you home" in body
        assert "until the next day" in body
        assert "no solid food for 6 hours" in body
        assert "until 2 hours before" in body
        assert "No alcohol or recreational drugs for 24 hours" in body
        assert "blood-pressure medicine as usual" in body
        assert "Please bring" in body
    assert forbidden_in(message.subject) == []


def test_the_fasting_times_are_configurable(appointments, settings):
    settings.PREP_SOLIDS_HOURS = 8
    settings.PREP_CLEAR_LIQUIDS_HOURS = 4
    message = rendered(appointments["infusion"], ReminderKind.INFUSION_PREP_48H, "email")
    assert "no solid food for 8 hours" in message.text
    assert "until 4 hours before" in message.html


def test_a_name_with_an_apostrophe_is_not_escaped_in_a_text(appointments):
    appointment = appointments["consultation"]
    appointment.patient.first_name = "D'Arcy"
    sms = rendered(appointment, ReminderKind.CONSULTATION_24H).sms
    assert "Hi D'Arcy," in sms
    html = rendered(appointment, ReminderKind.CONSULTATION_24H, "email").html
    assert "D&#x27;Arcy" in html


# The notices of a change staff made (scheduling.notices): "we" wording, the old time of a move
# kept on the same appointment, and each reason staff may pick. Scanned like every other message.
STAFF_NOTICE_CASES = [
    (visit, kind, reason)
    for visit in ("consultation", "infusion")
    for kind in (ReminderKind.RESCHEDULED_NOTICE, ReminderKind.CANCELLED_NOTICE)
    for reason in ["", *NoticeReason.values]
]


@pytest.mark.parametrize(("visit", "kind", "reason"), STAFF_NOTICE_CASES)
def test_staff_change_notices_name_nothing_about_health(
    any_language_appointments, visit, kind, reason
):
    appointment = any_language_appointments[visit]
    reminder = Reminder(
        appointment=appointment,
        kind=kind,
        channel=ReminderChannel.EMAIL,
        due_at=appointment.start,
        previous_start=appointment.start - dt.timedelta(days=1)
        if kind == ReminderKind.RESCHEDULED_NOTICE
        else None,
        reason=reason,
    )
    message = render_reminder(reminder)
    assert forbidden_in(message.subject) == [] and forbidden_in(message.sms) == []
    body_forbidden = tuple(word for word in FORBIDDEN if word not in ("infusion",))
    for body in (message.text, message.html):
        assert forbidden_in(body, body_forbidden) == []
        assert settings.CLINIC_PHONE in body
