"""The one overlap test for rows with a `start` and an `end`: half-open [start, end) spans.

On PostgreSQL it is written as the exclusion constraints and the span index write it
(`tstzrange("start", "end", '[)') && tstzrange(...)`, migrations 0002, 0010 and 0013), so the
planner answers it from a GiST index and reads only the rows that overlap the window, however
long the clinic's history. `start < end AND end > start` on the B-tree index of `start` is
bounded on one side only: it reads every row that started before the window's end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BigIntegerField, BooleanField, DateTimeField, F, Func, Q, Value
from django.db.models.functions import Cast
from django.db.models.sql.compiler import SQLCompiler


class SpanOverlaps(Func):
    """True when the row's [start, end) overlaps [start, end): one ending at `start` does not."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, start: dt.datetime, end: dt.datetime) -> None:
        super().__init__(
            F("start"),
            F("end"),
            Value(start, output_field=DateTimeField()),
            Value(end, output_field=DateTimeField()),
        )

    def _parts(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[tuple[str, str, str, str], tuple[Any, ...], tuple[Any, ...]]:
        """The four operands' SQL, then the parameters for (start, end, lo, hi) and for the
        generic order (start, hi, end, lo)."""
        compiled = [compiler.compile(expression) for expression in self.get_source_expressions()]
        (start, p_start), (end, p_end), (lo, p_lo), (hi, p_hi) = compiled
        return (
            (start, end, lo, hi),
            (*p_start, *p_end, *p_lo, *p_hi),
            (*p_start, *p_hi, *p_end, *p_lo),
        )

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        (start, end, lo, hi), _, params = self._parts(compiler, connection)
        return f"({start} < {hi} AND {end} > {lo})", params

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        # The same expression as the indexes' (0002, 0010, 0013), or the planner cannot use them.
        (start, end, lo, hi), params, _ = self._parts(compiler, connection)
        return f"tstzrange({start}, {end}, '[)') && tstzrange({lo}, {hi}, '[)')", params


def id_equals(field: str, pk: int) -> Q:
    """`field = pk` with `pk` typed bigint, to filter a window by room, clinician or patient.

    btree_gist's operator classes hold int8 = int8 only; a plain integer parameter makes the
    comparison int8 = int4, which only the B-tree indexes serve. The planner then reads the
    column's whole B-tree index (every appointment that resource ever had) to AND it with the
    window's, instead of taking both conditions from one GiST index."""
    return Q(**{field: Cast(Value(pk), BigIntegerField())})
