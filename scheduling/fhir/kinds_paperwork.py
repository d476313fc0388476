"""The paperwork's served types (scheduling.fhir.paperwork_resources): Consent and
DocumentReference (read, search, bulk export) and Binary (read by id only: not searchable, and
outside the Patient compartment and the bulk export, as FHIR has it; the DocumentReferences
point at it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from intake.paperwork_models import DocumentKind
from scheduling.fhir import codes, ids
from scheduling.fhir import paperwork_resources as paperwork
from scheduling.fhir.errors import FhirError, bad_request
from scheduling.fhir.kinds import (
    EXPORT_BATCH,
    Found,
    Kind,
    MultiKind,
    Page,
    Query,
    RowKind,
    SearchParam,
    date_param,
    last_updated,
    patient_reference,
)
from scheduling.fhir.resources import all_of
from scheduling.fhir.search import token_parts

CONSENT_STATUSES = ("draft", "proposed", "active", "rejected", "inactive", "entered-in-error")
DOCUMENT_STATUSES = ("current", "superseded", "entered-in-error")


def _codes(name: str, values: list[str], allowed: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    for value in values:
        for code in value.split(","):
            if code not in allowed:
                raise bad_request(f"{name}: '{code[:40]}' is not one of {', '.join(allowed)}")
            found.add(code)
    return found


def _consent_status(values: list[str]) -> Q:
    wanted = _codes("status", values, CONSENT_STATUSES)
    condition = Q(pk__in=[])
    if "active" in wanted:
        condition |= Q(superseded_at__isnull=True)
    if "inactive" in wanted:
        condition |= Q(superseded_at__isnull=False)
    return condition


def _document_status(values: list[str]) -> Q:
    wanted = _codes("status", values, DOCUMENT_STATUSES)
    condition = Q(pk__in=[])
    if "current" in wanted:
        condition |= Q(removed_at__isnull=True)
    if "entered-in-error" in wanted:
        condition |= Q(removed_at__isnull=False)
    return condition


def _signed_form_status(values: list[str]) -> Q:
    wanted = _codes("status", values, DOCUMENT_STATUSES)
    return Q() if "current" in wanted else Q(pk__in=[])


def _tokens(values: list[str]) -> list[tuple[str | None, str]]:
    """`[system|]code` tokens, comma separated; a bare code matches any system."""
    return [part for value in values for part in token_parts("type", value)]


def _matches(token: tuple[str | None, str], code: codes.Code | tuple[str, str]) -> bool:
    system, value = (code.system, code.code) if isinstance(code, codes.Code) else code
    return token[1] == value and token[0] in (None, system)


def _document_type(values: list[str]) -> Q:
    tokens = _tokens(values)
    kinds = {
        kind
        for kind in DocumentKind.values
        for token in tokens
        if _matches(token, (codes.DOCUMENT_KIND_SYSTEM, kind))
        or (kind in paperwork.DOCUMENT_LOINC and _matches(token, paperwork.DOCUMENT_LOINC[kind]))
    }
    return Q(kind__in=sorted(kinds))


def _signed_form_type(values: list[str]) -> Q:
    own = (codes.DOCUMENT_KIND_SYSTEM, codes.SIGNED_FORM_KIND)
    hit = any(
        _matches(token, own) or _matches(token, codes.CONSENT_DOCUMENT) for token in _tokens(values)
    )
    return Q() if hit else Q(pk__in=[])


def _type_param(condition: Any) -> SearchParam:
    return SearchParam(
        "type",
        "token",
        "The document's type: LOINC (57133-1, 59284-0) or Propel's document-kind code, "
        "[system|]code, comma separated",
        condition,
    )


def _status_param(condition: Any, codes_doc: str) -> SearchParam:
    return SearchParam("status", "token", codes_doc, condition)


CONSENT = RowKind(
    type="Consent",
    queryset=paperwork.consent_rows,
    build=lambda rows: all_of(paperwork.consents, rows),
    patient_id=lambda row: row.patient_id,
    params=(
        patient_reference(),
        date_param("signed_at", "When the form was signed (prefixes eq, gt, lt, ge, le)"),
        _status_param(_consent_status, "active (the signature counts) or inactive (superseded)"),
        last_updated("changed_at"),
    ),
    order=("signed_at", "pk"),
    since_field="changed_at",
)

DOCUMENT_STATUS_DOC = "current, or entered-in-error for a document set aside by staff"

UPLOADED_DOCUMENTS = RowKind(
    type="DocumentReference",
    key=paperwork.DOCUMENT_REFERENCE_KEYS["document"],
    queryset=paperwork.document_rows,
    build=lambda rows: all_of(paperwork.document_references, rows),
    patient_id=lambda row: row.patient_id,
    params=(
        patient_reference(),
        date_param("uploaded_at", "When the document was uploaded or the form signed"),
        _type_param(_document_type),
        _status_param(_document_status, DOCUMENT_STATUS_DOC),
        last_updated("changed_at"),
    ),
    order=("uploaded_at", "pk"),
    since_field="changed_at",
)

SIGNED_FORMS = RowKind(
    type="DocumentReference",
    key=paperwork.DOCUMENT_REFERENCE_KEYS["signed_form"],
    queryset=paperwork.signed_form_rows,
    build=lambda rows: all_of(paperwork.signed_form_references, rows),
    patient_id=lambda row: row.patient_id,
    params=(
        patient_reference(),
        date_param("signed_at", "When the document was uploaded or the form signed"),
        _type_param(_signed_form_type),
        _status_param(_signed_form_status, DOCUMENT_STATUS_DOC),
        last_updated("signed_at"),
    ),
    order=("signed_at", "pk"),
    since_field="signed_at",
)

DOCUMENT_REFERENCE = MultiKind(
    type="DocumentReference",
    sources=(SIGNED_FORMS, UPLOADED_DOCUMENTS),
    description="Signed consent forms (the PDF of each signature), then uploaded documents",
)

UPLOADED_BINARIES = RowKind(
    type="Binary",
    key=paperwork.BINARY_KEYS["document"],
    queryset=paperwork.document_rows,
    build=lambda rows: all_of(paperwork.document_binaries, rows),
    patient_id=lambda row: row.patient_id,
    patient_field=None,
    interactions=("read",),
)

SIGNED_FORM_BINARIES = RowKind(
    type="Binary",
    key=paperwork.BINARY_KEYS["signed_form"],
    queryset=paperwork.signed_form_rows,
    build=lambda rows: all_of(paperwork.signed_form_binaries, rows),
    patient_id=lambda row: row.patient_id,
    patient_field=None,
    interactions=("read",),
)

BINARY_SOURCES = (SIGNED_FORM_BINARIES, UPLOADED_BINARIES)


@dataclass(frozen=True)
class BinaryKind:
    """Binary: read by id only. Not searched and not exported (the file is what the
    DocumentReference's attachment URL gives)."""

    type: str = "Binary"
    params: tuple[SearchParam, ...] = ()
    interactions: tuple[str, ...] = ("read",)
    in_patient_compartment: bool = False
    description: str = "A stored file: an upload or a signed form's PDF"

    def _located(self, fhir_id: str) -> tuple[RowKind, int] | None:
        found = ids.resolve_any(fhir_id, [source.id_key for source in BINARY_SOURCES])
        if found is None:
            return None
        key, pk = found
        return next(s for s in BINARY_SOURCES if s.id_key == key), pk

    def row(self, fhir_id: str) -> Any | None:
        """The upload or signature behind a Binary id (one query to resolve, one to read)."""
        located = self._located(fhir_id)
        return located[0].queryset().filter(pk=located[1]).first() if located else None

    def read(self, fhir_id: str) -> Found | None:
        located = self._located(fhir_id)
        return located[0].read_pk(located[1]) if located else None

    def search(self, query: Query, offset: int, count: int) -> Page:
        raise FhirError(405, "not-supported", "Binary is read by id only")

    def export(
        self,
        *,
        since: dt.datetime | None = None,
        patient_pks: list[int] | None = None,
        batch: int = EXPORT_BATCH,
    ) -> Iterator[Found]:
        return iter(())


BINARY = BinaryKind()

KINDS: tuple[Kind, ...] = (CONSENT, DOCUMENT_REFERENCE, BINARY)
