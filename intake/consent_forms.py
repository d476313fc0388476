"""Signing the clinic's consent forms: the one home of every rule about a signature.

- `consent_sign`: a patient signs the version in force of a form on their link, in one
  transaction: identity confirmed by date of birth (5 wrong tries in a clinic day lock the forms
  for the day), "I have read and agree", the typed full name matching the patient's (case, spaces
  and accents do not matter), ESIGN order (the consent to electronic records must be signed, and
  still count, before any other form is signed electronically), the optional drawn signature
  checked and re-encoded. It records the version, the SHA-256 of the exact text (UTF-8), the time,
  IP and user agent, the PDF (intake.consent_pdf) and its SHA-256, audits `consent.signed`, and
  writes the "your signed form is ready" email into the outbox. A second submit of the same
  version signs nothing new: it answers the signature already on file.
- `consent_paper_record`: staff record a form signed on paper, pointing at its scan (a
  PatientDocument of kind PAPER_CONSENT), audited `consent.paper_recorded`.
- `consent_paper_request`: the patient asks for paper forms (to sign at the clinic) or for a
  paper copy of a signed form; an audit event the staff patient page lists.
- `patient_form_rows`: each form's state for one patient (to sign, signed, sign again).

Which version is in force and whose signature counts is intake.consent_versions. intake never
imports scheduling: the outbox writer for the signed-copy email is registered at start-up
(`set_signed_copy_writer`, from scheduling.review_hooks), as for intake.information_request.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import logging
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from intake.consent_pdf import SignedFormFacts, consent_pdf
from intake.consent_versions import minimum_numbers, versions_in_force
from intake.models import Patient
from intake.paperwork_models import (
    ConsentForm,
    ConsentFormKind,
    ConsentFormVersion,
    ConsentSignature,
    DocumentKind,
    PatientDocument,
    SignatureMethod,
)
from propel.audit import audit_record
from propel.models import AuditEvent

logger = logging.getLogger(__name__)

DOB_TRIES_PER_DAY = 5
# The drawn signature: what the canvas may send, and what is kept.
DRAWN_MAX_BYTES = 200 * 1024
DRAWN_MAX_SIZE = (1200, 400)
PAPER_FORMS_REQUESTED = "consent.paper_forms_requested"
PAPER_COPY_REQUESTED = "consent.paper_copy_requested"
PAPER_REQUEST_ACTIONS = (PAPER_FORMS_REQUESTED, PAPER_COPY_REQUESTED)


class ConsentRefused(Exception):
    """A signature not recorded; `message` is fit to show the patient, `field` names the form
    field it belongs to (None: the whole form). Nothing was stored."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- The signed-copy email (outbox writer registered by scheduling) ----------------------------

SignedCopyWriter = Callable[[int], object]
_writer: SignedCopyWriter | None = None


def set_signed_copy_writer(writer: SignedCopyWriter | None) -> SignedCopyWriter | None:
    """Register the outbox writer of the "your signed form is ready" email; returns the previous
    one (so a test can restore it)."""
    global _writer
    previous = _writer
    _writer = writer
    return previous


def _signed_copy_plan(patient_id: int) -> None:
    if _writer is None:
        raise RuntimeError("no outbox writer registered for signed copies")
    _writer(patient_id)


# --- Small rules -------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """A name as compared: accents dropped, case folded, spaces and punctuation ignored."""
    plain = unicodedata.normalize("NFKD", name)
    letters = "".join(char for char in plain if not unicodedata.combining(char))
    return "".join(char for char in letters.casefold() if char.isalnum())


def typed_name_matches(typed: str, patient: Patient) -> bool:
    key = name_key(typed)
    return bool(key) and key == name_key(f"{patient.first_name} {patient.last_name}")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def drawn_signature_from_data_url(data_url: str) -> bytes | None:
    """The bytes of a canvas's `data:image/png;base64,...` (blank: None). Raises ConsentRefused
    for anything else; the image itself is checked by `drawn_signature_clean`."""
    data_url = data_url.strip()
    if not data_url:
        return None
    junk = ConsentRefused(
        _(
            "The drawn signature could not be read. Please clear it and draw it again, or leave it "
            "empty: your typed name is your signature."
        ),
        field="drawn_signature",
    )
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix) or len(data_url) > DRAWN_MAX_BYTES * 4 // 3 + 100:
        raise junk
    try:
        return base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise junk from None


def drawn_signature_clean(data: bytes) -> bytes:
    """The drawn signature checked by Pillow and re-encoded as a PNG no larger than
    DRAWN_MAX_SIZE pixels and DRAWN_MAX_BYTES bytes. Raises ConsentRefused for junk."""
    junk = ConsentRefused(
        _(
            "The drawn signature could not be read. Please clear it and draw it again, or leave it "
            "empty: your typed name is your signature."
        ),
        field="drawn_signature",
    )
    if not data or len(data) > DRAWN_MAX_BYTES:
        raise junk
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != "PNG":
                raise junk
            width, height = probe.size
            if width > DRAWN_MAX_SIZE[0] * 2 or height > DRAWN_MAX_SIZE[1] * 2:
                raise junk  # not a canvas; don't decode a decompression bomb
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise junk from None
    picture.thumbnail(DRAWN_MAX_SIZE)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    cleaned = out.getvalue()
    if len(cleaned) > DRAWN_MAX_BYTES:
        raise junk
    return cleaned


def _dob_key(patient_id: int, today: dt.date) -> str:
    return f"propel:consent-dob:{patient_id}:{today.isoformat()}"


def dob_locked(patient_id: int, today: dt.date) -> bool:
    """Whether this patient's wrong dates of birth today reached DOB_TRIES_PER_DAY. A cache
    outage never locks a patient out."""
    try:
        return int(cache.get(_dob_key(patient_id, today)) or 0) >= DOB_TRIES_PER_DAY
    except Exception:  # the cache backend's own errors have no common base
        logger.warning("consent: cache unavailable, not checking the lock", exc_info=True)
        return False


def _dob_wrong(patient_id: int, today: dt.date) -> bool:
    """Count one wrong date of birth; True when that reached the day's limit."""
    key = _dob_key(patient_id, today)
    try:
        cache.add(key, 0, timeout=2 * 24 * 3600)
        count = cache.incr(key)
    except Exception:
        logger.warning("consent: cache unavailable, not counting", exc_info=True)
        return False
    return int(count) >= DOB_TRIES_PER_DAY


def _locked_message() -> str:
    return _(
        "For your safety, signing is paused for today after several dates of birth that did not "
        "match. Please try again tomorrow, or call us at %(phone)s and we will help."
    ) % {"phone": settings.CLINIC_PHONE}


# --- Publishing a version ----------------------------------------------------------------------


def consent_version_publish(
    *,
    form_id: int,
    text: str,
    effective_date: dt.date,
    resign_required: bool,
    by: Any = None,
    request: HttpRequest | None = None,
) -> ConsentFormVersion:
    """A new version of a form, numbered after the last one (versions are never edited: a
    correction is a new version). Signatures already on file are untouched; whether they still
    count is intake.consent_versions (`resign_required`). Audited `consent.version_published`."""
    with transaction.atomic():
        form = ConsentForm.objects.select_for_update().get(pk=form_id)
        last = (
            ConsentFormVersion.objects.filter(form=form)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        version = ConsentFormVersion(
            form=form,
            number=(last or 0) + 1,
            text=text,
            effective_date=effective_date,
            resign_required=resign_required,
            created_by=by if getattr(by, "is_authenticated", False) else None,
        )
        version.save(force_insert=True)
        audit_record(
            action="consent.version_published",
            actor=by if getattr(by, "is_authenticated", False) else None,
            request=request,
            obj=version,
            detail={"form": form.kind, "version": version.number, "resign": resign_required},
        )
    return version


# --- What the patient sees ---------------------------------------------------------------------


class FormState:
    TO_SIGN = "to_sign"
    SIGNED = "signed"
    SIGN_AGAIN = "sign_again"


@dataclass(frozen=True)
class FormRow:
    form: ConsentForm
    version: ConsentFormVersion
    state: str
    # The signature on file that counts (SIGNED), or the latest earlier one (SIGN_AGAIN).
    signature: ConsentSignature | None

    @property
    def kind(self) -> str:
        return self.form.kind


def patient_form_rows(patient_id: int, *, today: dt.date) -> list[FormRow]:
    """The active forms with a version in force, in the clinic's order, and their state for this
    patient. Three queries whatever the number of forms and signatures."""
    current = versions_in_force(today)
    minimum = minimum_numbers(today)
    latest: dict[int, ConsentSignature] = {}
    for signature in ConsentSignature.objects.filter(
        patient_id=patient_id, version__form_id__in=list(current)
    ).select_related("version"):
        latest[signature.version.form_id] = signature  # ordered by signed_at: the last wins
    rows = []
    for version in sorted(current.values(), key=lambda v: (v.form.order, v.form_id)):
        signature = latest.get(version.form_id)
        if signature is None:
            state = FormState.TO_SIGN
        elif signature.version.number >= minimum.get(version.form_id, 0):
            state = FormState.SIGNED
        else:
            state = FormState.SIGN_AGAIN
        rows.append(FormRow(form=version.form, version=version, state=state, signature=signature))
    return rows


def _version_for(kind: str, today: dt.date) -> ConsentFormVersion:
    for version in versions_in_force(today).values():
        if version.form.kind == kind:
            return version
    raise ConsentRefused(_("This form is not in use. Please go back to your forms."))


def electronic_counts(rows: list[FormRow]) -> bool:
    """Whether the consent to electronic records is signed and still counts."""
    return any(
        row.kind == ConsentFormKind.ELECTRONIC and row.state == FormState.SIGNED for row in rows
    )


def electronic_consent_needed(patient_id: int, kind: str, *, today: dt.date) -> bool:
    """Whether this form cannot be signed on the link yet (ESIGN: electronic records first)."""
    if kind == ConsentFormKind.ELECTRONIC:
        return False
    return not electronic_counts(patient_form_rows(patient_id, today=today))


# --- Signing -----------------------------------------------------------------------------------


def _pdf_store(
    signature: ConsentSignature, version: ConsentFormVersion, facts: SignedFormFacts
) -> None:
    data = consent_pdf(facts)
    signature.pdf_sha256 = hashlib.sha256(data).hexdigest()
    name = f"{version.form.kind}-v{version.number}-{secrets.token_hex(8)}.pdf"
    signature.pdf.save(name, ContentFile(data), save=False)


def signed_form_facts(
    signature: ConsentSignature, patient: Patient, *, recorded_by: Any = None
) -> SignedFormFacts:
    """What the PDF of `signature` (not yet saved, its version loaded) prints: the same facts for
    a signature on the link and a paper one recorded by staff."""
    version = signature.version
    return SignedFormFacts(
        form_title=version.form.title,
        version_number=version.number,
        effective_date=version.effective_date,
        text=version.text,
        text_sha256=signature.text_sha256,
        patient_name=f"{patient.first_name} {patient.last_name}",
        date_of_birth=patient.date_of_birth,
        typed_name=signature.signed_name,
        signed_at=signature.signed_at,
        method_label=str(SignatureMethod(signature.method).label),
        ip=signature.ip,
        user_agent=signature.user_agent,
        drawn_signature_png=bytes(signature.drawn_signature) if signature.drawn_signature else None,
        recorded_by=getattr(recorded_by, "username", ""),
    )


def consent_sign(
    *,
    patient_id: int,
    form_kind: str,
    date_of_birth: dt.date | None,
    agreed: bool,
    typed_name: str,
    drawn_signature_png: bytes | None,
    ip: str | None,
    user_agent: str,
    now: dt.datetime | None = None,
) -> ConsentSignature:
    """Sign the version in force of `form_kind` for the patient on their link (see the module's
    docstring). Raises ConsentRefused (nothing stored) or returns the signature: the new one, or
    the one already on file for this version (a double submit)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    typed_name = " ".join(typed_name.split())
    with transaction.atomic():
        # The patient's row lock makes two submits of the same form wait for each other.
        patient = Patient.objects.select_for_update().get(pk=patient_id)
        version = _version_for(form_kind, today)
        existing = ConsentSignature.objects.filter(patient=patient, version=version).first()
        if existing is not None:
            return existing
        if dob_locked(patient_id, today):
            raise ConsentRefused(_locked_message(), field="date_of_birth")
        if date_of_birth != patient.date_of_birth:
            if _dob_wrong(patient_id, today):
                raise ConsentRefused(_locked_message(), field="date_of_birth")
            raise ConsentRefused(
                _(
                    "That date of birth does not match the one we have on file. Please check it "
                    "and try again."
                ),
                field="date_of_birth",
            )
        if not agreed:
            raise ConsentRefused(
                _("Please tick the box to say you have read the form and agree."), field="agreed"
            )
        if not typed_name_matches(typed_name, patient):
            raise ConsentRefused(
                _(
                    "Please type your full name as we have it: %(name)s. Capitals and accents do "
                    "not matter."
                )
                % {"name": f"{patient.first_name} {patient.last_name}"},
                field="typed_name",
            )
        if electronic_consent_needed(patient_id, form_kind, today=today):
            raise ConsentRefused(
                _(
                    "Please sign the consent to electronic records first: it says you agree to "
                    "sign forms on this page."
                )
            )
        drawn = drawn_signature_clean(drawn_signature_png) if drawn_signature_png else None
        user_agent = user_agent[:400]
        signature = ConsentSignature(
            patient=patient,
            version=version,
            method=SignatureMethod.ELECTRONIC,
            signed_name=typed_name,
            signed_at=now,
            recorded_at=now,
            ip=ip or None,
            user_agent=user_agent,
            text_sha256=text_sha256(version.text),
            drawn_signature=drawn,
        )
        facts = signed_form_facts(signature, patient)
        _pdf_store(signature, version, facts)
        signature.save(force_insert=True)
        # The patient acts (no staff actor); the form's kind and version, no health information.
        audit_record(
            action="consent.signed",
            patient_id=patient_id,
            obj=signature,
            detail={"form": form_kind, "version": version.number, "method": "electronic"},
        )
        _signed_copy_plan(patient_id)
    return signature


def consent_paper_record(
    *,
    patient_id: int,
    form_kind: str,
    signed_on: dt.date,
    signed_name: str,
    paper_document_id: int,
    recorded_by: Any,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> ConsentSignature:
    """Record that the patient signed the version of `form_kind` in force on `signed_on` on paper;
    `paper_document_id` is the scan (the patient's PatientDocument of kind PAPER_CONSENT). The
    signature also gets a PDF record (method "paper", who recorded it). A version already signed
    answers the signature on file. Raises ConsentRefused."""
    now = now or timezone.now()
    if signed_on > timezone.localdate(now):
        raise ConsentRefused(_("The date signed cannot be in the future."), field="signed_on")
    signed_name = " ".join(signed_name.split())
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient_id)
        version = _version_for(form_kind, signed_on)
        document = PatientDocument.objects.filter(
            pk=paper_document_id,
            patient_id=patient_id,
            kind=DocumentKind.PAPER_CONSENT,
            removed_at__isnull=True,
        ).first()
        if document is None:
            raise ConsentRefused(
                _("Choose the scan of the signed paper form."), field="paper_document"
            )
        existing = ConsentSignature.objects.filter(patient=patient, version=version).first()
        if existing is not None:
            return existing
        if not signed_name:
            signed_name = f"{patient.first_name} {patient.last_name}"
        signed_at = timezone.make_aware(dt.datetime.combine(signed_on, dt.time(12, 0)))
        signature = ConsentSignature(
            patient=patient,
            version=version,
            method=SignatureMethod.PAPER,
            signed_name=signed_name,
            signed_at=signed_at,
            recorded_at=now,
            ip=None,
            user_agent="",
            text_sha256=text_sha256(version.text),
            recorded_by=recorded_by,
            paper_document=document,
        )
        facts = signed_form_facts(signature, patient, recorded_by=recorded_by)
        _pdf_store(signature, version, facts)
        signature.save(force_insert=True)
        audit_record(
            action="consent.paper_recorded",
            actor=recorded_by,
            request=request,
            patient_id=patient_id,
            obj=signature,
            detail={"form": form_kind, "version": version.number, "document": document.pk},
        )
    return signature


# --- Paper forms and paper copies --------------------------------------------------------------


def consent_paper_request(
    *,
    patient_id: int,
    action: str,
    signature_id: int | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> AuditEvent | None:
    """The patient asks for paper forms (PAPER_FORMS_REQUESTED) or a paper copy of one of their
    signatures (PAPER_COPY_REQUESTED): an audit event the staff patient page lists. The same
    request again within a day records nothing new (None)."""
    if action not in PAPER_REQUEST_ACTIONS:
        raise ValueError(action)
    now = now or timezone.now()
    detail: dict[str, object] = {"by": "patient"}
    if signature_id is not None:
        detail["signature"] = signature_id
    with transaction.atomic():
        # The patient's row lock makes a double click record one request.
        Patient.objects.select_for_update().filter(pk=patient_id).first()
        recent = AuditEvent.objects.filter(
            patient_id=patient_id, action=action, at__gte=now - dt.timedelta(days=1)
        )
        if signature_id is not None:
            recent = recent.filter(detail__signature=signature_id)
        if recent.exists():
            return None
        # The patient acts (no staff actor), hence no request: its user is nobody.
        return audit_record(action=action, patient_id=patient_id, detail=detail)


def paper_requests(patient_id: int) -> list[AuditEvent]:
    """The patient's requests for paper forms and paper copies, newest first (one query)."""
    return list(
        AuditEvent.objects.filter(patient_id=patient_id, action__in=PAPER_REQUEST_ACTIONS).order_by(
            "-at"
        )
    )
