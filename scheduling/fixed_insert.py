"""A booking's multi-row INSERTs as fixed SQL text on PostgreSQL (issue 18).

`bulk_create` compiles its INSERT afresh every time and prepares every value through its field
(for a course of 8: some 60 reminder rows, each a model instance first), which was about a third
of a course booking's CPU (docs/benchmarks.md, item 4). Here the text for a model and a number
of rows is written once and kept; values go to psycopg as they are, except for the few field
types that need the field's own preparation (JSON). Every concrete column is written: what a
row does not give takes the field's default, `auto_now`/`auto_now_add` columns the time of the
insert, as `save()` would. Elsewhere (SQLite, the demo) `bulk_create` does it.
tests/scheduling/test_fixed_insert.py holds both paths to the same rows.

Constraint refusals arrive as django.db.IntegrityError with psycopg's error as their cause, as
from the ORM (scheduling.resources.error_from_constraint reads its constraint name).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
    UUIDField,
)
from django.utils import timezone

# Field types whose Python values psycopg takes as they are (DateField covers DateTimeField:
# every caller passes aware datetimes, as USE_TZ requires).
PASS_THROUGH = (BooleanField, CharField, DateField, ForeignKey, IntegerField, TextField, UUIDField)


def _stamped(field: Field[Any, Any]) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


@cache
def _columns(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    return tuple(field for field in model._meta.concrete_fields if not field.primary_key)


@cache
def _sql(model: type[Model], rows: int) -> str:
    fields = _columns(model)
    names = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(str(model._meta.pk.column))
    # Names from the model's own metadata, quoted; the values are parameters.
    return f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * rows)} RETURNING {pk}"  # noqa: S608


def _preparer(field: Field[Any, Any]) -> Callable[[Any], Any] | None:
    if isinstance(field, PASS_THROUGH):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


@cache
def _preparers(model: type[Model]) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(_preparer(field) for field in _columns(model))


def insert_rows(model: type[Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """INSERT `rows` (each a dict by field attname: `appointment_id`, `kind`...) of `model` in
    one statement; their new ids, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return [
            obj.pk for obj in model._default_manager.bulk_create([model(**row) for row in rows])
        ]
    now = timezone.now()
    fields = _columns(model)
    preparers = _preparers(model)
    params: list[Any] = []
    for row in rows:
        for field, prepare in zip(fields, preparers, strict=True):
            if field.attname in row:
                value = row[field.attname]
            elif _stamped(field):
                value = now
            else:
                value = field.get_default()
            params.append(value if prepare is None else prepare(value))
    with connection.cursor() as cursor:
        cursor.execute(_sql(model, len(rows)), params)
        return [pk for (pk,) in cursor.fetchall()]


def insert_instances(objs: Sequence[Model]) -> None:
    """INSERT unsaved model instances (all of one model) in one statement, as `bulk_create`
    does: each gets its id and counts as saved."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    now = timezone.now()
    for obj in objs:
        for field in _columns(model):
            if _stamped(field):
                setattr(obj, field.attname, now)
    ids = insert_rows(
        model,
        [{field.attname: getattr(obj, field.attname) for field in _columns(model)} for obj in objs],
    )
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
