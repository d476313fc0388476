"""The message catalogue: every kind of message the outbox sends a patient (ReminderKind), when it
goes, to whom, on which channels, from which templates and whether it carries a calendar file;
and the reminder plan of each kind of appointment, computed by calling the planner itself
(scheduling.reminder_plan.plan_reminders) for a sample booking.

docs/messages.md is generated from here (`document()`, written by `manage.py messages_doc`); a
test fails when the file is out of date, when a ReminderKind has no entry here, when a template
listed does not exist, or when a template in templates/reminders/ is listed nowhere. A new kind
or template: add its entry, then run `manage.py messages_doc`.

Times come from the configured offsets (scheduling.reminder_plan.reminder_times, the
REMINDER_*_HOURS_* settings), so the document says what this installation does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from scheduling.models import ReminderChannel, ReminderKind
from scheduling.reminder_plan import (
    CONSULTATION,
    OTHER,
    TREATMENT,
    ReminderTimes,
    plan_reminders,
    reminder_times,
)
from scheduling.reminders.messages import CALENDAR_KINDS
from scheduling.slots import clinic_tz

EMAIL = ReminderChannel.EMAIL
SMS = ReminderChannel.SMS

# Who receives each kind, in the words the document uses.
PATIENT_BY_CONSENT = (
    "the patient: email unless they opted out of email reminders; a text only with their express "
    "consent to texts and a mobile on file"
)
PATIENT_ANY_ADDRESS = (
    "the patient: email to the address on file (a transactional message, sent whatever the "
    "reminder preference); a text only with their consent to texts"
)
PATIENT_EMAIL = "the patient, at the email address on file"
PATIENT_NOTICE = (
    "the patient: email to the address on file (sent whatever the reminder preference); with no "
    "address, a text when they agreed to texts (`notice_channel`)"
)
TYPED_ADDRESS = "whoever typed the address on the public booking form (no patient is looked up)"


def appointment_templates(kind: str, *, sms: bool = True) -> tuple[str, ...]:
    """A message about an appointment: templates/reminders/<kind>_{subject,body}..., with the
    shared layout and footer (reminders/_layout.html, reminders/_footer.txt)."""
    names = [f"reminders/{kind}_subject.txt", f"reminders/{kind}_body.txt"]
    names.append(f"reminders/{kind}_body.html")
    if sms:
        names.append(f"reminders/{kind}_sms.txt")
    return tuple(names)


def email_templates(kind: str) -> tuple[str, ...]:
    """An email about a patient or a booking request: templates/emails/<kind>_..."""
    return (f"emails/{kind}_subject.txt", f"emails/{kind}_body.txt", f"emails/{kind}_body.html")


@dataclass(frozen=True)
class Entry:
    kind: ReminderKind
    # When it goes; "{name}" is replaced by a ReminderTimes offset in hours.
    when: str
    to: str
    channels: tuple[str, ...]
    templates: tuple[str, ...]

    @property
    def calendar_file(self) -> bool:
        return self.kind in CALENDAR_KINDS


CATALOGUE: tuple[Entry, ...] = (
    Entry(
        ReminderKind.CONFIRMATION,
        "at booking, due at once (every kind of appointment; a move keeps the one already planned; "
        "a patient's online move gets its notice instead; a course: one message for every "
        "session)",
        PATIENT_ANY_ADDRESS,
        (EMAIL, SMS),
        appointment_templates("confirmation"),
    ),
    Entry(
        ReminderKind.CONSULTATION_24H,
        "{consultation_before} h before a consultation, or any other visit that is not a treatment "
        "visit",
        PATIENT_BY_CONSENT,
        (EMAIL, SMS),
        appointment_templates("consultation_24h"),
    ),
    Entry(
        ReminderKind.INTAKE_NUDGE_48H,
        "{intake_nudge_before} h before a consultation, only while the screening questionnaire is "
        "not sent (checked again when it is due)",
        PATIENT_BY_CONSENT,
        (EMAIL, SMS),
        appointment_templates("intake_nudge_48h"),
    ),
    Entry(
        ReminderKind.PAPERWORK_72H,
        "{paperwork_before} h before a consultation or a treatment visit, only while something the "
        "clinic wants on file for it is missing (forms to sign, a document to send or bring; "
        "checked again when it is due; not planned for a booking made inside those hours); it "
        "says whether forms or documents, never which",
        PATIENT_BY_CONSENT,
        (EMAIL, SMS),
        appointment_templates("paperwork_72h"),
    ),
    Entry(
        ReminderKind.INFUSION_PREP_48H,
        "{infusion_prep_before} h before a treatment visit; the email gives the preparation "
        "(a driver home, food and drink, what to bring)",
        PATIENT_BY_CONSENT,
        (EMAIL, SMS),
        appointment_templates("infusion_prep_48h"),
    ),
    Entry(
        ReminderKind.CHECK_IN_LINK,
        "{check_in_before} h before a treatment visit: the link to the pre-visit check-in",
        PATIENT_BY_CONSENT,
        (EMAIL, SMS),
        appointment_templates("check_in_link"),
    ),
    Entry(
        ReminderKind.INFUSION_2H,
        "{infusion_soon_before} h before a treatment visit",
        PATIENT_BY_CONSENT,
        (EMAIL, SMS),
        appointment_templates("infusion_2h"),
    ),
    Entry(
        ReminderKind.FOLLOW_UP_NEXT_DAY,
        "{follow_up_after} h after a treatment visit ends, only when the patient came (dropped "
        "when more than a day late)",
        PATIENT_BY_CONSENT,
        (EMAIL, SMS),
        appointment_templates("follow_up_next_day"),
    ),
    Entry(
        ReminderKind.RESCHEDULED_NOTICE,
        "at once, when an appointment moves: by the patient online, or by staff (calendar, course "
        "page), with the reason the clinic picked, if any (one per change; the old time named; "
        "several changes in one action for one patient: one message listing them)",
        PATIENT_NOTICE,
        (EMAIL, SMS),
        appointment_templates("rescheduled_notice"),
    ),
    Entry(
        ReminderKind.CANCELLED_NOTICE,
        "at once, when an appointment is cancelled or deferred: by the patient online, or by staff "
        "(calendar, course page, day sheet deferral, a closure over the day), with the reason the "
        "clinic picked, if any, and how to book again (one per change; one message per patient "
        "per action)",
        PATIENT_NOTICE,
        (EMAIL, SMS),
        appointment_templates("cancelled_notice"),
    ),
    Entry(
        ReminderKind.PATIENT_LINK,
        "at once, when the patient asks for a new link to their page",
        PATIENT_EMAIL,
        (EMAIL,),
        email_templates("patient_link"),
    ),
    Entry(
        ReminderKind.INFORMATION_REQUEST,
        "at once, when a clinician asks the patient for more information (the request itself is "
        "read on the questionnaire page, never in the email)",
        PATIENT_EMAIL,
        (EMAIL,),
        email_templates("information_request"),
    ),
    Entry(
        ReminderKind.QUESTIONNAIRE_LINK,
        "at once, when the front desk registers a caller and sends the questionnaire link (by "
        "email, and by text when the caller agreed to texts on the call; a text waits for the end "
        "of the quiet hours)",
        PATIENT_ANY_ADDRESS,
        (EMAIL, SMS),
        (*email_templates("questionnaire_link"), "reminders/questionnaire_link_sms.txt"),
    ),
    Entry(
        ReminderKind.BOOKING_REQUEST,
        "at once, when someone asks for a consultation on the public booking form: the link that "
        "confirms it",
        TYPED_ADDRESS,
        (EMAIL,),
        email_templates("booking_request"),
    ),
    Entry(
        ReminderKind.WAITLIST_OFFER,
        "at once, when a cancelled, deferred or moved visit frees a time a waitlisted patient "
        "asked for: the link to their page, where the time is held for them for "
        "WAITLIST_OFFER_HOURS",
        PATIENT_ANY_ADDRESS,
        (EMAIL, SMS),
        (*email_templates("waitlist_offer"), "reminders/waitlist_offer_sms.txt"),
    ),
    Entry(
        ReminderKind.WAITLIST_GONE,
        "at once, when another patient offered the same time accepted it first",
        PATIENT_ANY_ADDRESS,
        (EMAIL, SMS),
        (*email_templates("waitlist_gone"), "reminders/waitlist_gone_sms.txt"),
    ),
    Entry(
        ReminderKind.WAITLIST_LAPSED,
        "at once, when a time offered to the patient was held for WAITLIST_OFFER_HOURS and "
        "nobody accepted it: it has gone to the next in line, and they are still on the list",
        PATIENT_ANY_ADDRESS,
        (EMAIL, SMS),
        (*email_templates("waitlist_lapsed"), "reminders/waitlist_lapsed_sms.txt"),
    ),
    Entry(
        ReminderKind.SIGNED_COPY,
        "at once, when the patient signs a consent form on their link: the signed copy is ready "
        "on their forms page (the email names no form and carries no attachment)",
        PATIENT_EMAIL,
        (EMAIL,),
        email_templates("signed_copy"),
    ),
)

# Templates every message about an appointment shares.
SHARED_TEMPLATES = ("reminders/_layout.html", "reminders/_footer.txt")
# One message for several confirmations or notices of one action (scheduling.reminders.messages
# .render_batch).
BATCH_TEMPLATES = (
    "reminders/batch_subject.txt",
    "reminders/batch_body.txt",
    "reminders/batch_body.html",
    "reminders/batch_sms.txt",
    "reminders/_batch_entry.txt",
)


def offsets_in_hours(times: ReminderTimes) -> dict[str, int]:
    return {
        name: int(getattr(times, name).total_seconds() // 3600)
        for name in (
            "consultation_before",
            "intake_nudge_before",
            "infusion_prep_before",
            "check_in_before",
            "infusion_soon_before",
            "follow_up_after",
            "paperwork_before",
        )
    }


def entry_for(kind: str) -> Entry | None:
    return next((entry for entry in CATALOGUE if entry.kind == kind), None)


# The sample booking the plans are computed for: a Wednesday at 10:00 clinic time, booked a month
# ahead by a patient who consented to both channels and has not sent the questionnaire (so every
# message that can be planned is). Far from DST changes and quiet hours.
SAMPLE_START = dt.datetime(2027, 2, 10, 10, 0)
SAMPLE_BOOKED = dt.datetime(2027, 1, 10, 10, 0)
SAMPLE_MINUTES = {CONSULTATION: 60, TREATMENT: 120, OTHER: 30}
APPOINTMENT_KINDS = {
    CONSULTATION: "Consultation (the type with code `consultation`)",
    TREATMENT: "Treatment visit (every type that needs a clinician's clearance: infusion, "
    "maintenance infusion)",
    OTHER: "Any other visit (e.g. a follow-up)",
}


def _hours(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h"


def sample_plan(appointment_kind: str, times: ReminderTimes) -> list[tuple[str, str, str]]:
    """The planner's answer for the sample booking of `appointment_kind`, as (kind, channel, when
    relative to the visit) rows."""
    tz = clinic_tz()
    start = SAMPLE_START.replace(tzinfo=tz)
    end = start + dt.timedelta(minutes=SAMPLE_MINUTES[appointment_kind])
    plan = plan_reminders(
        appointment_kind=appointment_kind,
        start=start,
        end=end,
        now=SAMPLE_BOOKED.replace(tzinfo=tz),
        email_ok=True,
        sms_ok=True,
        intake_done=False,
        tz=tz,
        times=times,
    )
    rows = []
    for kind, channel, due in plan:
        if kind == ReminderKind.CONFIRMATION:
            when = "at booking"
        elif due >= end:
            when = f"{_hours(due - end)} after the end"
        else:
            when = f"{_hours(start - due)} before the start"
        rows.append((kind, channel, when))
    return rows


def _label(value: str, choices: type[ReminderKind] | type[ReminderChannel]) -> str:
    return str(choices(value).label)


def catalogue_markdown(times: ReminderTimes) -> str:
    hours = offsets_in_hours(times)
    rows = [
        "| message (`kind`) | when it goes | to whom | channels | templates | calendar file |",
        "|---|---|---|---|---|---|",
    ]
    for entry in CATALOGUE:
        channels = ", ".join(_label(channel, ReminderChannel).lower() for channel in entry.channels)
        templates = "<br>".join(f"`{name}`" for name in entry.templates)
        rows.append(
            f"| {entry.kind.label} (`{entry.kind.value}`) | {entry.when.format(**hours)} "
            f"| {entry.to} | {channels} | {templates} | {'yes' if entry.calendar_file else 'no'} |"
        )
    return "\n".join(rows)


def plans_markdown(times: ReminderTimes) -> str:
    parts = []
    for appointment_kind, title in APPOINTMENT_KINDS.items():
        parts += [f"### {title}", "", "| message | channel | due |", "|---|---|---|"]
        for kind, channel, when in sample_plan(appointment_kind, times):
            parts.append(
                f"| {_label(kind, ReminderKind)} (`{kind}`) | "
                f"{_label(channel, ReminderChannel).lower()} | {when} |"
            )
        parts.append("")
    return "\n".join(parts)


def document(times: ReminderTimes | None = None) -> str:
    """docs/messages.md, whole (`manage.py messages_doc` writes it; a test compares)."""
    times = times or reminder_times()
    return "\n".join(
        [
            "# Messages to patients",
            "",
            "Generated from `scheduling/reminders/catalogue.py` by `manage.py messages_doc`; "
            "do not edit by hand (a test compares).",
            "",
            "Every message to a patient is a row in the outbox (`Reminder`), written in the "
            "transaction of the change that promises it (`scheduling/reminder_plan.py`) and sent "
            "once by the dispatch sweep (`scheduling/reminders/dispatch.py`), which renders it "
            "from the templates below (`scheduling/reminders/messages.py`). An SMS and an email "
            "subject carry the minimum (first name, date, time, clinic, phone, a link) and never a "
            "health word; a message whose moment has passed, or whose visit is no longer on, is "
            "skipped rather than sent late. Staff see every row, with its state, on the patient's "
            "page and at `/staff/reminders/`, and can send a failed one again.",
            "",
            "Every message is written in the patient's preferred language "
            "(`Patient.preferred_language`; a booking request: the language its form was filled "
            "in, which becomes the new patient's), whatever the language of the staff member or "
            "worker sending it; `<html lang>` says which. Texts are folded into the GSM-7 "
            "alphabet (á -> a; é, ñ, ü, ¿, ¡ kept) so a Spanish text costs the same 160-character "
            "segments as an English one (`propel/sms.py`, `sms_segments`). Messages to staff and "
            "offices (alerts, the referral receipt) stay English.",
            "",
            "Consent (`intake/consent.py`): email reminders are on for every patient with an "
            "email until they opt out; texts need the patient's express consent. Every email to a "
            "patient carries a one-click opt-out (a link in the footer and the `List-Unsubscribe` "
            "/ `List-Unsubscribe-Post` headers); the transactional ones (booking confirmation, "
            "notices of changes, links and requests) still go after an opt-out.",
            "",
            f"Texts are never sent between {times.quiet_start_hour}:00 and "
            f"{times.quiet_end_hour}:00 clinic time: one due then waits until "
            f"{times.quiet_end_hour}:00, and a reminder before a visit is dropped when that is "
            "after the visit starts. The hours come from the `REMINDER_*_HOURS_*` settings, "
            "elapsed time (so across a DST change the clock time of a reminder can differ from "
            "the visit's by an hour).",
            "",
            "## The catalogue",
            "",
            catalogue_markdown(times),
            "",
            "Every message about an appointment also uses "
            + " and ".join(f"`{name}`" for name in SHARED_TEMPLATES)
            + ".",
            "",
            "Several confirmations or notices written by one action for one patient (a course "
            "booked: every session's confirmation; a staff action or a closure over several "
            "visits: their notices) share a batch and go out as ONE message per channel listing "
            "each visit (confirmed, moved from/to, or cancelled; date, time with zone, place; the "
            "reason the clinic picked; how to book again), with one calendar file per method "
            "(REQUEST for the visits on, CANCEL for the cancelled ones), from "
            + ", ".join(f"`{name}`" for name in BATCH_TEMPLATES)
            + ". A batch left with one message to send uses that message's own templates.",
            "",
            "## The reminder plan of each kind of appointment",
            "",
            "What the planner writes for a booking made well ahead by a patient who agreed to "
            "both channels and has not yet sent the questionnaire (computed by "
            "`plan_reminders` for a sample visit). A reminder whose time has already passed at "
            "booking is not planned; a move re-plans them; a cancellation cancels those not sent.",
            "",
            plans_markdown(times),
        ]
    )
