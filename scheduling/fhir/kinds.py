"""What one served FHIR resource type can do: read by id, search a page, export everything.

Two shapes cover every type:

- `RowKind`: one Propel row -> one resource (Patient, Appointment, Flag, ...). Its FhirId key is
  `key` (the resource type unless the type has several kinds of rows).
- `MultiKind`: one resource type built from several `RowKind` sources, each one row -> one
  resource (Observation: a PHQ-9 total, a GAD-7 total, a blood pressure reading...). Read tries
  every source's key in one query; search pages across the sources in order, with at most one
  count query per source skipped over, so its query count does not grow with the results.

`registry.REGISTRY` lists the kinds; the views, the CapabilityStatement, the admin's scopes and
the bulk export all read it, so what is listed is what is served.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db.models import Q, QuerySet

from scheduling.fhir import ids
from scheduling.fhir.errors import bad_request
from scheduling.fhir.search import date_filter, single

# A page of rows -> their resources as JSON dicts, one per row and in order, validated, in a
# constant number of queries whatever the page's length.
Builder = Callable[[list[Any]], list[dict[str, Any]]]
Query = dict[str, list[str]]

EXPORT_BATCH = 500


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # the FHIR search parameter type: date, token, reference, string
    documentation: str
    condition: Callable[[list[str]], Q]


@dataclass(frozen=True)
class Found:
    """Resources and the ids of the patients they are about (the audit's "touched")."""

    resources: list[dict[str, Any]]
    patient_ids: list[int]


@dataclass(frozen=True)
class Page:
    found: Found
    has_next: bool


def last_updated(field_name: str = "updated_at") -> SearchParam:
    return SearchParam(
        "_lastUpdated",
        "date",
        "When the resource last changed (prefixes eq, gt, lt, ge, le; clinic time for bare dates)",
        lambda values: date_filter(field_name, "_lastUpdated", values),
    )


def patient_reference(field_name: str = "patient_id") -> SearchParam:
    """`patient=<Patient id>` or `patient=Patient/<id>`; an unknown patient matches nothing."""

    def condition(values: list[str]) -> Q:
        value = single("patient", values).removeprefix("Patient/")
        pk = ids.resolve("Patient", value)
        return Q(**{field_name: pk}) if pk is not None else Q(pk__in=[])

    return SearchParam(
        "patient", "reference", "The patient's Patient id (or Patient/<id>)", condition
    )


def date_param(field_name: str, documentation: str) -> SearchParam:
    return SearchParam(
        "date", "date", documentation, lambda values: date_filter(field_name, "date", values)
    )


class Kind(Protocol):
    """What the views, the CapabilityStatement and the bulk export ask of a served type."""

    @property
    def type(self) -> str: ...

    @property
    def params(self) -> tuple[SearchParam, ...]: ...

    @property
    def interactions(self) -> tuple[str, ...]: ...  # "read", "search-type"

    @property
    def in_patient_compartment(self) -> bool: ...

    def read(self, fhir_id: str) -> Found | None: ...

    def search(self, query: Query, offset: int, count: int) -> Page: ...

    def export(
        self,
        *,
        since: dt.datetime | None = None,
        patient_pks: list[int] | None = None,
        batch: int = EXPORT_BATCH,
    ) -> Iterator[Found]: ...


SEARCHABLE = ("read", "search-type")


@dataclass(frozen=True)
class RowKind:
    type: str
    queryset: Callable[[], QuerySet[Any]]
    build: Builder
    # The patient a row is about, or None (a Practitioner, a Location).
    patient_id: Callable[[Any], int | None]
    params: tuple[SearchParam, ...] = ()
    order: tuple[str, ...] = ("pk",)
    key: str = ""  # the FhirId key; "" means the resource type
    # For the bulk export: the field `_since` compares (None: every row is exported whatever
    # _since), and the lookup to the patient (None: not in the Patient compartment, so left out
    # of a patient-level export).
    since_field: str | None = "updated_at"
    patient_field: str | None = "patient_id"
    description: str = ""
    interactions: tuple[str, ...] = SEARCHABLE

    @property
    def id_key(self) -> str:
        return self.key or self.type

    @property
    def in_patient_compartment(self) -> bool:
        return self.patient_field is not None

    def param(self, name: str) -> SearchParam | None:
        return next((p for p in self.params if p.name == name), None)

    def _found(self, rows: list[Any]) -> Found:
        resources = self.build(rows)
        touched = [pk for pk in (self.patient_id(row) for row in rows) if pk is not None]
        return Found(resources, touched)

    def read_pk(self, pk: int) -> Found | None:
        row = self.queryset().filter(pk=pk).first()
        return self._found([row]) if row is not None else None

    def read(self, fhir_id: str) -> Found | None:
        pk = ids.resolve(self.id_key, fhir_id)
        return self.read_pk(pk) if pk is not None else None

    def filtered(self, query: Query) -> QuerySet[Any]:
        """The rows matching every search parameter; an unsupported one is a 400."""
        rows = self.queryset()
        for name, values in query.items():
            param = self.param(name)
            if param is None:
                raise bad_request(f"the search parameter '{name[:40]}' is not supported")
            rows = rows.filter(param.condition(values))
        return rows.order_by(*self.order)

    def rows_page(self, query: Query, offset: int, count: int) -> list[Any]:
        return list(self.filtered(query)[offset : offset + count])

    def search(self, query: Query, offset: int, count: int) -> Page:
        rows = self.rows_page(query, offset, count + 1)
        return Page(self._found(rows[:count]), len(rows) > count)

    def export_rows(
        self, *, since: dt.datetime | None, patient_pks: list[int] | None
    ) -> QuerySet[Any] | None:
        """The rows a bulk export writes; None when this kind has no place in it (a
        patient-level export of a type outside the Patient compartment)."""
        rows = self.queryset()
        if patient_pks is not None:
            if self.patient_field is None:
                return None
            rows = rows.filter(**{f"{self.patient_field}__in": patient_pks})
        if since is not None and self.since_field is not None:
            rows = rows.filter(**{f"{self.since_field}__gte": since})
        return rows

    def export(
        self,
        *,
        since: dt.datetime | None = None,
        patient_pks: list[int] | None = None,
        batch: int = EXPORT_BATCH,
    ) -> Iterator[Found]:
        """Every matching resource, a batch at a time in pk order (keyset paging: each batch
        is one bounded query however far the export has gone)."""
        rows = self.export_rows(since=since, patient_pks=patient_pks)
        if rows is None:
            return
        last = 0
        while True:
            chunk = list(rows.filter(pk__gt=last).order_by("pk")[:batch])
            if not chunk:
                return
            yield self._found(chunk)
            last = chunk[-1].pk


@dataclass(frozen=True)
class MultiKind:
    """One resource type from several sources; every source serves the same parameter names."""

    type: str
    sources: tuple[RowKind, ...]
    description: str = ""
    interactions: tuple[str, ...] = SEARCHABLE
    params: tuple[SearchParam, ...] = field(init=False)

    def __post_init__(self) -> None:
        first = self.sources[0].params
        for source in self.sources[1:]:
            if [p.name for p in source.params] != [p.name for p in first]:
                raise ValueError(f"{self.type}: every source must serve the same parameters")
        object.__setattr__(self, "params", first)

    @property
    def in_patient_compartment(self) -> bool:
        return any(source.in_patient_compartment for source in self.sources)

    def param(self, name: str) -> SearchParam | None:
        return self.sources[0].param(name)

    def read(self, fhir_id: str) -> Found | None:
        found = ids.resolve_any(fhir_id, [source.id_key for source in self.sources])
        if found is None:
            return None
        key, pk = found
        source = next(s for s in self.sources if s.id_key == key)
        return source.read_pk(pk)

    def search(self, query: Query, offset: int, count: int) -> Page:
        need = count + 1
        picked: list[tuple[RowKind, list[Any]]] = []
        for source in self.sources:
            if need <= 0:
                break
            rows = source.filtered(query)
            if offset:
                total = rows.count()
                if total <= offset:
                    offset -= total
                    continue
            chunk = list(rows[offset : offset + need])
            offset = 0
            if chunk:
                picked.append((source, chunk))
                need -= len(chunk)
        has_next = need <= 0
        resources: list[dict[str, Any]] = []
        touched: list[int] = []
        left = count
        for source, chunk in picked:
            found = source._found(chunk[:left])
            resources += found.resources
            touched += found.patient_ids
            left -= len(chunk[:left])
        return Page(Found(resources, touched), has_next)

    def export(
        self,
        *,
        since: dt.datetime | None = None,
        patient_pks: list[int] | None = None,
        batch: int = EXPORT_BATCH,
    ) -> Iterator[Found]:
        for source in self.sources:
            yield from source.export(since=since, patient_pks=patient_pks, batch=batch)
