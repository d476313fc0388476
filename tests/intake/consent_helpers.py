"""Shared by the consent tests: the clinic's forms present, a private store for the PDFs, and
signing as a patient through the service."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from PIL import Image

from intake.consent_defaults import consent_defaults_add
from intake.consent_forms import consent_sign
from intake.models import Patient
from intake.paperwork_models import (
    ConsentForm,
    ConsentFormVersion,
    ConsentSignature,
    PatientDocument,
)

NOW = dt.datetime(2027, 1, 5, 18, 0, tzinfo=dt.UTC)  # 10:00 clinic time, a Tuesday


@pytest.fixture
def consent_world(db, tmp_path, monkeypatch) -> None:
    """The four forms with version 1 (a transactional test elsewhere may have emptied the
    tables), and the signed PDFs written under tmp_path instead of var/documents."""
    consent_defaults_add(ConsentForm, ConsentFormVersion)
    store = FileSystemStorage(location=str(tmp_path / "documents"))
    monkeypatch.setattr(ConsentSignature._meta.get_field("pdf"), "storage", store)
    monkeypatch.setattr(PatientDocument._meta.get_field("file"), "storage", store)


def sign(patient: Patient, kind: str, **overrides: Any) -> ConsentSignature:
    arguments: dict[str, Any] = {
        "patient_id": patient.pk,
        "form_kind": kind,
        "date_of_birth": patient.date_of_birth,
        "agreed": True,
        "typed_name": f"{patient.first_name} {patient.last_name}",
        "drawn_signature_png": None,
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (iPhone) TestBrowser",
        "now": NOW,
    }
    arguments.update(overrides)
    return consent_sign(**arguments)


def png_bytes(size: tuple[int, int] = (300, 100), fmt: str = "PNG") -> bytes:
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    for x in range(10, min(size[0], 200)):
        image.putpixel((x, size[1] // 2), (0, 0, 0, 255))
    out = io.BytesIO()
    (image if fmt == "PNG" else image.convert("RGB")).save(out, format=fmt)
    return out.getvalue()
