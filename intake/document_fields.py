"""The form field of every document upload (the patient's documents page, the staff patient
page, the referral form): its clean() returns a CleanDocument checked and cleaned by
intake.documents.document_check, or the field's error in the sender's words."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from intake.documents import CleanDocument, DocumentRefused, document_check, max_upload_mb

# What the file input offers: PDFs and photos. No `capture` attribute: it would send a phone
# straight to the camera, and a PDF or a photo already taken could not be chosen; without it,
# phones offer the camera and the files side by side.
ACCEPT = "application/pdf,image/jpeg,image/png,image/heic,image/heif,.heic,.heif"


class DocumentField(forms.FileField):
    default_error_messages = {
        "required": _("Please choose a file."),
        "empty": _("This file is empty. Please choose the file again."),
        "invalid": _("Please choose a file."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.FileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("max_length", None)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> CleanDocument | None:
        upload = super().clean(data, initial)
        if not upload:
            return None
        try:
            return document_check(upload)
        except DocumentRefused as refused:
            raise ValidationError(refused.message, code="refused") from None


def document_help_text() -> str:
    return str(
        _("A PDF or a photo, up to %(limit)s MB. A photo from your phone is fine.")
        % {"limit": max_upload_mb()}
    )
