"""Issue 22: every message to a patient is written in the patient's preferred language, whatever
language the sender (staff, a request, a worker) runs in; messages to staff stay English; a text
stays in GSM-7 and within its segments; the health-word check reads Spanish too.

Until the Spanish catalogue lands the words are still English, so these tests check what does not
depend on it: the language active while each part is rendered, `<html lang>`, the calendar
file's wording rendered in the patient's language, and dates with Django's own Spanish names.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core import mail
from django.utils import translation

from intake import crisis
from intake.models import AlertPriority, Language
from propel import emails, formatting
from propel.sms import gsm7_fold, is_gsm7, sms_segments
from scheduling import ics
from scheduling.models import Reminder, ReminderChannel, ReminderKind
from scheduling.online.booking import online_booking_confirm, online_booking_request
from scheduling.reminders import messages
from scheduling.reminders.messages import health_words, render_message, render_reminder
from tests.factories import AppointmentFactory, PatientFactory
from tests.scheduling.test_consent_reminders import LATER, NOW, details

pytestmark = pytest.mark.django_db


@pytest.fixture
def languages_seen(monkeypatch):
    """The language active at each render_to_string and each calendar wording."""
    seen: list[str] = []
    real_render, real_gettext = messages.render_to_string, ics._

    def render(*args, **kwargs):
        seen.append(translation.get_language())
        return real_render(*args, **kwargs)

    def gettext(text):
        seen.append(translation.get_language())
        return real_gettext(text)

    monkeypatch.setattr(messages, "render_to_string", render)
    monkeypatch.setattr(ics, "_", gettext)
    return seen


def spanish_patient(**fields):
    fields = {"first_name": "Lucía", "mobile": "+19165550123", **fields}
    return PatientFactory(preferred_language=Language.SPANISH, **fields)


def row(appointment, kind, channel, **fields) -> Reminder:
    return Reminder(
        appointment=appointment, kind=kind, channel=channel, due_at=appointment.start, **fields
    )


APPOINTMENT_CASES = [
    (kind, channel)
    for kind in (
        ReminderKind.CONFIRMATION,
        ReminderKind.CONSULTATION_24H,
        ReminderKind.INFUSION_2H,
        ReminderKind.RESCHEDULED_NOTICE,
        ReminderKind.CANCELLED_NOTICE,
        ReminderKind.FOLLOW_UP_NEXT_DAY,
    )
    for channel in ReminderChannel.values
]


@pytest.mark.parametrize("staff_language", ["en", "es"])
@pytest.mark.parametrize(("kind", "channel"), APPOINTMENT_CASES)
def test_a_message_follows_the_patient_not_the_sender(
    languages_seen, staff_language, kind, channel
):
    appointment = AppointmentFactory(patient=spanish_patient())
    previous = appointment.start - dt.timedelta(days=1)
    extra = {"previous_start": previous} if kind == ReminderKind.RESCHEDULED_NOTICE else {}
    with translation.override(staff_language):
        message = render_reminder(row(appointment, kind, channel, **extra), channel=channel)
        assert translation.get_language() == staff_language  # given back afterwards
    assert languages_seen and set(languages_seen) == {"es"}
    with translation.override("es"):
        day = formatting.local_date(appointment.start)
    assert "ene" in day.lower()  # January in Django's own Spanish names
    if channel == ReminderChannel.EMAIL:
        assert '<html lang="es">' in message.html
        assert day in message.text and day in message.html
    else:
        assert gsm7_fold(day) in message.sms
        assert is_gsm7(message.sms) and sms_segments(message.sms) <= 2


def test_an_english_patient_gets_english_from_a_spanish_request(languages_seen):
    appointment = AppointmentFactory(patient=PatientFactory(preferred_language=Language.ENGLISH))
    with translation.override("es"):
        message = render_reminder(row(appointment, ReminderKind.CONFIRMATION, "email"))
    assert set(languages_seen) == {"en"}
    assert '<html lang="en">' in message.html
    assert "Tue, Jan 5, 2027" in message.text
    [(_name, content, _type)] = message.attachments
    assert b"SUMMARY:Consultation at Propel Clinic" in content


@pytest.mark.parametrize(
    "kind",
    [
        ReminderKind.PATIENT_LINK,
        ReminderKind.INFORMATION_REQUEST,
        ReminderKind.QUESTIONNAIRE_LINK,
        ReminderKind.WAITLIST_OFFER,
        ReminderKind.SIGNED_COPY,
    ],
)
def test_the_emails_about_a_patient_are_in_their_language(languages_seen, kind):
    patient = spanish_patient()
    with translation.override("en"):
        message = render_reminder(
            Reminder(patient=patient, kind=kind, channel="email", due_at=NOW), channel="email"
        )
    assert set(languages_seen) == {"es"}
    assert '<html lang="es">' in message.html


def test_a_batch_is_in_its_patient_s_language(languages_seen):
    patient = spanish_patient()
    first = AppointmentFactory(patient=patient)
    second = AppointmentFactory(patient=patient, start=first.start + dt.timedelta(days=7))
    rows = [row(a, ReminderKind.CONFIRMATION, "email") for a in (first, second)]
    with translation.override("en"):
        message = render_message(rows, channel="email")
    assert set(languages_seen) == {"es"}
    assert '<html lang="es">' in message.html


def test_a_spanish_booking_is_confirmed_in_spanish_and_the_patient_prefers_it(
    online_clinic, languages_seen
):
    with translation.override("es"):  # the public form, answered in Spanish
        booking_request = online_booking_request(
            details=details(), start=LATER, hold_key="k" * 20, now=NOW
        )
    assert booking_request.language == "es"
    request_row = Reminder.objects.get(booking_request=booking_request)
    with translation.override("en"):  # the worker sending it
        message = render_reminder(request_row, channel="email")
    assert '<html lang="es">' in message.html and set(languages_seen) == {"es"}
    # The link is opened in an English browser: the patient still booked in Spanish.
    with translation.override("en"):
        patient = online_booking_confirm(booking_request_id=booking_request.pk, now=NOW).patient
    assert patient.preferred_language == Language.SPANISH


def test_an_english_booking_makes_an_english_patient(online_clinic):
    with translation.override("en"):
        booking_request = online_booking_request(
            details=details(), start=LATER, hold_key="k" * 20, now=NOW
        )
    patient = online_booking_confirm(booking_request_id=booking_request.pk, now=NOW).patient
    assert patient.preferred_language == Language.ENGLISH


def test_a_matched_patient_s_language_is_not_changed_from_the_form(online_clinic):
    known = PatientFactory(
        first_name="Robin",
        last_name="Example",
        date_of_birth=dt.date(1980, 3, 27),
        email="robin@example.test",
        preferred_language=Language.ENGLISH,
    )
    with translation.override("es"):
        booking_request = online_booking_request(
            details=details(), start=LATER, hold_key="k" * 20, now=NOW
        )
    booked = online_booking_confirm(booking_request_id=booking_request.pk, now=NOW)
    assert booked.patient == known
    known.refresh_from_db()
    assert known.preferred_language == Language.ENGLISH


def test_staff_emails_stay_english_from_a_spanish_request(monkeypatch):
    seen: list[str] = []
    real = emails.render_to_string

    def render(*args, **kwargs):
        seen.append(translation.get_language())
        return real(*args, **kwargs)

    monkeypatch.setattr(emails, "render_to_string", render)
    with translation.override("es"):
        emails.send_email(
            name="account_locked",
            to=["staff@example.test"],
            context={
                "user": SimpleNamespace(get_full_name=lambda: "Robin Staff", username="robin"),
                "lock": SimpleNamespace(failures=5, locked_at=NOW),
            },
        )
        assert translation.get_language() == "es"
    assert set(seen) == {"en"}
    assert '<html lang="en">' in mail.outbox[0].alternatives[0][0]


def test_the_crisis_line_in_spanish_says_press_2():
    """The follow-up carries the crisis line: in Spanish it says "oprima 2 para español". Until
    the catalogue has the sentence it is the English one (the .po completeness test then fails)."""
    appointment = AppointmentFactory(patient=spanish_patient())
    message = render_reminder(row(appointment, ReminderKind.FOLLOW_UP_NEXT_DAY, "email"))
    for body in (message.text, message.html):
        assert "988" in body and "911" in body
        if "If you are in crisis" not in body:  # translated
            assert "oprima 2" in body.lower()


# --- texts: GSM-7 and segments ---------------------------------------------------------------


def test_gsm7_fold_keeps_what_gsm7_has_and_folds_the_rest():
    assert gsm7_fold("Mañana miércoles, ¿Pingüino? ¡Sí!") == "Mañana miércoles, ¿Pingüino? ¡Si!"
    assert gsm7_fold("Árbol Édgar Ícaro Óscar Úrsula ácido ítem óleo útil") == (
        "Arbol Édgar Icaro Oscar Ursula acido item oleo util"
    )
    typographic = "10:00\u00a0a.\u202fm. \u2013 \u201ccita\u201d \u2026"
    assert gsm7_fold(typographic) == '10:00 a. m. - "cita" ...'
    assert gsm7_fold("ç") == "Ç"
    assert gsm7_fold("名") == "名"  # nothing close: left, and the text goes as UCS-2


SPANISH_160 = (
    "Hola Lucía, le recordamos su cita el miércoles 9 de diciembre a las 10:00 a. m. PT en "
    "Propel Clinic. Para cambiarla, llame al (916) 915-9215. ¡Muchas gracias!!!"
)


def test_a_spanish_text_of_160_characters_is_one_segment_once_folded():
    assert len(SPANISH_160) == 160
    assert not is_gsm7(SPANISH_160)  # the í of Lucía
    assert sms_segments(SPANISH_160) == 3  # UCS-2: 67 a segment
    folded = gsm7_fold(SPANISH_160)
    assert len(folded) == 160 and is_gsm7(folded)
    assert sms_segments(folded) == 1
    assert sms_segments(folded + "!") == 2  # 161: two segments of up to 153


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("ñ" * 160, 1),  # ñ is in GSM-7
        ("€" * 80, 1),  # an extension character counts twice
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 8, 2),  # 162 septets; the € is not split
        ("a" * 152 + "€" + "a" * 153, 3),  # 152 + (2 + 151) + 2 : the € moves to segment 2
        ("á" * 70, 1),  # UCS-2
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
    ],
)
def test_segments_are_counted_as_the_network_sends_them(text, segments):
    assert sms_segments(text) == segments


# --- the health-word check -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Su sesión de KETAMINA",
        "su infusión del martes",
        "su INFUSION",
        "depresión",
        "Depresion",
        "ansiedad",
        "riesgo de suicidio",
        "ideas suicidas",
        "dolor crónico",
        "cáncer",
        "TEPT",
        "estrés postraumático",
        "ketamine infusion",
    ],
)
def test_the_health_word_check_reads_spanish_without_accents(text):
    assert health_words(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hola Lucía, su cita es el martes 5 de enero a las 9:00 a. m. PT en Propel Clinic.",
        "Le confirmamos su consulta. Acepte la hora en su página.",
        "Your appointment was cancelled. Call us at (916) 915-9215.",
    ],
)
def test_ordinary_words_pass_the_check(text):
    assert health_words(text) == []


def test_a_rendered_text_with_a_spanish_health_word_is_refused(monkeypatch):
    appointment = AppointmentFactory(patient=spanish_patient())
    monkeypatch.setattr(
        messages, "render_to_string", lambda *args, **kwargs: "Su infusión es mañana"
    )
    with pytest.raises(messages.UnsafeReminder):
        render_reminder(row(appointment, ReminderKind.INFUSION_2H, "sms"), channel="sms")


def test_the_clinician_s_crisis_text_stays_english_from_a_spanish_answer(monkeypatch):
    seen: list[str] = []
    real = crisis._

    def gettext(text):
        seen.append(translation.get_language())
        return real(text)

    monkeypatch.setattr(crisis, "_", gettext)
    with translation.override("es"):
        body = crisis.sms_body(priority=AlertPriority.IMMEDIATE, patient_id=7)
        assert translation.get_language() == "es"
    assert body.startswith("A patient needs a clinician now.") and set(seen) == {"en"}


def test_what_a_message_calls_the_visit_is_translated(monkeypatch):
    """The word in "Your consultation was moved" comes from the catalogue (msgctxt "message"), in
    the patient's language, not an English word inside a Spanish sentence."""
    seen: list[tuple[str, str, str]] = []

    def pgettext(context, text):
        seen.append((context, text, translation.get_language()))
        return f"[{text}]"

    monkeypatch.setattr(messages, "pgettext", pgettext)
    appointment = AppointmentFactory(patient=spanish_patient())
    message = render_reminder(row(appointment, ReminderKind.CANCELLED_NOTICE, "email"))
    assert ("message", "consultation", "es") in seen
    assert "[consultation]" in message.subject


@pytest.mark.parametrize("channel", ReminderChannel.values)
def test_a_patient_named_dolores_still_gets_her_messages(channel):
    """The word "dolor" (pain) is a health word; María Dolores's own name is hers to carry,
    accented in an email, folded in a text."""
    appointment = AppointmentFactory(patient=spanish_patient(first_name="María Dolores"))
    for kind in (ReminderKind.CONFIRMATION, ReminderKind.CONSULTATION_24H):
        message = render_reminder(row(appointment, kind, channel), channel=channel)
        assert "Dolores" in (message.sms or message.subject + message.text)
