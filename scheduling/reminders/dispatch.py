"""Reminder dispatch: claim due rows, send each one, record the result.

Flow. The beat task `scheduling.tasks.dispatch_reminders` runs every minute: `recover_stuck`, then
`dispatch_due`, which in one transaction locks due pending rows with
`SELECT ... FOR UPDATE SKIP LOCKED`, marks them `sending` (claimed_at = now, attempts + 1) and,
after commit, queues `send_reminder(id)` for each. `reminder_send` locks its row (SKIP LOCKED
again), re-checks that it is still `sending`, that the message still makes sense (appointment
still on and not started, consent still given, questionnaire still not sent for the nudge, not
in SMS quiet hours) and sends it with a stable idempotency key; the row becomes `sent` (with the
provider's message id) in the same transaction, which holds the row lock for the whole send.

Batches (issue 17). Rows sharing a `batch` (one action for one patient: a course's
confirmations, the notices of a staff action) and a channel are ONE message. The sweep looks
only for a batch's lead (its lowest pending id) and claims the batch's other pending rows with it
in the same transaction (claim_batches), so a batch is claimed whole by one sweep and never split
by `limit`; only the lead's send is queued. `reminder_send` for any row of a batch locks every
`sending` row of the batch and channel in one statement (id order), skips the rows that no
longer make sense, sends the rest as one message (messages.render_message) with the key
`reminder-batch-<uuid>-<channel>`, and records every row in the same transaction: all sent, all
back to pending, or all failed. `recover_stuck` puts a batch back only whole (none of its
`sending` rows still locked by a live worker).

Guarantee (what we promise, precisely):
- Never lost (at-least-once attempt): a row leaves `pending` only in a committed claim. If the
  broker is down when the claim commits, or the worker dies mid-send, the row stays `sending`;
  `recover_stuck` puts every `sending` row older than REMINDER_SEND_TIMEOUT_SECONDS whose row lock
  is free (no live worker holds it) back to `pending`, and the next sweep claims it again.
  Transient errors (network, SMTP, SMS provider 5xx/429) retry with back-off (1, 5, 15, 60 min,
  then hourly) until REMINDER_MAX_ATTEMPTS; then the row is `failed` with `last_error`, where
  staff see it. Other errors mark the row `failed` at once and are re-raised.
- Not sent twice by us: two sweeps (or two beat processes) cannot claim the same row (row lock +
  skip locked + the state change); a redelivered or duplicate `send_reminder` finds the row locked
  by the first or no longer `sending` and does nothing.
- The one window left is a worker killed after the provider accepted the message and before the
  transaction recording it commits. The retry then sends again with the SAME key:
  SMS: `reminder-<id>` as the backend's idempotency key (FileBackend and HttpSmsBackend's
  Idempotency-Key header), so the message is delivered once where the provider honours the key.
  Email: the same Message-ID header `<reminder-<id>@<SITE domain>>` every time; SMTP has no
  idempotency, so a second copy may be delivered, and mail clients/providers that de-duplicate by
  Message-ID (e.g. Gmail) show it once. That is the at-most-once part: exact for SMS with a
  key-honouring provider, best-effort (Message-ID de-duplication) for email.
- Pointless messages are not sent late: a "before" reminder whose appointment has started, or is
  no longer booked, is `skipped` and logged; so is the follow-up for a visit not checked in or more
  than a day past its due time, and a move or cancellation notice once the time it names passed.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from intake.models import Patient
from intake.opt_out import list_unsubscribe_headers
from intake.selectors import questionnaire_status
from propel.db import is_lock_timeout, set_local_lock_timeout
from propel.sms import SmsTransientError, get_sms_backend
from propel.tasks_queue import task_by_name
from scheduling.models import (
    ATTENDED_STATUSES,
    AppointmentStatus,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderState,
)
from scheduling.reminder_plan import (
    BEFORE_KINDS,
    NOTICE_KINDS,
    PATIENT_KINDS,
    after_quiet_hours,
    in_quiet_hours,
)
from scheduling.reminders import messages
from scheduling.slots import clinic_tz

logger = logging.getLogger(__name__)

SEND_TASK = "scheduling.tasks.send_reminder"

# Worth another try later: the network, the mail server, the SMS provider's 5xx/429.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    smtplib.SMTPException,
    SmsTransientError,
)
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
    dt.timedelta(minutes=60),
)
# Sent to any address on file: the patient asked for the booking, made the change themselves, asked
# for a link, or the care team needs their answers.
TRANSACTIONAL_KINDS = frozenset({ReminderKind.CONFIRMATION, *NOTICE_KINDS, *PATIENT_KINDS})
# The follow-up is pointless this long after it was meant to go.
FOLLOW_UP_STALE_AFTER = dt.timedelta(hours=24)


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failed try: 1, 5, 15, 60 minutes, then hourly."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def idempotency_key(reminder: Reminder) -> str:
    """Stable for the message: every retry of one reminder (or of one batch, through any of its
    rows) carries the same key."""
    if reminder.batch is not None:
        return f"reminder-batch-{reminder.batch}-{reminder.channel}"
    return f"reminder-{reminder.pk}"


def email_message_id(reminder: Reminder) -> str:
    domain = urlparse(settings.SITE_URL).hostname or "propel.invalid"
    return f"<{idempotency_key(reminder)}@{domain}>"


def _quiet(moment: dt.datetime) -> bool:
    return in_quiet_hours(
        moment,
        tz=clinic_tz(),
        start_hour=settings.SMS_QUIET_HOURS_START,
        end_hour=settings.SMS_QUIET_HOURS_END,
    )


def _after_quiet(moment: dt.datetime) -> dt.datetime:
    return after_quiet_hours(
        moment,
        tz=clinic_tz(),
        start_hour=settings.SMS_QUIET_HOURS_START,
        end_hour=settings.SMS_QUIET_HOURS_END,
    )


def _enqueue(reminder_ids: list[int]) -> None:
    # By name (propel.tasks_queue): scheduling.tasks imports this module, never the reverse.
    send_reminder = task_by_name(SEND_TASK)
    for index, reminder_id in enumerate(reminder_ids):
        try:
            send_reminder.delay(reminder_id)
        except Exception:
            # Broker down: this row and the rest stay "sending" and recover_stuck re-queues them
            # later. Trying the rest would wait out the same connection timeout once per row.
            logger.exception(
                "reminder %s: could not queue the send (%s more not tried); the sweep retries",
                reminder_id,
                len(reminder_ids) - index - 1,
            )
            return


def dispatch_due(*, now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    """Claim up to `limit` due pending messages and queue their sends after commit; returns the
    ids of every row claimed. A batch (rows sharing `batch` and channel) is one message: only its
    lead (its lowest pending id) is looked for, and its claim takes every pending row of the batch
    with it (see claim_batches), so the batch is claimed once, whole, and sent by one task."""
    now = now or timezone.now()
    with transaction.atomic():
        leads = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(state=ReminderState.PENDING, due_at__lte=now)
            .exclude(_has_earlier_pending_batch_row())
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        ids = leads + claim_batches(leads)
        if ids:
            Reminder.objects.filter(pk__in=ids, state=ReminderState.PENDING).update(
                state=ReminderState.SENDING,
                claimed_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
            transaction.on_commit(lambda: _enqueue(leads))
    return ids


def _has_earlier_pending_batch_row() -> Exists:
    """A row of a batch that is not its lead: an earlier row of the same batch and channel is
    still pending (the lead stands for the whole batch)."""
    return Exists(
        Reminder.objects.filter(
            batch=OuterRef("batch"),
            channel=OuterRef("channel"),
            state=ReminderState.PENDING,
            pk__lt=OuterRef("pk"),
        )
    )


def claim_batches(lead_ids: list[int]) -> list[int]:
    """The other pending rows of the batches these locked leads stand for, locked (waiting, not
    skipping: no other sweep looks for a row that is not a lead, so the wait is only for a
    re-plan's short transaction) in id order. Call in the claim's transaction."""
    batches = list(
        Reminder.objects.filter(pk__in=lead_ids, batch__isnull=False)
        .values_list("batch", "channel")
        .distinct()
    )
    if not batches:
        return []
    same_batch = Q()
    for batch, channel in batches:
        same_batch |= Q(batch=batch, channel=channel)
    return list(
        Reminder.objects.select_for_update()
        .filter(same_batch, state=ReminderState.PENDING)
        .exclude(pk__in=lead_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def recover_stuck(*, now: dt.datetime | None = None) -> list[int]:
    """Rows left `sending` past REMINDER_SEND_TIMEOUT_SECONDS whose worker is gone (row not
    locked) go back to `pending`, due now, to be sent again with the same idempotency key; rows
    that already used REMINDER_MAX_ATTEMPTS become `failed`."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.REMINDER_SEND_TIMEOUT_SECONDS)
    with transaction.atomic():
        rows = _whole_batches(
            list(
                Reminder.objects.select_for_update(skip_locked=True)
                .filter(state=ReminderState.SENDING, claimed_at__lt=cutoff)
                .values_list("pk", "attempts", "batch", "channel")
            )
        )
        retry = [pk for pk, attempts in rows if attempts < settings.REMINDER_MAX_ATTEMPTS]
        give_up = [pk for pk, attempts in rows if attempts >= settings.REMINDER_MAX_ATTEMPTS]
        note = "worker lost or send not queued; sent again with the same idempotency key"
        Reminder.objects.filter(pk__in=retry).update(
            state=ReminderState.PENDING, due_at=now, last_error=note, updated_at=now
        )
        Reminder.objects.filter(pk__in=give_up).update(
            state=ReminderState.FAILED,
            last_error="worker lost mid-send on the last attempt",
            updated_at=now,
        )
    for pk in retry:
        logger.warning("reminder %s: stuck in sending, back to pending", pk)
    for pk in give_up:
        logger.error("reminder %s: stuck in sending after the last attempt: failed", pk)
    return [pk for pk, _ in rows]


def _whole_batches(
    rows: list[tuple[int, int, uuid.UUID | None, str]],
) -> list[tuple[int, int]]:
    """(pk, attempts) of the locked stuck rows, less any batch of which a `sending` row is still
    locked by a worker: a batch goes back to `pending` whole or not at all, so it stays one
    message."""
    locked = {pk for pk, _, _, _ in rows}
    partial: set[tuple[uuid.UUID, str]] = set()
    for batch, channel in {(b, c) for _, _, b, c in rows if b is not None}:
        sending = Reminder.objects.filter(
            batch=batch, channel=channel, state=ReminderState.SENDING
        ).values_list("pk", flat=True)
        if not locked.issuperset(sending):
            partial.add((batch, channel))
    return [(pk, attempts) for pk, attempts, b, c in rows if (b, c) not in partial]


def _appointment_skip_reason(reminder: Reminder, *, now: dt.datetime) -> str | None:
    """Why a message about an appointment is pointless now (its time passed, it is no longer
    on, the visit was not attended), or None."""
    appointment = reminder.appointment
    assert appointment is not None
    if reminder.kind in NOTICE_KINDS:
        # A notice reports a change already made (the appointment is cancelled, or moved and
        # possibly changed again since): only a time already past makes it pointless.
        if appointment.start <= now:
            return "appointment time already passed"
    elif reminder.kind == ReminderKind.FOLLOW_UP_NEXT_DAY:
        if appointment.status not in ATTENDED_STATUSES:
            return f"visit not attended (status {appointment.status})"
        if now > reminder.due_at + FOLLOW_UP_STALE_AFTER:
            return "follow-up more than a day late"
    else:
        if appointment.status != AppointmentStatus.BOOKED:
            return f"appointment is {appointment.status}"
        if appointment.start <= now:
            return "appointment already started"
    return None


def _booking_request_skip_reason(reminder: Reminder, *, now: dt.datetime) -> str | None:
    request = reminder.booking_request
    assert request is not None
    if request.appointment_id is not None:
        return "booking request already confirmed"
    if not request.is_live(now):
        return "booking request expired"
    return None


def _consent_skip_reason(reminder: Reminder, patient: Patient) -> str | None:
    if reminder.channel == ReminderChannel.EMAIL:
        if not patient.email:
            return "no email address"
        if reminder.kind not in TRANSACTIONAL_KINDS and not patient.consent_email:
            return "patient opted out of email"
        return None
    if not patient.mobile:
        return "no mobile number"
    if not patient.consent_sms:
        return "patient opted out of text messages"
    return None


def skip_reason(reminder: Reminder, *, now: dt.datetime) -> str | None:
    """Why this message should not go out now, or None."""
    if reminder.booking_request_id is not None:
        return _booking_request_skip_reason(reminder, now=now)
    patient = recipient_patient(reminder)
    reason = None
    if reminder.appointment_id is not None:
        reason = _appointment_skip_reason(reminder, now=now)
    reason = reason or _consent_skip_reason(reminder, patient)
    if (
        reason is None
        and reminder.kind == ReminderKind.INTAKE_NUDGE_48H
        and questionnaire_status(patient.pk) == "submitted"
    ):
        return "questionnaire already submitted"
    return reason


def recipient_patient(reminder: Reminder) -> Patient:
    """The patient a message about an appointment or a patient goes to."""
    if reminder.appointment is not None:
        return reminder.appointment.patient
    assert reminder.patient is not None
    return reminder.patient


def recipient_email(reminder: Reminder) -> str:
    """A booking request's typed address (whoever typed it confirms from it); otherwise the
    patient's address on file."""
    if reminder.booking_request is not None:
        return reminder.booking_request.email
    return recipient_patient(reminder).email


def _deliver(rows: list[Reminder]) -> str:
    """Send the message of these rows (one row, or the live rows of one batch) through their
    channel; return the provider's message id."""
    reminder = rows[0]
    rendered = messages.render_message(rows, channel=reminder.channel)
    if reminder.channel == ReminderChannel.SMS:
        return get_sms_backend().send(
            to=str(recipient_patient(reminder).mobile),
            body=rendered.sms,
            idempotency_key=idempotency_key(reminder),
        )
    message_id = email_message_id(reminder)
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient_email(reminder)],
        # The one-click opt-out (RFC 8058) on every email to a patient (intake.opt_out).
        headers={"Message-ID": message_id, **list_unsubscribe_headers(rendered.opt_out_url)},
    )
    if rendered.html:
        message.attach_alternative(rendered.html, "text/html")
    for filename, content, mimetype in rendered.attachments:
        message.attach(filename, content, mimetype)
    message.send()
    return message_id


def _update(reminder: Reminder, **changes: Any) -> int:
    """Conditional on the row still being this claim (state sending, same attempt)."""
    return Reminder.objects.filter(
        pk=reminder.pk, state=ReminderState.SENDING, attempts=reminder.attempts
    ).update(**changes)


def record_sent(reminder: Reminder, *, message_id: str, now: dt.datetime) -> None:
    _update(
        reminder,
        state=ReminderState.SENT,
        sent_at=now,
        provider_message_id=message_id[:200],
        last_error="",
        updated_at=now,
    )


def _record_transient(rows: list[Reminder], error: BaseException, now: dt.datetime) -> str:
    text = f"{type(error).__name__}: {error}"[:500]
    reminder = rows[0]
    if reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS:
        for row in rows:
            _update(row, state=ReminderState.FAILED, last_error=text, updated_at=now)
        logger.error(
            "reminder %s failed after %s attempts: %s", _ids(rows), reminder.attempts, text
        )
        return ReminderState.FAILED
    due = now + backoff(reminder.attempts)
    if reminder.channel == ReminderChannel.SMS:
        due = _after_quiet(due)
    for row in rows:
        _update(row, state=ReminderState.PENDING, due_at=due, last_error=text, updated_at=now)
    logger.warning(
        "reminder %s: attempt %s failed (%s); retry at %s",
        _ids(rows),
        reminder.attempts,
        text,
        due,
    )
    return ReminderState.PENDING


def _ids(rows: list[Reminder]) -> str:
    return ",".join(str(row.pk) for row in rows)


# How long a send waits for the row. A sweep's claim query may hold a row lock for a moment
# (PostgreSQL keeps the lock of a row it re-checked and rejected until its transaction ends), so
# skipping locked rows here would leave a claimed row unsent until recover_stuck; a duplicate task
# waits for the first to finish and then finds the row no longer `sending`.
SEND_LOCK_TIMEOUT_MS = 5000


def _lock_claimed(reminder_id: int) -> list[Reminder]:
    """The claimed rows of this reminder's message, locked for this transaction: the row itself,
    or every `sending` row of its batch and channel (locked in one statement in id order, so two
    tasks for rows of one batch wait for each other instead of deadlocking, and the second finds
    nothing left to send). Empty when nothing is `sending` or another worker has held it longer
    than SEND_LOCK_TIMEOUT_MS."""
    key = Reminder.objects.filter(pk=reminder_id).values("batch", "channel").first()
    if key is None:
        return []
    if key["batch"] is None:
        same_message = Q(pk=reminder_id)
    else:
        same_message = Q(batch=key["batch"], channel=key["channel"])
    try:
        # No savepoint (two round trips per send): a lock timeout ends the caller's transaction,
        # which then writes nothing (reminder_send returns "not_claimed").
        with transaction.atomic(savepoint=False):
            set_local_lock_timeout(SEND_LOCK_TIMEOUT_MS)
            return list(
                Reminder.objects.select_for_update(of=("self",))
                .select_related(
                    "appointment__patient",
                    "appointment__appointment_type",
                    "patient",
                    "booking_request",
                )
                .filter(same_message, state=ReminderState.SENDING)
                .order_by("pk")
            )
    except OperationalError as error:
        if is_lock_timeout(error):
            return []
        raise


def _skip(reminder: Reminder, reason: str, now: dt.datetime) -> None:
    _update(reminder, state=ReminderState.SKIPPED, last_error=reason, updated_at=now)
    logger.info("reminder %s (%s) skipped: %s", reminder.pk, reminder.kind, reason)


def _hold_for_quiet_hours(rows: list[Reminder], now: dt.datetime) -> str:
    """An SMS reached in quiet hours: a "before" reminder that would arrive after its visit
    starts is skipped; the others go back to `pending` until quiet hours end (not an attempt)."""
    later = _after_quiet(now)
    held = False
    for reminder in rows:
        appointment = reminder.appointment
        if reminder.kind in BEFORE_KINDS and appointment is not None and later >= appointment.start:
            _skip(reminder, "quiet hours until the visit", now)
            continue
        _update(
            reminder,
            state=ReminderState.PENDING,
            due_at=later,
            attempts=F("attempts") - 1,
            updated_at=now,
        )
        held = True
    return ReminderState.PENDING if held else ReminderState.SKIPPED


def reminder_send(*, reminder_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed message (a reminder, or the whole batch the reminder belongs to) and
    record the outcome on every row of it, in the transaction that holds their locks; returns the
    new state (or "not_claimed" when nothing is `sending` or another worker holds it). A row of a
    batch that no longer makes sense is skipped and the message lists the others."""
    now = now or timezone.now()
    permanent: Exception | None = None
    with transaction.atomic():
        rows = _lock_claimed(reminder_id)
        if not rows:
            logger.info(
                "reminder %s: not claimed or being sent elsewhere; nothing to do", reminder_id
            )
            return "not_claimed"
        live = []
        for reminder in rows:
            reason = skip_reason(reminder, now=now)
            if reason is None:
                live.append(reminder)
            else:
                _skip(reminder, reason, now)
        if not live:
            return ReminderState.SKIPPED
        if live[0].channel == ReminderChannel.SMS and _quiet(now):
            return _hold_for_quiet_hours(live, now)
        try:
            message_id = _deliver(live)
        except TRANSIENT_ERRORS as error:
            return _record_transient(live, error, now)
        except Exception as error:
            text = f"{type(error).__name__}: {error}"[:500]
            for reminder in live:
                _update(reminder, state=ReminderState.FAILED, last_error=text, updated_at=now)
            logger.exception("reminder %s failed permanently", _ids(live))
            permanent = error
        else:
            for reminder in live:
                record_sent(reminder, message_id=message_id, now=now)
            return ReminderState.SENT
    assert permanent is not None
    raise permanent
