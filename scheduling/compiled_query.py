"""ORM queries compiled once per shape and run again with new values (issue 18).

The hot paths (a booking's locks, the reminder drain's per-message lock) run the same few
queries over and over with different ids; compiling them through the ORM each time cost more
CPU than PostgreSQL spent running them (docs/benchmarks.md, items 4 and 6). Here the ORM
compiles a shape once, with placeholder values (`slot`) where a call's own values go; the text,
the parameters and the compiler's map of columns to models are kept. A call runs the kept text
with its values put in the placeholders' places and builds the instances from the rows with the
ORM's own steps (the field converters, `Model.from_db`, the select_related populators and the
annotations), so it gets what the queryset would give. The tests of each user hold the kept
path equal to the queryset (the path SQLite takes).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

_EPOCH = dt.datetime(1901, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


def slot(name: str, kind: type) -> Any:
    """A placeholder for the value named `name`: one no real row has, of the type the ORM
    passes through unchanged (an id, a text, a UUID or an aware datetime)."""
    number = sum(ord(char) * 31**index for index, char in enumerate(name)) % 1_000_003
    if kind is int:
        return -7_316_402_551_000 - number
    if kind is str:
        return f"\x1fplaceholder:{name}"
    if kind is uuid.UUID:
        return uuid.UUID(int=0xBEEF_0000_0000 + number)
    if kind is dt.datetime:
        return _EPOCH + dt.timedelta(seconds=number)
    raise TypeError(kind)  # pragma: no cover


@dataclass(frozen=True)
class Compiled:
    model: type[Model]
    sql: str
    params: tuple[Any, ...]
    slots: dict[int, str]  # parameter position -> the name of the value that goes there
    init_list: list[str]
    model_fields: slice
    populators: list[Any]
    converters: list[tuple[int, tuple[list[Any], Any]]]
    annotations: list[tuple[str, int]]


def compile_queryset(queryset: QuerySet[Any], slots: dict[str, Any]) -> Compiled:
    """Compile `queryset`, built with the placeholders `slots` (name -> slot(...)) for the
    values that change; every placeholder must be found among the parameters. Call inside a
    transaction when the queryset locks (FOR UPDATE needs one)."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    names = {value: name for name, value in slots.items()}
    positions = {
        index: names[value]
        for index, value in enumerate(params)
        if isinstance(value, int | str | uuid.UUID | dt.datetime) and value in names
    }
    if set(positions.values()) != set(slots):
        raise AssertionError(f"placeholders not found among {params!r}")  # pragma: no cover
    klass_info = compiler.klass_info
    select = compiler.select
    first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    fields = [column[0] for column in select[0 : compiler.col_count]]
    return Compiled(
        model=queryset.model,
        sql=sql,
        params=tuple(params),
        slots=positions,
        init_list=[column[0].target.attname for column in select[first:last]],
        model_fields=slice(first, last),
        populators=get_related_populators(klass_info, select, queryset.db),  # type: ignore[call-arg]
        converters=list(compiler.get_converters(fields).items()),
        annotations=list(compiler.annotation_col_map.items()),
    )


def run(compiled: Compiled, values: dict[str, Any]) -> list[Any]:
    """The kept query with `values` (name -> value) in its placeholders' places, as instances."""
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
        obj = compiled.model.from_db(
            connection.alias, compiled.init_list, row[compiled.model_fields]
        )
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, position in compiled.annotations:
            setattr(obj, name, row[position])
        found.append(obj)
    return found
