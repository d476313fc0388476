"""What each reminder says: subject, text and HTML bodies for email, the SMS text, attachments.

`render_message(rows)` (the dispatcher's entry point) renders one row, or the rows of a batch as
one message listing them (`render_batch`, templates/reminders/batch_*). `render_reminder(reminder)`
renders every part for the reminder's kind from
templates/reminders/<kind>_{subject.txt,body.txt,body.html,sms.txt}; the dispatcher picks the parts
of the reminder's channel. Rendering reads the database (patient, link, questionnaire state) but
changes nothing. The confirmation and the move and cancellation notices carry calendar files
(scheduling.ics.patient_calendar_files: METHOD:REQUEST for what is on, METHOD:CANCEL for what was
cancelled): the notice of a patient's online move has both (the old entry cancelled, the new one
requested), so the patient's calendar follows.

Content rule (design card, issue 7): an SMS or an email subject carries the minimum (first name,
date, time, clinic, phone, a link) and never a diagnosis, score, medication, eligibility, or the
words "ketamine" or "infusion" (nor their Spanish, checked without accents:
NEVER_IN_SMS_OR_SUBJECT); tests/scheduling/test_reminder_content.py checks every kind and channel,
for an English and a Spanish patient.

Language (issue 22): every message is rendered in its patient's preferred language
(`reminder_language`: Patient.preferred_language; for a booking request, the language its form was
filled in), whatever language the sender runs in (translation.override, propel.message_language):
words, Django's month and day names and `<html lang>` follow the patient; links carry nothing
language-specific (the patient's pages open in their language from the same preference). A text
is folded into GSM-7 (propel.sms.gsm7_fold: "día" -> "dia") so Spanish costs the same segments as
English. Bodies say "appointment" or "visit". Only the 48-hour preparation email body gives the
preparation guidance (reference §8), with "blood-pressure medicine" the one medicine it names.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext

from intake.links import patient_link_token
from intake.opt_out import email_opt_out_url
from intake.selectors import questionnaire_status
from propel import formatting
from propel.message_language import in_language
from propel.sms import gsm7_fold
from scheduling.booking_tokens import booking_confirm_token
from scheduling.ics import patient_calendar_files
from scheduling.models import (
    Appointment,
    NoticeReason,
    Reminder,
    ReminderChannel,
    ReminderKind,
    RoomKind,
)
from scheduling.paperwork import visits_missing
from scheduling.queries import rescheduled_from
from scheduling.slots import clinic_tz, zone_label

# Checked at render time as a last line of defence (the tests check the full list), in English
# and Spanish, without accents and case (`_folded`): "infusión" and "INFUSION" are both caught.
# Each is the start of a word ("suicid" catches suicide, suicidio, suicida).
NEVER_IN_SMS_OR_SUBJECT = (
    "ketamine",
    "ketamina",
    "infusion",
    "depresion",
    "ansiedad",
    "suicid",
    "dolor",
    "cancer",
    "tept",
    "estres postraumatico",
)
NEVER_PATTERN = re.compile(
    r"\b(?:" + "|".join(re.escape(word) for word in NEVER_IN_SMS_OR_SUBJECT) + ")"
)
URL = re.compile(r"https?://\S+")

# The PROPOSED fasting default (reference §8): configurable, to be approved by the medical director.
DEFAULT_PREP_SOLIDS_HOURS = 6
DEFAULT_PREP_CLEAR_LIQUIDS_HOURS = 2
DEFAULT_PREP_NO_ALCOHOL_HOURS = 24


# The kinds whose email carries a calendar file.
CALENDAR_KINDS = frozenset(
    {ReminderKind.CONFIRMATION, ReminderKind.RESCHEDULED_NOTICE, ReminderKind.CANCELLED_NOTICE}
)


class UnsafeReminder(ValueError):
    """A rendered SMS or subject names something it must not."""


@dataclass
class RenderedMessage:
    subject: str
    text: str
    html: str
    sms: str
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)
    # The patient's one-click opt-out of email reminders: the footer link and the
    # List-Unsubscribe headers (intake.opt_out). Empty for a booking request (no patient yet).
    opt_out_url: str = ""


def _when(start: dt.datetime) -> dict[str, str]:
    # One way to write a date and a time (propel.formatting), in every message as on the pages.
    local = start.astimezone(clinic_tz())
    return {
        "day": formatting.local_date(local),
        "date": formatting.local_date(local),
        "short_date": formatting.local_date(local),
        "time": formatting.local_time(local),
        "zone": zone_label(),
        "short_zone": formatting.zone_abbreviation(local),
        "zone_abbreviation": formatting.zone_abbreviation(local),
    }


# A patient's questionnaire state ("none", "draft", "submitted") by patient id, as the dispatcher
# reads it for a whole chunk of messages in one query (intake.selectors.questionnaire_statuses).
Questionnaires = Mapping[int, str]


def _questionnaire_status(patient_id: int, known: Questionnaires | None) -> str:
    """From `known` when the caller read it already, otherwise one query."""
    if known is not None and patient_id in known:
        return known[patient_id]
    return questionnaire_status(patient_id)


def _links(
    reminder: Reminder, appointment: Appointment, questionnaires: Questionnaires | None = None
) -> dict[str, str]:
    token = patient_link_token(appointment.patient)
    site = settings.SITE_URL
    links = {"manage_url": site + reverse("scheduling:patient_home", args=[token])}
    if reminder.kind == ReminderKind.CHECK_IN_LINK:
        links["check_in_url"] = site + reverse("scheduling:check_in", args=[token, appointment.pk])
    if reminder.kind == ReminderKind.PAPERWORK_72H:
        links["forms_url"] = site + reverse("intake:forms", args=[token])
        links["documents_url"] = site + reverse("intake:documents", args=[token])
    if reminder.kind == ReminderKind.INTAKE_NUDGE_48H or (
        reminder.kind in (ReminderKind.CONFIRMATION, ReminderKind.RESCHEDULED_NOTICE)
        and _questionnaire_status(appointment.patient_id, questionnaires) != "submitted"
    ):
        links["questionnaire_url"] = site + reverse("intake:start", args=[token])
    # The link an SMS carries: the one thing the message asks the patient to do.
    links["sms_url"] = links.get("check_in_url") or (
        links["questionnaire_url"]
        if reminder.kind == ReminderKind.INTAKE_NUDGE_48H
        else links["manage_url"]
    )
    return links


def _previous(reminder: Reminder) -> Appointment | None:
    """For the notice of a move: the appointment it replaced (None for every other kind)."""
    if reminder.kind != ReminderKind.RESCHEDULED_NOTICE or reminder.appointment is None:
        return None
    if reminder.previous_start is not None:
        return None  # a staff move kept the appointment: `previous_start` says where it was
    return rescheduled_from(reminder.appointment)


def _context(
    reminder: Reminder, previous: Appointment | None, questionnaires: Questionnaires | None
) -> dict[str, Any]:
    appointment = reminder.appointment
    assert appointment is not None
    patient = appointment.patient
    is_consultation = appointment.appointment_type.room_kind == RoomKind.CONSULT
    previous_start = previous.start if previous is not None else reminder.previous_start
    return {
        "previous": _when(previous_start) if previous_start is not None else None,
        # A change the clinic made (scheduling.notices): the message says "we" and, when staff
        # chose one, why (NoticeReason's words, never typed).
        "staff_change": reminder.previous_start is not None or bool(reminder.reason),
        "reason": reminder.get_reason_display() if reminder.reason else "",
        "first_name": patient.first_name,
        "visit_word": visit_word(is_consultation),
        **_clinic(),
        "prep": {
            "solids_hours": getattr(settings, "PREP_SOLIDS_HOURS", DEFAULT_PREP_SOLIDS_HOURS),
            "clear_liquids_hours": getattr(
                settings, "PREP_CLEAR_LIQUIDS_HOURS", DEFAULT_PREP_CLEAR_LIQUIDS_HOURS
            ),
            "no_alcohol_hours": getattr(
                settings, "PREP_NO_ALCOHOL_HOURS", DEFAULT_PREP_NO_ALCOHOL_HOURS
            ),
        },
        **_when(appointment.start),
        **_links(reminder, appointment, questionnaires),
        **_paperwork(reminder, appointment),
    }


def _paperwork(reminder: Reminder, appointment: Appointment) -> dict[str, bool]:
    """For the paperwork reminder: whether forms are to be signed, documents to be sent (never
    which: a referral letter says too much in a message)."""
    if reminder.kind != ReminderKind.PAPERWORK_72H:
        return {}
    today = timezone.now().astimezone(clinic_tz()).date()
    items = visits_missing([appointment], today=today)[appointment.pk]
    return {
        "sign_forms": any(item.kind == "form" for item in items),
        "send_documents": any(item.kind == "document" for item in items),
    }


def visit_word(is_consultation: bool) -> str:
    """What the message calls the appointment, in the language rendering runs in."""
    # Translators: what a message calls an appointment ("Your consultation was moved").
    if is_consultation:
        return pgettext("message", "consultation")
    # Translators: what a message calls an appointment that is not a consultation.
    return pgettext("message", "visit")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _folded(text: str) -> str:
    """`text` in lower case without accents ("Infusión" -> "infusion")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def health_words(text: str) -> list[str]:
    """The words of NEVER_IN_SMS_OR_SUBJECT that `text` carries, accents and case ignored."""
    return NEVER_PATTERN.findall(_folded(text))


def _sms_text(template: str, context: Mapping[str, Any]) -> str:
    """One SMS, on one line, in GSM-7 (propel.sms.gsm7_fold: "día" -> "dia"), so a Spanish
    text costs the same segments as an English one."""
    return gsm7_fold(_one_line(render_to_string(template, context)))


def _check(kind: str, part: str, text: str, first_name: str) -> None:
    # The patient's own name is theirs to carry, and a link's signed token is random letters:
    # only the template's words are checked. Both folded first (an SMS says "Maria Dolores" for
    # María Dolores, and "dolor" must not refuse her messages).
    words = _folded(URL.sub("", text))
    name = _folded(first_name.strip())
    if name:
        words = words.replace(name, "")
    if health_words(words):
        raise UnsafeReminder(f"the {part} of reminder {kind!r} names something it must not")


def _clinic() -> dict[str, str]:
    return {
        # Rendering runs in the patient's language (in_language): `<html lang>` says which.
        "LANGUAGE_CODE": get_language(),
        "clinic_name": settings.CLINIC_NAME,
        "clinic_address": settings.CLINIC_ADDRESS,
        "clinic_phone": formatting.phone(settings.CLINIC_PHONE),
    }


def _patient_link_context(
    reminder: Reminder, questionnaires: Questionnaires | None
) -> dict[str, Any]:
    patient = reminder.patient
    assert patient is not None
    token = patient_link_token(patient)
    site = settings.SITE_URL
    context = {
        "first_name": patient.first_name,
        "valid_days": settings.PATIENT_LINK_MAX_AGE.days,
        "manage_url": site + reverse("scheduling:patient_home", args=[token]),
    }
    if _questionnaire_status(patient.pk, questionnaires) != "submitted":
        context["questionnaire_url"] = site + reverse("intake:start", args=[token])
    return context


def _information_request_context(
    reminder: Reminder, _questionnaires: Questionnaires | None
) -> dict[str, Any]:
    # Neutral: the clinician's message may be about the patient's health; they read it on the
    # questionnaire page, not in the email.
    return _patient_page_context(reminder, "questionnaire_url", "intake:start")


def _questionnaire_link_context(
    reminder: Reminder, _questionnaires: Questionnaires | None
) -> dict[str, Any]:
    # A new caller's first message: the questionnaire, and the page to see their bookings.
    patient = reminder.patient
    assert patient is not None
    token = patient_link_token(patient)
    site = settings.SITE_URL
    return {
        "first_name": patient.first_name,
        "valid_days": settings.PATIENT_LINK_MAX_AGE.days,
        "questionnaire_url": site + reverse("intake:start", args=[token]),
        "manage_url": site + reverse("scheduling:patient_home", args=[token]),
    }


def _booking_request_context(
    reminder: Reminder, _questionnaires: Questionnaires | None
) -> dict[str, Any]:
    request = reminder.booking_request
    assert request is not None
    token = booking_confirm_token(request.pk)
    return {
        "first_name": request.first_name,
        "confirm_url": settings.SITE_URL + reverse("scheduling:book_confirm_link", args=[token]),
        "valid_minutes": settings.BOOKING_CONFIRM_MINUTES,
        **_when(request.start),
    }


def _waitlist_context(reminder: Reminder, _questionnaires: Questionnaires | None) -> dict[str, Any]:
    # Neutral: no visit type, only that a time is held and where to accept it.
    patient = reminder.patient
    assert patient is not None
    token = patient_link_token(patient)
    url = settings.SITE_URL + reverse("scheduling:patient_waitlist", args=[token])
    return {
        "first_name": patient.first_name,
        "hours": settings.WAITLIST_OFFER_HOURS,
        "manage_url": url,
    }


def _signed_copy_context(
    reminder: Reminder, _questionnaires: Questionnaires | None
) -> dict[str, Any]:
    # Neutral: no form title (a form can name the treatment), no attachment; the PDF is on the
    # patient's forms page behind their link.
    return _patient_page_context(reminder, "forms_url", "intake:forms")


def _patient_page_context(reminder: Reminder, key: str, url_name: str) -> dict[str, Any]:
    """The first name, how long links last and `key`: the address of one of the patient's pages
    behind a fresh link (a message about no appointment)."""
    patient = reminder.patient
    assert patient is not None
    token = patient_link_token(patient)
    return {
        "first_name": patient.first_name,
        "valid_days": settings.PATIENT_LINK_MAX_AGE.days,
        key: settings.SITE_URL + reverse(url_name, args=[token]),
    }


# Emails without an appointment: templates/emails/<kind>_{subject.txt,body.txt,body.html}, each
# with its own context. No calendar file and no SMS.
EMAIL_ONLY_CONTEXTS = {
    ReminderKind.PATIENT_LINK: _patient_link_context,
    ReminderKind.INFORMATION_REQUEST: _information_request_context,
    ReminderKind.BOOKING_REQUEST: _booking_request_context,
    ReminderKind.QUESTIONNAIRE_LINK: _questionnaire_link_context,
    ReminderKind.WAITLIST_OFFER: _waitlist_context,
    ReminderKind.WAITLIST_GONE: _waitlist_context,
    ReminderKind.WAITLIST_LAPSED: _waitlist_context,
    ReminderKind.SIGNED_COPY: _signed_copy_context,
}
# Of those, the ones that may go by text too: templates/reminders/<kind>_sms.txt.
PATIENT_SMS_TEMPLATES = {
    kind: f"reminders/{kind.value}_sms.txt"
    for kind in (
        ReminderKind.QUESTIONNAIRE_LINK,
        ReminderKind.WAITLIST_OFFER,
        ReminderKind.WAITLIST_GONE,
        ReminderKind.WAITLIST_LAPSED,
    )
}


def _opt_out_url(reminder: Reminder) -> str:
    if reminder.appointment is not None:
        return email_opt_out_url(reminder.appointment.patient_id)
    if reminder.patient_id is not None:
        return email_opt_out_url(reminder.patient_id)
    return ""


def _render_email_only(
    kind: ReminderKind, reminder: Reminder, questionnaires: Questionnaires | None
) -> RenderedMessage:
    opt_out_url = _opt_out_url(reminder)
    context = {
        **_clinic(),
        **EMAIL_ONLY_CONTEXTS[kind](reminder, questionnaires),
        "opt_out_url": opt_out_url,
    }
    if reminder.channel == ReminderChannel.SMS and kind in PATIENT_SMS_TEMPLATES:
        sms = _sms_text(PATIENT_SMS_TEMPLATES[kind], context)
        _check(kind.value, "SMS", sms, context["first_name"])
        return RenderedMessage(subject="", text="", html="", sms=sms, opt_out_url="")
    base = f"emails/{kind.value}"
    subject = _one_line(render_to_string(f"{base}_subject.txt", context))
    _check(kind.value, "subject", subject, context["first_name"])
    return RenderedMessage(
        subject=subject,
        text=render_to_string(f"{base}_body.txt", context),
        html=render_to_string(f"{base}_body.html", context),
        sms="",
        opt_out_url=opt_out_url,
    )


def reminder_language(reminder: Reminder) -> str:
    """The language the message is written in: its patient's preferred language (the booking
    request's, for the email confirming one), whatever language the sender runs in."""
    if reminder.appointment is not None:
        return reminder.appointment.patient.preferred_language
    if reminder.patient is not None:
        return reminder.patient.preferred_language
    if reminder.booking_request is not None:
        return reminder.booking_request.language
    return ""


def render_reminder(
    reminder: Reminder,
    *,
    now: dt.datetime | None = None,
    channel: str | None = None,
    questionnaires: Questionnaires | None = None,
) -> RenderedMessage:
    """Every part of one reminder's message in the patient's language (`reminder_language`);
    see _render_reminder."""
    with in_language(reminder_language(reminder)):
        return _render_reminder(reminder, now=now, channel=channel, questionnaires=questionnaires)


def _render_reminder(
    reminder: Reminder,
    *,
    now: dt.datetime | None = None,
    channel: str | None = None,
    questionnaires: Questionnaires | None = None,
) -> RenderedMessage:
    """Every part of one reminder's message, or with `channel` only the parts that channel sends
    (the dispatcher's case: an SMS needs neither the email bodies nor the calendar file; the
    others are left empty). The confirmation and the notices carry the calendar file. With
    `questionnaires` (the patients' questionnaire states, read already) rendering does not query
    it again."""
    kind = ReminderKind(reminder.kind)
    if kind in EMAIL_ONLY_CONTEXTS:
        return _render_email_only(kind, reminder, questionnaires)
    previous = _previous(reminder)
    context = _context(reminder, previous, questionnaires)
    base = f"reminders/{kind.value}"
    email = channel != ReminderChannel.SMS
    context["opt_out_url"] = _opt_out_url(reminder) if email else ""
    subject = _one_line(render_to_string(f"{base}_subject.txt", context)) if email else ""
    sms = _sms_text(f"{base}_sms.txt", context) if channel != ReminderChannel.EMAIL else ""
    for part, text in (("subject", subject), ("SMS", sms)):
        _check(kind.value, part, text, context["first_name"])
    attachments: list[tuple[str, bytes, str]] = []
    if email and kind in CALENDAR_KINDS:
        # Each entry as it stands now: a cancelled one goes out in a CANCEL file with its bumped
        # sequence, which removes it from the patient's calendar.
        appointment = reminder.appointment
        assert appointment is not None
        entries = [appointment] if previous is None else [previous, appointment]
        attachments = patient_calendar_files(entries, now=now or timezone.now())
    return RenderedMessage(
        subject=subject,
        text=render_to_string(f"{base}_body.txt", context) if email else "",
        html=render_to_string(f"{base}_body.html", context) if email else "",
        sms=sms,
        attachments=attachments,
        opt_out_url=context["opt_out_url"],
    )


def render_message(
    rows: list[Reminder],
    *,
    channel: str,
    now: dt.datetime | None = None,
    questionnaires: Questionnaires | None = None,
) -> RenderedMessage:
    """The one message these rows make (the dispatcher's entry point): one row (alone, or all
    that is left to send of its batch) in its kind's own words (render_reminder), several rows of
    a batch as one message listing them (render_batch)."""
    if len(rows) == 1:
        return render_reminder(rows[0], channel=channel, now=now, questionnaires=questionnaires)
    return render_batch(rows, channel=channel, now=now, questionnaires=questionnaires)


def _previous_when(reminder: Reminder, previous: Appointment | None) -> dict[str, str] | None:
    """Where a moved entry was: the appointment a patient's online move replaced, or the
    `previous_start` of a move that kept the appointment."""
    if reminder.previous_start is not None:
        return _when(reminder.previous_start)
    return _when(previous.start) if previous is not None else None


def _reason(reminder: Reminder) -> str:
    """The clinic's chosen reason in the patient's words ("" when none was given)."""
    return str(NoticeReason(reminder.reason).label) if reminder.reason else ""


# What each kind of row in a batch says about its appointment.
BATCH_STATES = {
    ReminderKind.RESCHEDULED_NOTICE: "moved",
    ReminderKind.CANCELLED_NOTICE: "cancelled",
}


def _batch_entry(reminder: Reminder) -> dict[str, Any]:
    appointment = reminder.appointment
    assert appointment is not None
    state = BATCH_STATES.get(ReminderKind(reminder.kind), "confirmed")
    return {
        "state": state,
        "previous": _previous_when(reminder, _previous(reminder)),
        # A reason explains a change: a plain confirmation has none to give.
        "reason": _reason(reminder) if state != "confirmed" else "",
        "visit_word": visit_word(appointment.appointment_type.room_kind == RoomKind.CONSULT),
        **_when(appointment.start),
    }


def _batch_appointments(rows: list[Reminder]) -> list[Appointment]:
    """The entries of the batch's calendar files: each appointment as it stands, and the one a
    patient's online move replaced (to be cancelled in their calendar)."""
    appointments: dict[int, Appointment] = {}
    for reminder in rows:
        appointment = reminder.appointment
        assert appointment is not None
        previous = _previous(reminder)
        for entry in (previous, appointment):
            if entry is not None:
                appointments[entry.pk] = entry
    return sorted(appointments.values(), key=lambda a: a.start)


def render_batch(
    rows: list[Reminder],
    *,
    channel: str,
    now: dt.datetime | None = None,
    questionnaires: Questionnaires | None = None,
) -> RenderedMessage:
    """The batch's message in its patient's language; see _render_batch."""
    with in_language(reminder_language(rows[0])):
        return _render_batch(rows, channel=channel, now=now, questionnaires=questionnaires)


def _render_batch(
    rows: list[Reminder],
    *,
    channel: str,
    now: dt.datetime | None = None,
    questionnaires: Questionnaires | None = None,
) -> RenderedMessage:
    """One message for the rows of a batch (the confirmations of a course's sessions, the
    notices of one staff action): every entry with its date, time and zone, the place, what
    happened to it (confirmed / moved from <old time> / cancelled), the clinic's reason in plain
    words where one was given, and how to rebook when one was cancelled; the email carries one
    REQUEST file with the entries still on and one CANCEL file with the cancelled ones."""
    rows = sorted(rows, key=lambda r: (r.appointment.start if r.appointment else r.due_at, r.pk))
    if any(r.appointment is None for r in rows):
        raise ValueError("a batch lists messages about appointments")
    entries = [_batch_entry(reminder) for reminder in rows]
    lead = rows[0]
    assert lead.appointment is not None
    states = [entry["state"] for entry in entries]
    context: dict[str, Any] = {
        "first_name": lead.appointment.patient.first_name,
        **_clinic(),
        **_links(lead, lead.appointment, questionnaires),
        "entries": entries,
        "total": len(entries),
        "confirmed": states.count("confirmed"),
        "moved": states.count("moved"),
        "cancelled": states.count("cancelled"),
        "first_day": entries[0]["day"],
    }
    email = channel != ReminderChannel.SMS
    context["opt_out_url"] = _opt_out_url(lead) if email else ""
    subject = _one_line(render_to_string("reminders/batch_subject.txt", context)) if email else ""
    sms = _sms_text("reminders/batch_sms.txt", context) if channel != ReminderChannel.EMAIL else ""
    for part, text in (("subject", subject), ("SMS", sms)):
        _check("batch", part, text, context["first_name"])
    attachments = (
        patient_calendar_files(_batch_appointments(rows), now=now or timezone.now())
        if email
        else []
    )
    return RenderedMessage(
        subject=subject,
        text=render_to_string("reminders/batch_body.txt", context) if email else "",
        html=render_to_string("reminders/batch_body.html", context) if email else "",
        sms=sms,
        attachments=attachments,
        opt_out_url=context["opt_out_url"],
    )
