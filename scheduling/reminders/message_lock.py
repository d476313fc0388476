"""The reminder drain's per-message lock (scheduling.reminders.dispatch._lock_message) with its
SQL compiled once (issue 18, item 3).

Every message locks its claimed rows with `SELECT ... FOR UPDATE OF` the reminder rows, joined to
what the message is about (select_related), and the rows become model instances the relevance
rules and the renderer read. Compiling that ORM query afresh for every message was the largest
compile cost left in the drain (docs/benchmarks.md, item 6). There are only six shapes (a lone
row or a batch, about an appointment, a patient or a booking request), so each is compiled once
by the ORM itself, with placeholder values where a message's own go (its id, or its batch and
channel), and kept: its text, its parameters and the compiler's map of columns to models. A
message then runs the kept text with its values and builds the instances from the rows with the
ORM's own steps (converters, `Model.from_db`, the select_related populators), so what it gets is
what the queryset would give. Elsewhere (SQLite) the queryset runs as it is.
tests/scheduling/test_message_lock.py holds both paths to the same instances.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.query import get_related_populators

from scheduling.models import Reminder, ReminderState
from scheduling.reminders.chunks import Message

# Placeholder values, found again among the compiled parameters (none can be a real row's).
_ID = -7_316_402_551
_BATCH = uuid.UUID("00000000-0000-4000-8000-00000000beef")
_CHANNEL = "\x1fplaceholder-channel"


def locking_queryset(rows: Q, related: tuple[str, ...]) -> QuerySet[Reminder]:
    """The rows of one message still `sending`, locked, with what the send reads, by id."""
    return (
        Reminder.objects.select_for_update(of=("self",))
        .select_related(*related)
        .filter(rows, state=ReminderState.SENDING)
        .order_by("pk")
    )


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: dict[int, str]  # parameter position -> "id", "batch" or "channel"
    init_list: list[str]
    model_fields: slice
    populators: list[Any]
    converters: list[tuple[int, tuple[list[Any], Any]]]


@cache
def _compiled(related: tuple[str, ...], by_batch: bool) -> _Compiled:
    """One shape compiled by the ORM (inside a transaction: FOR UPDATE needs one)."""
    rows = Q(batch=_BATCH, channel=_CHANNEL) if by_batch else Q(pk=_ID)
    queryset = locking_queryset(rows, related)
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    names = {_ID: "id", _BATCH: "batch", _CHANNEL: "channel"}
    slots = {
        index: names[value]
        for index, value in enumerate(params)
        if isinstance(value, int | str | uuid.UUID) and value in names
    }
    if sorted(slots.values()) != sorted(["batch", "channel"] if by_batch else ["id"]):
        raise AssertionError(f"the lock query's parameters moved: {params!r}")  # pragma: no cover
    klass_info = compiler.klass_info
    select = compiler.select
    first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    fields = [column[0] for column in select[0 : compiler.col_count]]
    return _Compiled(
        sql=sql,
        params=tuple(params),
        slots=slots,
        init_list=[column[0].target.attname for column in select[first:last]],
        model_fields=slice(first, last),
        populators=get_related_populators(klass_info, select, queryset.db),  # type: ignore[call-arg]
        converters=list(compiler.get_converters(fields).items()),
    )


def lock_message_rows(message: Message) -> list[Reminder]:
    """`message`'s rows still `sending`, locked for the caller's transaction, by id, with the
    relations its send reads. Raises what the query raises (a lock timeout included)."""
    if connection.vendor != "postgresql":
        return list(locking_queryset(message.rows, message.related))
    compiled = _compiled(message.related, message.batch is not None)
    values = {"id": message.lead, "batch": message.batch, "channel": message.channel}
    params = [
        values[compiled.slots[index]] if index in compiled.slots else value
        for index, value in enumerate(compiled.params)
    ]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        fetched = cursor.fetchall()
    found = []
    for fetched_row in fetched:
        row = list(fetched_row)
        for position, (converters, expression) in compiled.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        reminder = Reminder.from_db(
            connection.alias, compiled.init_list, row[compiled.model_fields]
        )
        for populator in compiled.populators:
            populator.populate(row, reminder)
        found.append(reminder)
    return found
