"""Reminder dispatch: claim due messages in chunks, send each one, record its result.

Flow. The beat task `scheduling.tasks.dispatch_reminders` runs every minute: `recover_stuck`, then
`dispatch_due`, which claims due pending messages chunk by chunk (claim_chunk: one transaction,
`SELECT ... FOR UPDATE SKIP LOCKED LIMIT REMINDER_CHUNK_SIZE`, the rows marked `sending` with
claimed_at = now, attempts + 1) and after each chunk's commit queues ONE `send_reminders(leads)`
for it (a chunk of fewer than SPLIT_BELOW messages: one `send_reminder(id)` per message, so a
few messages spread over the free workers). It claims while fewer than REMINDER_IN_FLIGHT_MAX rows
are `sending`, and a full chunk's task, once done, calls `dispatch_due` again
(reminder_chunk_send): a backlog drains as fast as the workers take chunks, not 200 rows a
minute, and no claim waits in the queue long enough for recover_stuck to take it back.

A chunk's task (reminders_send) reads its messages' keys and the patients' questionnaire states
in one query each, then takes the messages one at a time, each in its own transaction: lock that
message's rows (SELECT ... FOR UPDATE, waiting at most SEND_LOCK_TIMEOUT_MS), re-check that they
are still `sending` and still make sense (scheduling.reminders.relevance: appointment still on and
not started, consent still given, questionnaire still not sent for the nudge; not in SMS quiet
hours), send with a stable idempotency key, record the outcome (`sent` with the provider's id)
and commit before the next. So a slow provider holds one message's row locks at a time, as one
task per message did, and a worker killed mid-chunk leaves the messages it recorded recorded: only
the one in flight and those not reached stay `sending`. A chunk stops taking messages after a
third of REMINDER_SEND_TIMEOUT_SECONDS and puts the rest back to `pending` unsent (attempt given
back), so a message waiting its turn in a chunk is never mistaken for a lost send.

Batches (issue 17). Rows sharing a `batch` (one action for one patient: a course's
confirmations, the notices of a staff action) and a channel are ONE message. The sweep looks
only for a batch's lead (its lowest pending id) and claims the batch's other pending rows with it
in the same transaction (claim_batches), so a batch is claimed whole by one sweep and never split
by `limit` or a chunk; only the lead is queued. The send of any row of a batch locks every
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
  staff see it. Other errors mark the message `failed` at once and are re-raised (after the rest
  of its chunk).
- Not sent twice by us: two sweeps (or two beat processes) cannot claim the same row (row lock +
  skip locked + the state change); a redelivered or duplicate send task (for one message or a
  chunk) finds each message locked by the first or no longer `sending` and does nothing for it.
- The one window left is a worker killed after the provider accepted a message and before the
  transaction recording it commits (one message, also in a chunk: those before it are recorded).
  The retry then sends that message again with the SAME key:
  SMS: `reminder-<id>` as the backend's idempotency key (FileBackend and HttpSmsBackend's
  Idempotency-Key header), so the message is delivered once where the provider honours the key.
  Email: the same Message-ID header `<reminder-<id>@<SITE domain>>` every time; SMTP has no
  idempotency, so a second copy may be delivered, and mail clients/providers that de-duplicate by
  Message-ID (e.g. Gmail) show it once. That is the at-most-once part: exact for SMS with a
  key-honouring provider, best-effort (Message-ID de-duplication) for email.
- Pointless messages are not sent late (scheduling.reminders.relevance): they are `skipped` and
  logged. The questionnaire state is read once per chunk, at most a third of the send timeout
  before the message goes; everything else is re-read under the message's lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from propel.db import is_lock_timeout
from propel.sms import SmsTransientError
from propel.tasks_queue import task_by_name
from scheduling.models import Reminder, ReminderChannel, ReminderState
from scheduling.reminder_plan import (
    BEFORE_KINDS,
    after_quiet_hours,
    in_quiet_hours,
)
from scheduling.reminders.chunks import Message, read_chunk
from scheduling.reminders.delivery import (  # noqa: F401 (the names callers know here)
    deliver,
    email_message_id,
    idempotency_key,
)
from scheduling.reminders.delivery import deliver as _deliver  # noqa: F401
from scheduling.reminders.message_lock import lock_message_rows
from scheduling.reminders.relevance import (  # noqa: F401 (TRANSACTIONAL_KINDS: named here)
    TRANSACTIONAL_KINDS,
    skip_reason,
)
from scheduling.slots import clinic_tz

logger = logging.getLogger(__name__)

SEND_TASK = "scheduling.tasks.send_reminder"
SEND_CHUNK_TASK = "scheduling.tasks.send_reminders"
# A chunk of fewer messages is queued one task per message: a few messages go to whichever
# workers are free instead of waiting behind each other's sends, and a task's own cost only
# matters at volume.
SPLIT_BELOW = 10

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


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failed try: 1, 5, 15, 60 minutes, then hourly."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


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


def _enqueue(lead_ids: list[int]) -> None:
    """Queue the sends of one claimed chunk (the leads of its messages): one task for the chunk,
    or one per message when the chunk is small (SPLIT_BELOW)."""
    # By name (propel.tasks_queue): scheduling.tasks imports this module, never the reverse.
    if len(lead_ids) < SPLIT_BELOW:
        calls = [(task_by_name(SEND_TASK), (lead,)) for lead in lead_ids]
    else:
        calls = [(task_by_name(SEND_CHUNK_TASK), (lead_ids,))]
    for index, (task, args) in enumerate(calls):
        try:
            task.delay(*args)
        except Exception:
            # Broker down: these rows and the rest stay "sending" and recover_stuck re-queues
            # them later. Trying the rest would wait out the same connection timeout again.
            logger.exception(
                "reminder %s: could not queue the send (%s more not tried); the sweep retries",
                args[0],
                len(calls) - index - 1,
            )
            return


def dispatch_due(*, now: dt.datetime | None = None, limit: int | None = None) -> list[int]:
    """The sweep: claim due pending messages chunk by chunk and queue each chunk's send after its
    commit, until nothing more is due or `limit` messages are claimed; returns the ids of every
    row claimed. Each chunk is its own transaction (claim_chunk: at most REMINDER_CHUNK_SIZE
    messages, a batch always whole). Without `limit`, the sweep claims while fewer than
    REMINDER_IN_FLIGHT_MAX rows are claimed and unfinished (`sending`, this sweep's included), so
    a backlog is claimed as fast as workers take it (reminder_chunk_send continues the drain) and
    never so far ahead that a claim waits in the queue past REMINDER_SEND_TIMEOUT_SECONDS."""
    now = now or timezone.now()
    if limit is None:
        in_flight = Reminder.objects.filter(state=ReminderState.SENDING).count()
        limit = settings.REMINDER_IN_FLIGHT_MAX - in_flight
    claimed: list[int] = []
    while limit > 0:
        size = min(limit, settings.REMINDER_CHUNK_SIZE)
        leads, ids = claim_chunk(now=now, size=size)
        claimed += ids
        limit -= len(leads)
        if len(leads) < size:
            break
    return claimed


def claim_chunk(*, now: dt.datetime, size: int) -> tuple[list[int], list[int]]:
    """In one transaction, claim up to `size` due messages (`FOR UPDATE SKIP LOCKED LIMIT size`
    on their leads) and queue their send after commit; returns (the leads, every row claimed). A
    batch (rows sharing `batch` and channel) is one message: only its lead (its lowest pending id)
    is looked for, and its claim takes every pending row of the batch with it (claim_batches), so
    the batch is claimed once, whole, and sent by one task."""
    with transaction.atomic():
        leads = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(state=ReminderState.PENDING, due_at__lte=now)
            .exclude(_has_earlier_pending_batch_row())
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[:size]
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
    return leads, ids


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


def _update(reminder: Reminder, **changes: Any) -> int:
    """Conditional on the row still being this claim (state sending, same attempt)."""
    return Reminder.objects.filter(
        pk=reminder.pk, state=ReminderState.SENDING, attempts=reminder.attempts
    ).update(**changes)


# The statement every send ends with, as fixed SQL text on PostgreSQL: compiling the ORM's
# UPDATE cost more CPU than running it (docs/benchmarks.md, item 6). The same condition as
# _update: still this claim.
_RECORD_SENT_SQL = (
    "UPDATE scheduling_reminder SET state = %s, sent_at = %s, provider_message_id = %s,"
    " last_error = '', updated_at = %s WHERE id = %s AND state = %s AND attempts = %s"
)


def record_sent(reminder: Reminder, *, message_id: str, now: dt.datetime) -> None:
    if connection.vendor != "postgresql":
        _update(
            reminder,
            state=ReminderState.SENT,
            sent_at=now,
            provider_message_id=message_id[:200],
            last_error="",
            updated_at=now,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SENT_SQL,
            [
                ReminderState.SENT.value,
                now,
                message_id[:200],
                now,
                reminder.pk,
                ReminderState.SENDING.value,
                reminder.attempts,
            ],
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


def _lock_message(message: Message) -> list[Reminder]:
    """The claimed rows of one message, locked for this transaction: a lone row, or every
    `sending` row of its batch and channel (locked in one statement in id order, so two tasks for
    rows of one batch wait for each other instead of deadlocking, and the second finds nothing
    left to send), re-read with what the send needs. Empty when nothing is `sending` or another
    worker has held it longer than the lock timeout the caller set (SEND_LOCK_TIMEOUT_MS)."""
    try:
        # No savepoint (two round trips per send): a lock timeout ends the caller's transaction,
        # which then writes nothing (the message is "not_claimed").
        # The query's text is compiled once per shape (scheduling.reminders.message_lock).
        with transaction.atomic(savepoint=False):
            return lock_message_rows(message)
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


@contextmanager
def _lock_timeout(ms: int) -> Iterator[None]:
    """A row lock waits at most `ms` for the rest of this chunk (PostgreSQL's lock_timeout for the
    session, reset afterwards): one statement per chunk rather than a SET LOCAL per message."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = %s", [f"{ms}ms"])
    try:
        yield
    finally:
        # A broken connection is closed and replaced anyway (CONN_HEALTH_CHECKS).
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def reminders_send(*, reminder_ids: list[int], now: dt.datetime | None = None) -> dict[int, str]:
    """Send the claimed messages of these leads (a chunk) one after the other, each in its own
    short transaction that locks only that message's rows, re-checks them and records its
    outcome before the next is sent (so a worker killed mid-chunk leaves only unsent messages and
    at most the one in flight `sending`, for recover_stuck; a slow provider holds one message's
    locks at a time, as one task per message did). Returns each lead's new state ("not_claimed"
    when nothing of it is `sending` or another worker holds it; "pending" for messages put back
    unsent because the chunk ran past chunk_seconds()). A permanent error marks its message
    `failed`, the rest of the chunk still goes, and the first such error is raised at the end."""
    now = now or timezone.now()
    deadline = time.monotonic() + chunk_seconds()
    chunk = read_chunk(reminder_ids)
    outcomes = dict.fromkeys(reminder_ids, "not_claimed")
    first_error: Exception | None = None
    with _lock_timeout(SEND_LOCK_TIMEOUT_MS):
        for index, message in enumerate(chunk.messages):
            if time.monotonic() > deadline:
                for put_back in _release(chunk.messages[index:], now=now):
                    outcomes[put_back] = ReminderState.PENDING
                break
            outcomes[message.lead], error = _send_message(message, now, chunk.questionnaires)
            first_error = first_error or error
    if first_error is not None:
        raise first_error
    return outcomes


def chunk_seconds() -> float:
    """How long a chunk keeps taking new messages: a third of REMINDER_SEND_TIMEOUT_SECONDS, so
    a message waiting its turn in a chunk is never old enough for recover_stuck."""
    return settings.REMINDER_SEND_TIMEOUT_SECONDS / 3


def _release(messages_left: list[Message], *, now: dt.datetime) -> list[int]:
    """Put the messages a chunk did not reach back to `pending`, due now, their attempt given
    back, in one statement (rows another worker holds are left to it); returns their leads."""
    same = Q()
    for message in messages_left:
        same |= message.rows
    with transaction.atomic():
        ids = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(same, state=ReminderState.SENDING)
            .values_list("pk", flat=True)
        )
        Reminder.objects.filter(pk__in=ids).update(
            state=ReminderState.PENDING, due_at=now, attempts=F("attempts") - 1, updated_at=now
        )
    logger.warning("reminders %s: chunk out of time, put back to pending", ids)
    return [message.lead for message in messages_left]


def _send_message(
    message: Message,
    now: dt.datetime,
    questionnaires: Mapping[int, str] | None,
) -> tuple[str, Exception | None]:
    """Lock, re-check, send and record one message in one transaction; (its new state, the
    permanent error that failed it or None)."""
    with transaction.atomic():
        rows = _lock_message(message)
        if not rows:
            logger.info(
                "reminder %s: not claimed or being sent elsewhere; nothing to do", message.lead
            )
            return "not_claimed", None
        live = []
        for reminder in rows:
            reason = skip_reason(reminder, now=now, questionnaires=questionnaires)
            if reason is None:
                live.append(reminder)
            else:
                _skip(reminder, reason, now)
        if not live:
            return ReminderState.SKIPPED, None
        if live[0].channel == ReminderChannel.SMS and _quiet(now):
            return _hold_for_quiet_hours(live, now), None
        try:
            message_id = deliver(live, questionnaires=questionnaires)
        except TRANSIENT_ERRORS as error:
            return _record_transient(live, error, now), None
        except Exception as error:
            text = f"{type(error).__name__}: {error}"[:500]
            for reminder in live:
                _update(reminder, state=ReminderState.FAILED, last_error=text, updated_at=now)
            logger.exception("reminder %s failed permanently", _ids(live))
            return ReminderState.FAILED, error
        for reminder in live:
            record_sent(reminder, message_id=message_id, now=now)
        return ReminderState.SENT, None


def reminder_send(*, reminder_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed message (a reminder, or the whole batch the reminder belongs to) and
    record the outcome on every row of it, in the transaction that holds their locks; returns the
    new state (or "not_claimed" when nothing is `sending` or another worker holds it). A row of a
    batch that no longer makes sense is skipped and the message lists the others. A chunk of one
    (reminders_send)."""
    return reminders_send(reminder_ids=[reminder_id], now=now)[reminder_id]


def reminder_chunk_send(*, reminder_ids: list[int], now: dt.datetime | None = None) -> None:
    """A worker's chunk (scheduling.tasks.send_reminders): send it (reminders_send), then, when
    the chunk was full (a backlog is likely), claim more at once (dispatch_due) instead of
    waiting for the next minute's sweep. The drain so goes at the pace workers take chunks."""
    failed: Exception | None = None
    try:
        reminders_send(reminder_ids=reminder_ids, now=now)
    except Exception as error:  # raised below: a failed message must not stop the drain
        failed = error
    if len(reminder_ids) >= settings.REMINDER_CHUNK_SIZE:
        dispatch_due()
    if failed is not None:
        raise failed
