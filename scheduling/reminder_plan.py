"""Reminder planning: which messages an appointment gets, through which channel, and when.

Part of scheduling's core: booking and the lifecycle door write these rows (the outbox) in their own
transaction; the reminders wing (dispatch, messages) only reads and sends them.

`plan_reminders` is a pure function (no database, no settings read): the services below feed it
the appointment, the patient's consents and the configured times, and write its answer as
Reminder rows inside the caller's transaction (appointment_book, appointment_move,
appointment_transition in scheduling.booking). Nothing is queued on a broker here: the dispatch
sweep (scheduling.reminders.dispatch) finds due rows, so a booking made while Redis is down still
gets its reminders.

Decisions (issue 7):
- "N hours before" is ELAPSED time: due = start - N h, computed in UTC. Across a DST change the
  local wall-clock time of the reminder therefore differs from the appointment's. Example: an
  appointment on Monday 2027-03-15 10:00 PDT (17:00 UTC; DST began 2027-03-14 02:00): the 24 h
  reminder is due 2027-03-14 17:00 UTC = 10:00 PDT (the switch happened before 10:00 on the 14th,
  so the wall clock happens to match), and a 48 h reminder is due 2027-03-13 17:00 UTC =
  09:00 PST (one wall-clock hour earlier than the appointment's 10:00).
- The follow-up after a treatment visit is due `end + REMINDER_FOLLOW_UP_HOURS_AFTER`.
- Kinds: a consultation (type code "consultation") gets consultation_24h and, while the
  screening is not submitted, intake_nudge_48h; a treatment visit (type.needs_clearance) gets
  infusion_prep_48h, check_in_link, infusion_2h and follow_up_next_day; any other type (follow-up
  visits) gets consultation_24h. Every booking also gets a confirmation, due at once.
- Paperwork (issue 21): a consultation and a treatment visit get paperwork_72h,
  REMINDER_PAPERWORK_HOURS_BEFORE (72) before the start, planned whatever is on file at booking
  (what is missing is decided when it is due: scheduling.reminders.relevance skips it when
  nothing is). Booked inside the 72 hours it is not planned, as every reminder whose moment has
  passed: the confirmation links to the patient's page, which lists what is missing.
- Channels: email when the patient consented to email and has an address; SMS when they consented
  to text messages and have a mobile. The confirmation email (with the calendar file) goes to any
  address on file, as the other booking emails do, online bookings included.
- A reminder whose due time has passed at planning (booking 20 h ahead: the 24 h reminder) is not
  planned; the confirmation always is.
- SMS quiet hours (SMS_QUIET_HOURS_START to SMS_QUIET_HOURS_END, clinic time, 21:00-08:00 by
  default): an SMS due then moves to the next end of quiet hours (08:00); when that is at or after
  the appointment's start, a "before" SMS is not planned at all (email, if any, still is).
- A move re-plans: pending (and cancelled/skipped) rows get the new due times, rows no longer
  planned are cancelled, rows already sent, being sent or failed are left alone (the unique
  appointment/kind/channel key means a reminder sent for the old time is not sent again).
- Notices (issue 8): a patient's online move or cancellation is announced by a notice row
  (`reminder_notice_plan`, email, due at once, to any address on file like the confirmation),
  written in the change's own transaction. A notice reports something that already happened, so
  neither a re-plan nor a later cancellation takes it back. Before, these emails were queued on
  the broker after commit and lost when Redis was down; the outbox sends them exactly once.
- Batches (issue 17): the messages one action writes for one patient (a course's confirmations,
  the notices of a staff action that moved or cancelled several visits) go out as ONE message
  per channel listing them. A caller takes `batch = new_batch()` and, in the action's own
  transaction, plans every row with it: `reminders_replan(..., confirmation=True, batch=batch)`
  through appointment_book(confirm_batch=batch) for confirmations,
  `reminder_notice_plan(..., batch=batch, reason=..., previous_start=...)` for notices. The
  dispatcher claims, sends and records the pending rows of a batch and channel together
  (scheduling.reminders.dispatch); the renderer lists them (scheduling.reminders.messages
  .render_batch). A row of the batch that no longer makes sense when it goes (its visit
  cancelled since) is skipped and the message lists the others. Only confirmations and notices
  are batched: the reminders before and after each visit stay per visit.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from intake.models import Patient, SubmissionStatus
from intake.selectors import questionnaire_status
from scheduling.fixed_insert import insert_rows
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BookingRequest,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
)
from scheduling.reminder_requeue import pending_again
from scheduling.slots import clinic_tz

logger = logging.getLogger(__name__)

CONSULTATION = "consultation"
TREATMENT = "treatment"
OTHER = "other"

# Reminders about a visit still to come: pointless once it has started.
BEFORE_KINDS = frozenset(
    {
        ReminderKind.CONSULTATION_24H,
        ReminderKind.INTAKE_NUDGE_48H,
        ReminderKind.INFUSION_PREP_48H,
        ReminderKind.CHECK_IN_LINK,
        ReminderKind.INFUSION_2H,
        ReminderKind.PAPERWORK_72H,
    }
)

# Notices of a change already made (online moves and cancellations): planned by
# reminder_notice_plan, never re-planned or cancelled by a later change, sent to any address on
# file.
NOTICE_KINDS = frozenset({ReminderKind.RESCHEDULED_NOTICE, ReminderKind.CANCELLED_NOTICE})
# Emails about a patient (no appointment): transactional, email only, link made at send time.
PATIENT_KINDS = frozenset(
    {
        ReminderKind.PATIENT_LINK,
        ReminderKind.INFORMATION_REQUEST,
        ReminderKind.QUESTIONNAIRE_LINK,
        ReminderKind.WAITLIST_OFFER,
        ReminderKind.WAITLIST_GONE,
        ReminderKind.WAITLIST_LAPSED,
        ReminderKind.SIGNED_COPY,
    }
)
# Of those, the kinds that may also go by text (with the patient's consent to texts).
PATIENT_SMS_KINDS = frozenset(
    {
        ReminderKind.QUESTIONNAIRE_LINK,
        ReminderKind.WAITLIST_OFFER,
        ReminderKind.WAITLIST_GONE,
        ReminderKind.WAITLIST_LAPSED,
    }
)

# Rows a re-plan may (re)schedule; the others are history.
REPLANNABLE = (ReminderState.PENDING, ReminderState.CANCELLED, ReminderState.SKIPPED)

Plan = list[tuple[str, str, dt.datetime]]


@dataclass(frozen=True)
class ReminderTimes:
    """The configurable offsets and quiet hours (defaults: propel.settings)."""

    consultation_before: dt.timedelta = dt.timedelta(hours=24)
    intake_nudge_before: dt.timedelta = dt.timedelta(hours=48)
    infusion_prep_before: dt.timedelta = dt.timedelta(hours=48)
    check_in_before: dt.timedelta = dt.timedelta(hours=24)
    infusion_soon_before: dt.timedelta = dt.timedelta(hours=2)
    follow_up_after: dt.timedelta = dt.timedelta(hours=24)
    paperwork_before: dt.timedelta = dt.timedelta(hours=72)
    quiet_start_hour: int = 21
    quiet_end_hour: int = 8


def reminder_times() -> ReminderTimes:
    def hours(name: str) -> dt.timedelta:
        return dt.timedelta(hours=getattr(settings, name))

    return ReminderTimes(
        consultation_before=hours("REMINDER_CONSULTATION_HOURS_BEFORE"),
        intake_nudge_before=hours("REMINDER_INTAKE_NUDGE_HOURS_BEFORE"),
        infusion_prep_before=hours("REMINDER_INFUSION_PREP_HOURS_BEFORE"),
        check_in_before=hours("REMINDER_CHECK_IN_HOURS_BEFORE"),
        infusion_soon_before=hours("REMINDER_INFUSION_SOON_HOURS_BEFORE"),
        follow_up_after=hours("REMINDER_FOLLOW_UP_HOURS_AFTER"),
        paperwork_before=hours("REMINDER_PAPERWORK_HOURS_BEFORE"),
        quiet_start_hour=settings.SMS_QUIET_HOURS_START,
        quiet_end_hour=settings.SMS_QUIET_HOURS_END,
    )


def new_batch() -> uuid.UUID:
    """A fresh batch key: the rows planned with it in one transaction go out as one message per
    channel (see the module docstring)."""
    return uuid.uuid4()


def in_quiet_hours(moment: dt.datetime, *, tz: ZoneInfo, start_hour: int, end_hour: int) -> bool:
    hour = moment.astimezone(tz).hour
    if start_hour == end_hour:
        return False
    if start_hour > end_hour:  # wraps midnight: 21-8
        return hour >= start_hour or hour < end_hour
    return start_hour <= hour < end_hour


def after_quiet_hours(
    moment: dt.datetime, *, tz: ZoneInfo, start_hour: int, end_hour: int
) -> dt.datetime:
    """`moment`, or the end of the quiet hours it falls in (the next `end_hour`:00 clinic time)."""
    if not in_quiet_hours(moment, tz=tz, start_hour=start_hour, end_hour=end_hour):
        return moment
    local = moment.astimezone(tz)
    day = local.date()
    if local.hour >= end_hour:  # evening part: the end is tomorrow morning
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(end_hour), tzinfo=tz).astimezone(dt.UTC)


def appointment_kind(appointment: Appointment) -> str:
    appointment_type = appointment.appointment_type
    if appointment_type.needs_clearance:
        return TREATMENT
    if appointment_type.code == "consultation":
        return CONSULTATION
    return OTHER


def plan_reminders(
    *,
    appointment_kind: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    email_ok: bool,
    sms_ok: bool,
    intake_done: bool,
    tz: ZoneInfo,
    times: ReminderTimes = ReminderTimes(),
    confirmation: bool = True,
    confirmation_email: bool = True,
) -> Plan:
    """The reminders an appointment should have, as (kind, channel, due_at in UTC), by due time.

    `email_ok`/`sms_ok`: the patient consented to that channel and has an address/mobile.
    `confirmation`: plan the confirmation (at booking, not on a move); `confirmation_email`: send
    it by email (any address on file; False when another path already emails it).
    """
    # Elapsed time: subtract in UTC. (Aware arithmetic in a ZoneInfo zone is wall-clock
    # arithmetic in Python, which would move a reminder by an hour across a DST change.)
    start = start.astimezone(dt.UTC)
    end = end.astimezone(dt.UTC)
    now = now.astimezone(dt.UTC)
    wanted: list[tuple[str, dt.datetime]] = []
    if confirmation:
        wanted.append((ReminderKind.CONFIRMATION, now))
    if appointment_kind in (CONSULTATION, TREATMENT):
        wanted.append((ReminderKind.PAPERWORK_72H, start - times.paperwork_before))
    if appointment_kind == CONSULTATION:
        wanted.append((ReminderKind.CONSULTATION_24H, start - times.consultation_before))
        if not intake_done:
            wanted.append((ReminderKind.INTAKE_NUDGE_48H, start - times.intake_nudge_before))
    elif appointment_kind == TREATMENT:
        wanted += [
            (ReminderKind.INFUSION_PREP_48H, start - times.infusion_prep_before),
            (ReminderKind.CHECK_IN_LINK, start - times.check_in_before),
            (ReminderKind.INFUSION_2H, start - times.infusion_soon_before),
            (ReminderKind.FOLLOW_UP_NEXT_DAY, end + times.follow_up_after),
        ]
    else:
        wanted.append((ReminderKind.CONSULTATION_24H, start - times.consultation_before))

    plan: Plan = []
    for kind, due in wanted:
        due = due.astimezone(dt.UTC)
        if kind != ReminderKind.CONFIRMATION and due <= now:
            continue  # its moment has passed: booked too late for it
        if kind in BEFORE_KINDS and due >= start:
            continue
        if email_ok if kind != ReminderKind.CONFIRMATION else confirmation_email:
            plan.append((str(kind), str(ReminderChannel.EMAIL), due))
        if sms_ok:
            sms_due = after_quiet_hours(
                due, tz=tz, start_hour=times.quiet_start_hour, end_hour=times.quiet_end_hour
            )
            if kind != ReminderKind.FOLLOW_UP_NEXT_DAY and sms_due >= start:
                continue  # quiet hours last until the visit: no SMS
            plan.append((str(kind), str(ReminderChannel.SMS), sms_due))
    plan.sort(key=lambda item: (item[2], item[0], item[1]))
    return plan


def _plan_for(
    appointment: Appointment,
    *,
    patient: Patient,
    now: dt.datetime,
    confirmation: bool,
    screening_submitted: bool | None = None,
) -> dict[tuple[str, str], dt.datetime]:
    """The appointment's plan. `screening_submitted`: whether the patient's latest screening
    round is submitted, when the caller has read it already; otherwise it is asked for when it
    matters (a consultation's intake nudge)."""
    kind = appointment_kind(appointment)
    if kind == CONSULTATION and screening_submitted is None:
        screening_submitted = questionnaire_status(patient.pk) == SubmissionStatus.SUBMITTED
    plan = plan_reminders(
        appointment_kind=kind,
        start=appointment.start,
        end=appointment.end,
        now=now,
        email_ok=bool(patient.consent_email and patient.email),
        sms_ok=bool(patient.consent_sms and patient.mobile),
        intake_done=kind != CONSULTATION or bool(screening_submitted),
        tz=clinic_tz(),
        times=reminder_times(),
        confirmation=confirmation,
        confirmation_email=bool(patient.email),
    )
    return {(kind, channel): due for kind, channel, due in plan}


def _new_row(
    appointment: Appointment, kind: str, channel: str, due: dt.datetime, batch: uuid.UUID | None
) -> Reminder:
    return Reminder(
        appointment=appointment,
        kind=kind,
        channel=channel,
        due_at=due,
        batch=batch if kind == ReminderKind.CONFIRMATION else None,
    )


def reminders_plan_booked(
    *,
    appointments: list[Appointment],
    patient: Patient,
    screening_submitted: bool,
    now: dt.datetime,
    confirmation: bool = True,
    batch: uuid.UUID | None = None,
) -> int:
    """Plan the reminder rows of appointments just booked for `patient` (none planned yet), in
    one INSERT (scheduling.fixed_insert); returns how many. What reminders_replan would write
    for each, without its reads: the caller (scheduling.batch_booking) has the appointments,
    their type and the patient, read under the booking's locks, and whether the patient's
    latest screening round is submitted (`screening_submitted`, read with the patient:
    intake.selectors.latest_screening_status). The patient's channels, the clinic's zone and
    the reminder times are read once for all the appointments (a course plans every session in
    one pass). `batch`: the batch of the confirmation rows (one message for a course's
    sessions). Call inside the booking's transaction."""
    email_ok = bool(patient.consent_email and patient.email)
    sms_ok = bool(patient.consent_sms and patient.mobile)
    tz = clinic_tz()
    times = reminder_times()
    rows = []
    for appointment in appointments:
        kind = appointment_kind(appointment)
        plan = plan_reminders(
            appointment_kind=kind,
            start=appointment.start,
            end=appointment.end,
            now=now,
            email_ok=email_ok,
            sms_ok=sms_ok,
            intake_done=kind != CONSULTATION or screening_submitted,
            tz=tz,
            times=times,
            confirmation=confirmation,
            confirmation_email=bool(patient.email),
        )
        rows += [
            {
                "appointment_id": appointment.pk,
                "kind": reminder_kind,
                "channel": channel,
                "due_at": due,
                "batch": batch if reminder_kind == ReminderKind.CONFIRMATION else None,
            }
            for reminder_kind, channel, due in plan
        ]
    return len(insert_rows(Reminder, rows))


def reminders_replan(
    *,
    appointment_id: int,
    now: dt.datetime | None = None,
    confirmation: bool = False,
    batch: uuid.UUID | None = None,
) -> list[Reminder]:
    """Bring the appointment's reminder rows in line with its current time, type and patient.

    Call inside the transaction that books or moves the appointment (confirmation=True when
    booking). Creates missing rows, re-dates pending/cancelled/skipped ones (back to pending,
    attempts reset), cancels pending rows no longer planned; sent, sending and failed rows are
    history and stay as they are. An appointment that is no longer booked gets nothing new.
    Returns the rows pending afterwards. `batch`: the batch of the confirmation rows it creates
    (one message for the appointments of one action).
    """
    now = now or timezone.now()
    with transaction.atomic():
        return _replan(
            appointment_id=appointment_id, now=now, confirmation=confirmation, batch=batch
        )


def _replan(
    *, appointment_id: int, now: dt.datetime, confirmation: bool, batch: uuid.UUID | None
) -> list[Reminder]:
    appointment = Appointment.objects.select_related("patient", "appointment_type").get(
        pk=appointment_id
    )
    if appointment.status != AppointmentStatus.BOOKED:
        return []
    planned = _plan_for(
        appointment, patient=appointment.patient, now=now, confirmation=confirmation
    )
    existing = {
        (row.kind, row.channel): row
        for row in Reminder.objects.select_for_update().filter(appointment_id=appointment_id)
    }
    for key, row in existing.items():
        if key in planned or row.state != ReminderState.PENDING or row.kind in NOTICE_KINDS:
            continue
        if not confirmation and row.kind == ReminderKind.CONFIRMATION:
            continue  # a move does not take back a confirmation still to go out
        Reminder.objects.filter(pk=row.pk, state=ReminderState.PENDING).update(
            state=ReminderState.CANCELLED,
            last_error="no longer planned after a change",
            updated_at=now,
        )
    missing = []
    for (kind, channel), due in planned.items():
        row = existing.get((kind, channel))
        if row is None:
            missing.append(_new_row(appointment, kind, channel, due, batch))
        elif row.state in REPLANNABLE and (row.state != ReminderState.PENDING or row.due_at != due):
            Reminder.objects.filter(pk=row.pk, state__in=REPLANNABLE).update(
                **pending_again(due=due, now=now)
            )
    Reminder.objects.bulk_create(missing)
    return list(Reminder.objects.filter(appointment_id=appointment_id, state=ReminderState.PENDING))


def reminders_cancel(
    *,
    appointment_id: int,
    reason: str,
    keep_kinds: frozenset[str] | set[str] = frozenset(),
    now: dt.datetime | None = None,
) -> int:
    """Cancel the appointment's pending reminders (except `keep_kinds` and notices, which report
    a change already made); returns how many.

    Call inside the transaction that changes the appointment's status. A row being sent right now
    is not touched here: the send re-reads the appointment and skips it.
    """
    now = now or timezone.now()
    cancelled = (
        Reminder.objects.filter(appointment_id=appointment_id, state=ReminderState.PENDING)
        .exclude(Q(kind__in=[*keep_kinds, *NOTICE_KINDS]))
        .update(state=ReminderState.CANCELLED, last_error=reason[:500], updated_at=now)
    )
    if cancelled:
        logger.info(
            "appointment %s: %s reminder(s) cancelled (%s)", appointment_id, cancelled, reason
        )
    return cancelled


def notice_channel(patient: Patient) -> str | None:
    """How a notice of a change reaches the patient: email to any address on file (a
    transactional message, whatever the reminder preference); without one, a text when they
    agreed to texts and have a mobile; None when neither (the front desk calls)."""
    if patient.email:
        return str(ReminderChannel.EMAIL)
    if patient.consent_sms and patient.mobile:
        return str(ReminderChannel.SMS)
    return None


def reminder_notice_plan(
    *,
    appointment_id: int,
    kind: str,
    now: dt.datetime | None = None,
    previous_start: dt.datetime | None = None,
    reason: str = "",
    batch: uuid.UUID | None = None,
) -> Reminder | None:
    """Plan the notice `kind` (one of NOTICE_KINDS) of the change just made to this appointment:
    one row, due at once, for the dispatch sweep to send like any reminder: by email, or by text
    for a patient with no email who agreed to texts (notice_channel). Returns the row, or None when
    the patient can be reached neither way.

    `previous_start`: the time it had before a move that kept the appointment; `reason`: a
    NoticeReason the clinic chose to give; `batch`: shared by the notices of one action for one
    patient, sent as one message.

    Call inside the transaction that makes the change (after it: the appointment's sequence is
    the change's), so the notice exists exactly when the change does, whatever the broker is
    doing. Idempotent per change: the appointment/kind/channel/sequence key holds at most one
    notice of a change, and planning it again returns the existing row.
    """
    if kind not in NOTICE_KINDS:
        raise ValueError(f"{kind!r} is not a notice")
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("patient").get(pk=appointment_id)
    channel = notice_channel(appointment.patient)
    if channel is None:
        return None
    row, _ = Reminder.objects.get_or_create(
        appointment_id=appointment_id,
        kind=kind,
        channel=channel,
        sequence=appointment.sequence,
        defaults={
            "due_at": now,
            "previous_start": previous_start,
            "reason": reason,
            "batch": batch,
        },
    )
    return row


def patient_message_plan(
    *,
    patient_id: int,
    kind: str,
    now: dt.datetime | None = None,
    channel: str = ReminderChannel.EMAIL,
) -> Reminder:
    """Plan one email about a patient (PATIENT_KINDS: a fresh link, a request for more
    information, a new patient's questionnaire link), due at once, for the dispatch sweep to send
    like any reminder. A text (PATIENT_SMS_KINDS only) waits for the end of the quiet hours.

    Call inside the transaction of the request that promises it: a broker outage then delays the
    email and never loses it. The link in it is signed when it is sent, never stored here.
    """
    if kind not in PATIENT_KINDS:
        raise ValueError(f"{kind!r} is not a message about a patient")
    if channel != ReminderChannel.EMAIL and kind not in PATIENT_SMS_KINDS:
        raise ValueError(f"{kind!r} goes by email only")
    due = now or timezone.now()
    if channel == ReminderChannel.SMS:
        times = reminder_times()
        due = after_quiet_hours(
            due, tz=clinic_tz(), start_hour=times.quiet_start_hour, end_hour=times.quiet_end_hour
        )
    return Reminder.objects.create(patient_id=patient_id, kind=kind, channel=channel, due_at=due)


def booking_request_message_plan(
    *, booking_request: BookingRequest, now: dt.datetime | None = None
) -> Reminder:
    """Plan the email asking whoever typed this address to confirm their online booking request,
    due at once, in the request's own transaction."""
    return Reminder.objects.create(
        booking_request=booking_request,
        kind=ReminderKind.BOOKING_REQUEST,
        channel=ReminderChannel.EMAIL,
        due_at=now or timezone.now(),
    )
