"""Documents a patient, staff or a referring office upload: what is accepted, how it is cleaned,
where it is stored, and who may open it.

- document_check: only PDF, JPEG, PNG and HEIC/HEIF, decided from the content (the magic bytes,
  then a real parse), never from the name. Refused: anything else, an empty file, a file over
  settings.DOCUMENTS_MAX_UPLOAD_MB, a password-protected PDF, a PDF with active content
  (JavaScript, actions, launches, embedded files, rich media, XFA forms), an image too large to
  open safely (a decompression bomb). Images are re-encoded from their pixels, turned upright
  first, without EXIF, XMP, GPS or any other metadata (HEIC becomes JPEG). PDFs are kept as sent.
- document_store: the file under a random name in the private store (documents_storage), then
  its row, in one transaction (if the row fails the file is deleted), audited
  `document.uploaded`; a double submit (same file, kind and owner within a minute) returns the
  row already stored.
- document_set_aside: staff take a wrong upload out of use with a reason (never deleted), audited.
- document_may_open: front desk opens the non-clinical kinds only (ID, insurance card, signed
  paper form); the clinical ones (CLINICAL_DOCUMENT_KINDS) only clinicians and admin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import filetype  # type: ignore[import-untyped] # no type hints shipped
import pillow_heif
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from intake.models import Patient
from intake.paperwork_models import (
    CLINICAL_DOCUMENT_KINDS,
    DocumentKind,
    DocumentSource,
    PatientDocument,
    Referral,
    documents_storage,
)
from propel.audit import audit_record
from propel.roles import Capability, can

pillow_heif.register_heif_opener()

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
HEIF = "image/heif"
ACCEPTED = frozenset({PDF, JPEG, PNG, HEIC, HEIF})
# What each accepted type is stored as: (content type, extension, Pillow's format to write).
STORED_AS = {
    PDF: (PDF, ".pdf", None),
    JPEG: (JPEG, ".jpg", "JPEG"),
    PNG: (PNG, ".png", "PNG"),
    HEIC: (JPEG, ".jpg", "JPEG"),
    HEIF: (JPEG, ".jpg", "JPEG"),
}
# Pillow's name of the format each type must parse as.
PILLOW_FORMATS = {JPEG: {"JPEG", "MPO"}, PNG: {"PNG"}, HEIC: {"HEIF"}, HEIF: {"HEIF"}}
# ISO BMFF brands of HEIF still images (filetype knows only "heic").
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# A 48-megapixel phone photo is 8064 x 6048; anything much larger is refused before it is
# decoded (a small file can unpack to gigabytes of pixels).
MAX_PIXELS = 60_000_000
JPEG_QUALITY = 90
# PDF keys that make a document do something when opened or clicked, beyond showing pages.
ACTIVE_PDF_KEYS = frozenset(
    {"/JS", "/JavaScript", "/AA", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia"}
)
# Actions a link or an opening may carry that leave the page: all but going to a page or a URI.
SAFE_PDF_ACTIONS = frozenset({"/GoTo", "/URI", "/Named", "/Thread"})
MAX_PDF_OBJECTS = 200_000
DOUBLE_SUBMIT_WINDOW = dt.timedelta(minutes=1)
# Kinds a patient may upload on their link (a signed paper form is scanned by staff).
PATIENT_KINDS = (
    DocumentKind.REFERRAL,
    DocumentKind.RECORDS,
    DocumentKind.PHOTO_ID,
    DocumentKind.INSURANCE,
    DocumentKind.OTHER,
)


class DocumentRefused(Exception):
    """An upload not stored; `message` is a sentence fit to show the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CleanDocument:
    data: bytes
    content_type: str
    extension: str
    original_name: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def max_upload_mb() -> int:
    return int(settings.DOCUMENTS_MAX_UPLOAD_MB)


def _refuse_type() -> DocumentRefused:
    return DocumentRefused(
        _(
            "We can only take a PDF or a photo (JPEG, PNG or HEIC). Please choose another file, "
            "or take a photo of the page."
        )
    )


def _refuse_unreadable(pdf: bool) -> DocumentRefused:
    # Two whole sentences, not one with a word put in: translations need the whole sentence.
    if pdf:
        message = _("We could not open this PDF. Please try another copy, or take a photo of it.")
    else:
        message = _("We could not open this picture. Please try another copy or another photo.")
    return DocumentRefused(message)


def safe_original_name(name: str | None) -> str:
    """The name the file had on the sender's device, kept as information only: no folders, no
    control characters, at most 150 characters. Never used to store or serve the file."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 149 - len(ext)]}.{ext}" if dot and len(ext) <= 10 else name[:150]
    return name or _("document")


def _sniff(head: bytes) -> str | None:
    """The accepted type the first bytes say, or None."""
    kind = filetype.guess(head)
    if kind is not None and kind.mime in ACCEPTED:
        return str(kind.mime)
    if head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(len(head), 64), 4)}
        if head[8:12] in HEIF_BRANDS or brands & {b"heic", b"heix"}:
            return HEIF
    return None


def document_check(upload: UploadedFile) -> CleanDocument:
    """Decide from the content whether `upload` is accepted, and clean it (see the module's
    docstring). Raises DocumentRefused with a message fit to show the sender; stores nothing."""
    limit = max_upload_mb()
    size = upload.size or 0
    if size > limit * 1024 * 1024:
        raise DocumentRefused(
            _(
                "This file is larger than %(limit)s MB. Please send a smaller copy: a photo of "
                "each page is fine."
            )
            % {"limit": limit}
        )
    if size == 0:
        raise DocumentRefused(_("This file is empty. Please choose the file again."))
    upload.seek(0)
    head = upload.read(8192)
    mime = _sniff(head)
    if mime is None:
        raise _refuse_type()
    upload.seek(0)
    data = b"".join(upload.chunks())
    original_name = safe_original_name(upload.name)
    content_type, extension, _format = STORED_AS[mime]
    if mime == PDF:
        _check_pdf(data)
    else:
        data = _clean_image(data, mime)
    return CleanDocument(
        data=data, content_type=content_type, extension=extension, original_name=original_name
    )


# --- PDFs -------------------------------------------------------------------------------------


def _check_pdf(data: bytes) -> None:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentRefused(
                _(
                    "This PDF is protected by a password, so we cannot open it. Please send a "
                    "copy without a password, or a photo of each page."
                )
            )
        if len(reader.pages) == 0:
            raise _refuse_unreadable(pdf=True)
        active = _pdf_has_active_content(reader)
    except DocumentRefused:
        raise
    except Exception:  # a hostile or broken PDF can raise anything inside pypdf
        raise _refuse_unreadable(pdf=True) from None
    if active:
        raise DocumentRefused(
            _("This PDF contains active content; please print it to PDF again or send a scan.")
        )


def _pdf_has_active_content(reader: PdfReader) -> bool:
    """Whether any object reachable from the trailer (the catalog, pages, annotations, forms,
    names) holds JavaScript, an action that leaves the page, an embedded file, rich media or an
    XFA form. Names are compared decoded (#xx escapes resolved by pypdf)."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            return True  # too tangled to vouch for
        if isinstance(item, DictionaryObject):
            keys = {str(k) for k in item}
            if keys & ACTIVE_PDF_KEYS or "/XFA" in keys:
                return True
            if str(item.get("/Type", "")) == "/Action" and _unsafe_action(item):
                return True
            # Where actions hang: a link's or a field's /A, the document's /OpenAction (also a
            # plain destination, harmless), an action's /Next (one or a list).
            for key in ("/A", "/OpenAction", "/Next"):
                if key in item and _unsafe_action(item[key], chain=key == "/Next"):
                    return True
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return False


def _unsafe_action(value: Any, *, chain: bool = False) -> bool:
    """Whether `value` (an action, or under /Next a list of them; a destination is a list too)
    does more than go to a page, a web address or a named viewer command."""
    target = value.get_object() if isinstance(value, IndirectObject) else value
    if isinstance(target, ArrayObject):
        return chain and any(_unsafe_action(entry) for entry in target)
    if not isinstance(target, DictionaryObject):
        return False
    kind = target.get("/S")
    return not (isinstance(kind, NameObject) and str(kind) in SAFE_PDF_ACTIONS)


# --- Images -----------------------------------------------------------------------------------


def _clean_image(data: bytes, mime: str) -> bytes:
    """The image's pixels, upright, re-encoded with no metadata at all."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in PILLOW_FORMATS[mime]:
                raise _refuse_type()
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _image_too_large()
            image.load()
            upright = ImageOps.exif_transpose(image)
            return _encode(upright, mime)
    except DocumentRefused:
        raise
    except Image.DecompressionBombError:
        raise _image_too_large() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _refuse_unreadable(pdf=False) from None


def _image_too_large() -> DocumentRefused:
    return DocumentRefused(
        _(
            "This picture is too large for us to open. Please send a smaller photo, or a PDF "
            "of the page."
        )
    )


def _encode(image: Image.Image, mime: str) -> bytes:
    """Write the pixels alone: a fresh image, so no EXIF, XMP, ICC, text chunks or comments
    come along (Pillow copies `info` into what it saves)."""
    _type, _ext, pillow_format = STORED_AS[mime]
    if pillow_format == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
    elif image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        image = image.convert("RGBA")
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image)
    if image.mode == "P":
        palette = image.getpalette()
        if palette is not None:
            fresh.putpalette(palette)
        if "transparency" in image.info:
            fresh.info["transparency"] = image.info["transparency"]
    out = io.BytesIO()
    if pillow_format == "JPEG":
        fresh.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        fresh.save(out, "PNG")
    return out.getvalue()


# --- Storing, setting aside, opening ----------------------------------------------------------


def _stored_name(clean: CleanDocument) -> str:
    return f"{secrets.token_hex(16)}{clean.extension}"


def document_store(
    *,
    clean: CleanDocument,
    kind: str,
    source: str,
    patient_id: int | None = None,
    referral_id: int | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> PatientDocument:
    """Store a checked document for a patient (or a referral not yet a patient).

    Locks the owner's row, so two identical submits in a row (a double click, a resent form)
    store the file once: the same bytes, kind and owner within DOUBLE_SUBMIT_WINDOW return the
    row already stored, unaudited. Otherwise the file goes into the private store under a random
    name, then the row and the `document.uploaded` audit event (kind, source, size, type: never
    the file's name, which may say what it is about); if anything in the transaction fails, the
    file is deleted again. The staff member, if any, comes from `request`.
    """
    if kind not in DocumentKind.values:
        raise ValueError(f"unknown document kind {kind!r}")
    source = DocumentSource(source)
    if (patient_id is None) == (referral_id is None):
        raise ValueError("a document belongs to a patient or to a referral")
    if source == DocumentSource.PATIENT and kind not in PATIENT_KINDS:
        raise ValueError(f"a patient does not upload {kind!r}")
    now = now or timezone.now()
    user = request.user if request is not None and request.user.is_authenticated else None
    sha256 = clean.sha256
    storage = documents_storage()
    stored: str | None = None
    try:
        with transaction.atomic():
            same = PatientDocument.objects.filter(
                kind=kind,
                sha256=sha256,
                removed_at__isnull=True,
                uploaded_at__gte=now - DOUBLE_SUBMIT_WINDOW,
            )
            if patient_id is not None:
                Patient.objects.select_for_update().only("pk").get(pk=patient_id)
                same = same.filter(patient_id=patient_id)
            elif referral_id is not None:
                Referral.objects.select_for_update().only("pk").get(pk=referral_id)
                same = same.filter(referral_id=referral_id, patient__isnull=True)
            existing = same.first()
            if existing is not None:
                return existing
            document = PatientDocument(
                patient_id=patient_id,
                referral_id=referral_id,
                kind=kind,
                original_name=clean.original_name,
                content_type=clean.content_type,
                size=len(clean.data),
                sha256=sha256,
                source=source,
                uploaded_by=user,
                uploaded_at=now,
            )
            name = document.file.field.generate_filename(document, _stored_name(clean))
            stored = storage.save(name, ContentFile(clean.data))
            document.file.name = stored
            document.save(force_insert=True)
            audit_record(
                action="document.uploaded",
                actor=user,
                request=request,
                patient_id=patient_id,
                obj=document,
                detail={
                    "kind": kind,
                    "source": str(source),
                    "by": "staff" if user is not None else str(source),
                    "size": document.size,
                    "content_type": document.content_type,
                    **({"referral_id": referral_id} if referral_id is not None else {}),
                },
            )
            return document
    except BaseException:
        if stored is not None:
            storage.delete(stored)
        raise


def document_set_aside(
    *,
    document_id: int,
    reason: str,
    request: HttpRequest,
    patient_id: int | None = None,
    now: dt.datetime | None = None,
) -> PatientDocument:
    """Take a wrong upload out of use (it stops counting for requirements; the file is kept).
    Idempotent: a document already set aside is returned as it is. `patient_id`, when given,
    must be the document's patient (else PatientDocument.DoesNotExist). Audited
    `document.set_aside` with the reason."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is needed to set a document aside")
    now = now or timezone.now()
    with transaction.atomic():
        documents = PatientDocument.objects.select_for_update()
        if patient_id is not None:
            documents = documents.filter(patient_id=patient_id)
        document = documents.get(pk=document_id)
        if document.removed_at is not None:
            return document
        document.removed_at = now
        document.removed_by = request.user if request.user.is_authenticated else None
        document.removed_reason = reason[:300]
        document.save(update_fields=["removed_at", "removed_by", "removed_reason"])
        audit_record(
            action="document.set_aside",
            request=request,
            patient_id=document.patient_id,
            obj=document,
            detail={"kind": document.kind, "reason": document.removed_reason},
        )
    return document


def document_may_open(user: Any, kind: str) -> bool:
    """Whether this staff member may open a document of `kind` (every staff role sees its name
    and kind in the list): the clinical kinds only with the health record's capability."""
    if kind in CLINICAL_DOCUMENT_KINDS:
        return can(user, Capability.HEALTH_RECORD)
    return can(user, Capability.CALENDAR)


def document_download_name(document: PatientDocument) -> str:
    """A safe file name to serve the document under: the kind and number, the stored type's
    extension (never the sender's name, which could be anything)."""
    name = document.file.name or ""
    extension = name.rpartition(".")[2] if "." in name else "bin"
    return f"{document.kind.replace('_', '-')}-{document.pk}.{extension}"
