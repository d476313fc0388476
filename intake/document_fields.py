"""STUB(issue21): replaced at merge by helper B's intake/document_fields.py (same interface)."""

from __future__ import annotations

from typing import Any

from django import forms

from intake.documents import CleanDocument, DocumentRefused, document_check


class DocumentField(forms.FileField):  # STUB(issue21)
    """A file field whose clean() returns a CleanDocument (or None when empty and optional)."""

    def clean(self, data: Any, initial: Any = None) -> CleanDocument | None:
        upload = super().clean(data, initial)
        if not upload:
            return None
        try:
            return document_check(upload)
        except DocumentRefused as refused:
            raise forms.ValidationError(refused.message, code="refused") from None
