"""The reminder drain's per-message lock (scheduling.reminders.dispatch._lock_message) with its
SQL compiled once per shape (issue 18, item 3; scheduling.compiled_query).

Every message locks its claimed rows with `SELECT ... FOR UPDATE OF` the reminder rows, joined to
what the message is about (select_related), and the rows become model instances the relevance
rules and the renderer read. Compiling that query afresh for every message was the largest
compile cost left in the drain (docs/benchmarks.md, item 6). There are six shapes (a lone row or
a batch, about an appointment, a patient or a booking request); each is compiled once, and a
message runs the kept text with its id, or its batch and channel. Elsewhere (SQLite) the
queryset runs as it is. tests/scheduling/test_message_lock.py holds both paths to the same
instances.
"""

from __future__ import annotations

import uuid
from functools import cache

from django.db import connection
from django.db.models import Q, QuerySet

from scheduling.compiled_query import Compiled, compile_queryset, run, slot
from scheduling.models import Reminder, ReminderState
from scheduling.reminders.chunks import Message

_ID = slot("id", int)
_BATCH = slot("batch", uuid.UUID)
_CHANNEL = slot("channel", str)


def locking_queryset(rows: Q, related: tuple[str, ...]) -> QuerySet[Reminder]:
    """The rows of one message still `sending`, locked, with what the send reads, by id."""
    return (
        Reminder.objects.select_for_update(of=("self",))
        .select_related(*related)
        .filter(rows, state=ReminderState.SENDING)
        .order_by("pk")
    )


@cache
def _compiled(related: tuple[str, ...], by_batch: bool) -> Compiled:
    if by_batch:
        rows, slots = Q(batch=_BATCH, channel=_CHANNEL), {"batch": _BATCH, "channel": _CHANNEL}
    else:
        rows, slots = Q(pk=_ID), {"id": _ID}
    return compile_queryset(locking_queryset(rows, related), slots)


def lock_message_rows(message: Message) -> list[Reminder]:
    """`message`'s rows still `sending`, locked for the caller's transaction, by id, with the
    relations its send reads. Raises what the query raises (a lock timeout included)."""
    if connection.vendor != "postgresql":
        return list(locking_queryset(message.rows, message.related))
    if message.batch is not None:
        values = {"batch": message.batch, "channel": message.channel}
    else:
        values = {"id": message.lead}
    return run(_compiled(message.related, message.batch is not None), values)
