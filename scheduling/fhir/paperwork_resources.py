"""Consent, DocumentReference and Binary built from what is on file (issue 21's paperwork):
the patient's consent signatures, the PDF Propel writes of each, and the documents uploaded by the
patient, staff or a referring office (docs/fhir.md, "Paperwork").

- Consent, one per ConsentSignature: active while the signature counts (intake.consent_versions:
  no later version in force asks patients to sign again), inactive once one does. Its source is
  the DocumentReference of what was signed: the scan for a paper signature, else the signed PDF.
- DocumentReference, one per PatientDocument of a patient (a referral's letter before the
  referral became a patient is about nobody yet, so it is not served) and one per signature's PDF.
  A document set aside by staff ("a wrong upload", never deleted) is entered-in-error, with the
  reason in an extension.
- Binary, one per stored file, read by id only: its content is the file, base64 in JSON.

As in scheduling.fhir.resources, builders take rows read by the `*_rows` querysets here and cost a
constant number of queries per page. The consent rows carry two computed columns, the moment the
signature stopped counting and its last change, so status, `_lastUpdated` and the bulk export's
`_since` all agree without a query per row.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    DateTimeField,
    F,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.binary import Binary as FhirBinary
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.documentreference import DocumentReference as FhirDocumentReference

from intake.paperwork_models import (
    ConsentFormKind,
    ConsentFormVersion,
    ConsentSignature,
    DocumentKind,
    PatientDocument,
    SignatureMethod,
)
from scheduling.fhir import codes
from scheduling.fhir.errors import FhirError
from scheduling.fhir.ids import fhir_ids
from scheduling.fhir.resources import (
    PATIENT,
    PROPEL_EXTENSION_BASE,
    _coding,
    _concept,
    _in_english,
    _ref,
    clinic_organization_id,
)
from scheduling.slots import clinic_tz

logger = logging.getLogger(__name__)

# FhirId keys: a DocumentReference or a Binary comes from an upload or from a signature's PDF.
CONSENT = "Consent"
DOCUMENT_REFERENCE_KEYS = {
    "document": "DocumentReference.document",
    "signed_form": "DocumentReference.signed_form",
}
BINARY_KEYS = {"document": "Binary.document", "signed_form": "Binary.signed_form"}

SHA256_EXTENSION = f"{PROPEL_EXTENSION_BASE}/attachment-sha256"
TEXT_SHA256_EXTENSION = f"{PROPEL_EXTENSION_BASE}/consent-text-sha256"
SIGNATURE_METHOD_EXTENSION = f"{PROPEL_EXTENSION_BASE}/consent-signature-method"
SET_ASIDE_EXTENSION = f"{PROPEL_EXTENSION_BASE}/document-set-aside-reason"
# The clinic's form and version a patient signed, as Consent.policy.uri (required: a Consent
# names a policy or a policy rule).
CONSENT_FORM_POLICY_BASE = "https://propel.clinic/fhir/consent-form"

# Consent.scope is 1..1 from a required four-code binding. Treatment consent is "treatment"; the
# privacy notice's acknowledgement and the consent to electronic records are agreements about the
# patient's information ("patient-privacy"); the financial policy is part of the terms on which
# treatment is given, so "treatment". Consent.category names the exact form (Propel's code).
CONSENT_SCOPES: dict[str, codes.Code] = {
    ConsentFormKind.TREATMENT: codes.SCOPE_TREATMENT,
    ConsentFormKind.FINANCIAL: codes.SCOPE_TREATMENT,
    ConsentFormKind.PRIVACY: codes.SCOPE_PRIVACY,
    ConsentFormKind.ELECTRONIC: codes.SCOPE_PRIVACY,
}
# DocumentReference.type: LOINC where a document code was confirmed (codes.py), and always
# Propel's own document-kind code.
DOCUMENT_LOINC: dict[str, codes.Code] = {
    DocumentKind.REFERRAL: codes.REFERRAL_NOTE,
    DocumentKind.PAPER_CONSENT: codes.CONSENT_DOCUMENT,
}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=clinic_tz())


# --- Consent: whose signature still counts -----------------------------------------------------


def superseded_at(today: dt.date) -> dict[int, dt.datetime]:
    """version pk -> when signatures of that version stopped counting: the first later version of
    the same form that asks patients to sign again (resign_required) took effect (its effective
    date in clinic time, or its publication if later). Versions still counted are absent. The
    same rule as intake.consent_versions.minimum_numbers; one query (the versions are few)."""
    versions = sorted(
        ConsentFormVersion.objects.values_list(
            "pk", "form_id", "number", "resign_required", "effective_date", "created_at"
        ),
        key=lambda v: (v[1], v[2]),
    )
    found: dict[int, dt.datetime] = {}
    for pk, form_id, number, *_rest in versions:
        later = [
            max(created_at, _midnight(effective))
            for _pk, form, n, resign, effective, created_at in versions
            if form == form_id and n > number and resign and effective <= today
        ]
        if later:
            found[pk] = min(later)
    return found


def consent_rows(queryset: QuerySet[ConsentSignature] | None = None) -> QuerySet[ConsentSignature]:
    """Signatures with their version and form (one query), and two computed columns:
    `superseded_at` (None while the signature counts) and `changed_at` (meta.lastUpdated, what
    _lastUpdated and _since compare: the latest of the signing, its recording (a paper form is
    recorded after the date written on it) and the superseding)."""
    rows = ConsentSignature.objects.all() if queryset is None else queryset
    flips = superseded_at(timezone.localdate())
    superseded = Case(
        *[When(version_id=pk, then=Value(at)) for pk, at in flips.items()],
        default=None,
        output_field=DateTimeField(),
    )
    return rows.select_related("version__form").annotate(
        superseded_at=superseded,
        changed_at=Greatest(F("signed_at"), F("recorded_at"), Coalesce(superseded, F("signed_at"))),
    )


def _binary_url(binary_id: str) -> str:
    return f"{settings.SITE_URL}{reverse('fhir:binary', kwargs={'fhir_id': binary_id})}"


def _sha256(hex_digest: str) -> dict[str, str]:
    return {"url": SHA256_EXTENSION, "valueString": hex_digest}


@_in_english
def consents(rows: Sequence[ConsentSignature]) -> list[FhirConsent]:
    """Rows from `consent_rows`. Ids: the consents, their patients, and the DocumentReferences
    they point at (the signed PDFs, the paper scans): four batches whatever the page's length."""
    ids = fhir_ids(CONSENT, [row.pk for row in rows])
    patient_ids = fhir_ids(PATIENT, {row.patient_id for row in rows})
    pdf_ids = fhir_ids(
        DOCUMENT_REFERENCE_KEYS["signed_form"], [r.pk for r in rows if not r.paper_document_id]
    )
    scan_ids = fhir_ids(
        DOCUMENT_REFERENCE_KEYS["document"],
        [r.paper_document_id for r in rows if r.paper_document_id],
    )
    clinic = clinic_organization_id()
    built = []
    for row in rows:
        computed: Any = row  # consent_rows' columns
        version = row.version
        form = version.form
        patient = _ref("Patient", patient_ids[row.patient_id])
        categories = [_concept(codes.CONSENT_DOCUMENT)]
        if form.kind == ConsentFormKind.PRIVACY:
            categories.append(_concept(codes.CATEGORY_NPP))
        categories.append(
            {
                "coding": [
                    {
                        "system": codes.CONSENT_FORM_SYSTEM,
                        "code": form.kind,
                        "display": str(ConsentFormKind(form.kind).label),
                    }
                ],
                "text": form.title,
            }
        )
        if row.paper_document_id:
            source = _ref("DocumentReference", scan_ids[row.paper_document_id])
        else:
            source = _ref("DocumentReference", pdf_ids[row.pk])
        built.append(
            FhirConsent.model_validate(
                {
                    "id": ids[row.pk],
                    "meta": {"lastUpdated": computed.changed_at},
                    "status": "inactive" if computed.superseded_at is not None else "active",
                    "scope": _concept(CONSENT_SCOPES[form.kind]),
                    "category": categories,
                    "patient": patient,
                    "dateTime": row.signed_at,
                    "performer": [patient],
                    "organization": [_ref("Organization", clinic, settings.CLINIC_NAME)],
                    "sourceReference": source,
                    "policy": [
                        {"uri": f"{CONSENT_FORM_POLICY_BASE}/{form.kind}/v{version.number}"}
                    ],
                    "provision": {"type": "permit", "period": {"start": row.signed_at}},
                    "extension": [
                        {"url": TEXT_SHA256_EXTENSION, "valueString": row.text_sha256},
                        {"url": SIGNATURE_METHOD_EXTENSION, "valueCode": row.method},
                    ],
                }
            )
        )
    return built


# --- DocumentReference -------------------------------------------------------------------------


def document_rows(queryset: QuerySet[PatientDocument] | None = None) -> QuerySet[PatientDocument]:
    """A patient's documents (a referral's letter not yet a patient's is left out), with
    `changed_at` (meta.lastUpdated: the upload, or the setting aside when later)."""
    rows = PatientDocument.objects.all() if queryset is None else queryset
    return rows.filter(patient__isnull=False).annotate(
        changed_at=Greatest(F("uploaded_at"), Coalesce(F("removed_at"), F("uploaded_at")))
    )


def _document_type(kind: str) -> dict[str, Any]:
    coding = [_coding(DOCUMENT_LOINC[kind])] if kind in DOCUMENT_LOINC else []
    label = str(DocumentKind(kind).label)
    coding.append({"system": codes.DOCUMENT_KIND_SYSTEM, "code": kind, "display": label})
    return {"coding": coding, "text": label}


@_in_english
def document_references(rows: Sequence[PatientDocument]) -> list[FhirDocumentReference]:
    """Rows from `document_rows`: status current, or entered-in-error when set aside."""
    ids = fhir_ids(DOCUMENT_REFERENCE_KEYS["document"], [row.pk for row in rows])
    binary_ids = fhir_ids(BINARY_KEYS["document"], [row.pk for row in rows])
    patient_ids = fhir_ids(PATIENT, {row.patient_id for row in rows if row.patient_id})
    clinic = clinic_organization_id()
    built = []
    for row in rows:
        assert row.patient_id is not None  # document_rows serves patients' documents only
        computed: Any = row  # document_rows' column
        label = str(DocumentKind(row.kind).label)
        data: dict[str, Any] = {
            "id": ids[row.pk],
            "meta": {"lastUpdated": computed.changed_at},
            "status": "entered-in-error" if row.removed_at else "current",
            "docStatus": "final",
            "type": _document_type(row.kind),
            "subject": _ref("Patient", patient_ids[row.patient_id]),
            "date": row.uploaded_at,
            "custodian": _ref("Organization", clinic, settings.CLINIC_NAME),
            "description": label,
            "content": [
                {
                    "attachment": {
                        "contentType": row.content_type,
                        "url": _binary_url(binary_ids[row.pk]),
                        "size": row.size,
                        "title": label,
                        "creation": row.uploaded_at,
                        "extension": [_sha256(row.sha256)],
                    }
                }
            ],
        }
        if row.removed_at and row.removed_reason:
            data["extension"] = [{"url": SET_ASIDE_EXTENSION, "valueString": row.removed_reason}]
        built.append(FhirDocumentReference.model_validate(data))
    return built


def signed_form_rows(
    queryset: QuerySet[ConsentSignature] | None = None,
) -> QuerySet[ConsentSignature]:
    """Signatures with a PDF on file, with their version and form (one query)."""
    rows = ConsentSignature.objects.all() if queryset is None else queryset
    return rows.exclude(pdf="").select_related("version__form")


def _form_title(row: ConsentSignature) -> str:
    return f"{row.version.form.title}, version {row.version.number}"


@_in_english
def signed_form_references(rows: Sequence[ConsentSignature]) -> list[FhirDocumentReference]:
    """The PDF Propel wrote of each signature (what was signed and the evidence of signing):
    always current, related to its Consent. Its size is not given: it is not stored, and asking
    the file store for each row would cost a round trip per row."""
    ids = fhir_ids(DOCUMENT_REFERENCE_KEYS["signed_form"], [row.pk for row in rows])
    binary_ids = fhir_ids(BINARY_KEYS["signed_form"], [row.pk for row in rows])
    consent_ids = fhir_ids(CONSENT, [row.pk for row in rows])
    patient_ids = fhir_ids(PATIENT, {row.patient_id for row in rows})
    clinic = clinic_organization_id()
    return [
        FhirDocumentReference.model_validate(
            {
                "id": ids[row.pk],
                "meta": {"lastUpdated": row.signed_at},
                "status": "current",
                "docStatus": "final",
                "type": {
                    "coding": [
                        _coding(codes.CONSENT_DOCUMENT),
                        {
                            "system": codes.DOCUMENT_KIND_SYSTEM,
                            "code": codes.SIGNED_FORM_KIND,
                            "display": "Signed consent form",
                        },
                    ],
                    "text": "Signed consent form",
                },
                "subject": _ref("Patient", patient_ids[row.patient_id]),
                "date": row.signed_at,
                "custodian": _ref("Organization", clinic, settings.CLINIC_NAME),
                "description": _form_title(row),
                "content": [
                    {
                        "attachment": {
                            "contentType": "application/pdf",
                            "url": _binary_url(binary_ids[row.pk]),
                            "title": _form_title(row),
                            "creation": row.signed_at,
                            "extension": [_sha256(row.pdf_sha256)],
                        }
                    }
                ],
                "context": {"related": [_ref("Consent", consent_ids[row.pk])]},
                "extension": [
                    {
                        "url": SIGNATURE_METHOD_EXTENSION,
                        "valueCode": SignatureMethod(row.method).value,
                    }
                ],
            }
        )
        for row in rows
    ]


# --- Binary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    content_type: str
    data: bytes
    patient_id: int


def stored_file(row: PatientDocument | ConsentSignature) -> StoredFile:
    """The bytes of an upload or a signed PDF from the private store. A store that cannot be
    read (S3 down, a file gone) is a 503 OperationOutcome, logged, never a crash page."""
    if isinstance(row, ConsentSignature):
        field, content_type = row.pdf, "application/pdf"
    else:
        field, content_type = row.file, row.content_type
    assert row.patient_id is not None
    try:
        # Read whole (at most DOCUMENTS_MAX_UPLOAD_MB), so the file is closed before answering.
        with field.open("rb") as stored:
            data = stored.read()
    except (OSError, ValueError):  # ValueError: a field with no file
        logger.exception("fhir: stored file of %s %s unreadable", type(row).__name__, row.pk)
        raise FhirError(503, "transient", "the stored file could not be read; try again") from None
    return StoredFile(content_type, data, row.patient_id)


def _binaries(key: str, rows: Sequence[Any], reference_key: str) -> list[FhirBinary]:
    ids = fhir_ids(BINARY_KEYS[key], [row.pk for row in rows])
    references = fhir_ids(DOCUMENT_REFERENCE_KEYS[reference_key], [row.pk for row in rows])
    built = []
    for row in rows:
        found = stored_file(row)
        built.append(
            FhirBinary.model_validate(
                {
                    "id": ids[row.pk],
                    "contentType": found.content_type,
                    "securityContext": _ref("DocumentReference", references[row.pk]),
                    "data": base64.b64encode(found.data).decode("ascii"),
                }
            )
        )
    return built


def document_binaries(rows: Sequence[PatientDocument]) -> list[FhirBinary]:
    return _binaries("document", rows, "document")


def signed_form_binaries(rows: Sequence[ConsentSignature]) -> list[FhirBinary]:
    return _binaries("signed_form", rows, "signed_form")
