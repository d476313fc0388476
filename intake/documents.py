"""STUB(issue21): replaced at merge by helper B's intake/documents.py.

A minimal stand-in with exactly the agreed interface (/work/prompts/interfaces.md) so the referral
form can store its letter: stores the bytes as given after a basic PDF/PNG/JPEG magic check.
No re-encoding, no HEIC, no JavaScript check: helper B's module does those.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.paperwork_models import PatientDocument

MAGIC = ((b"%PDF-", "application/pdf", "pdf"), (b"\x89PNG", "image/png", "png"))


class DocumentRefused(Exception):  # STUB(issue21)
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CleanDocument:  # STUB(issue21)
    data: bytes
    content_type: str
    extension: str
    original_name: str


def document_check(upload: UploadedFile) -> CleanDocument:  # STUB(issue21)
    limit = settings.DOCUMENTS_MAX_UPLOAD_MB * 1024 * 1024
    if (upload.size or 0) > limit:
        raise DocumentRefused(_("This file is too large."))
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise DocumentRefused(_("This file is too large."))
    name = (upload.name or "document")[:255]
    for magic, content_type, extension in MAGIC:
        if data.startswith(magic):
            return CleanDocument(data, content_type, extension, name)
    if data.startswith(b"\xff\xd8\xff"):
        return CleanDocument(data, "image/jpeg", "jpg", name)
    raise DocumentRefused(_("Please send a PDF, JPEG, PNG or HEIC file."))


def document_store(  # STUB(issue21)
    *,
    clean: CleanDocument,
    kind: str,
    source: str,
    patient_id: int | None = None,
    referral_id: int | None = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> PatientDocument:
    document = PatientDocument(
        patient_id=patient_id,
        referral_id=referral_id,
        kind=kind,
        source=source,
        original_name=clean.original_name,
        content_type=clean.content_type,
        size=len(clean.data),
        sha256=hashlib.sha256(clean.data).hexdigest(),
        uploaded_at=now or timezone.now(),
    )
    document.file.save(f"document.{clean.extension}", ContentFile(clean.data), save=False)
    document.save()
    return document
