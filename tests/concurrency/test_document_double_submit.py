"""A double submit of the same document, racing on two connections, stores it once: the owner's
row lock makes the second wait and then find the first (intake.documents.document_store). The
control shows the race without the lock: both store."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

import intake.documents as documents
from intake.documents import CleanDocument, document_store
from intake.paperwork_models import PatientDocument, documents_storage
from tests.factories import PatientFactory
from tests.intake.document_files import pdf_bytes
from tests.threads import all_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)
RACERS = 6


def _race(patient_id: int) -> list[object]:
    clean = CleanDocument(
        data=pdf_bytes(), content_type="application/pdf", extension=".pdf", original_name="a.pdf"
    )
    results, finished = all_at_once(
        RACERS,
        lambda i: document_store(
            clean=clean, kind="referral", source="patient", patient_id=patient_id, now=NOW
        ),
    )
    assert finished
    return results


def _files() -> int:
    return sum(1 for p in Path(documents_storage().path("")).rglob("*") if p.is_file())


def test_racing_double_submits_store_one_document_and_one_file(monkeypatch):
    patient = PatientFactory()
    name = documents._stored_name
    monkeypatch.setattr(documents, "_stored_name", lambda clean: (time.sleep(0.3), name(clean))[1])
    before = _files()
    results = _race(patient.pk)
    assert all(isinstance(r, PatientDocument) for r in results), results
    assert len({r.pk for r in results}) == 1  # type: ignore[union-attr]
    assert PatientDocument.objects.filter(patient=patient).count() == 1
    assert _files() == before + 1


def test_control_without_the_owners_lock_the_race_stores_twice(monkeypatch):
    class NoLock:
        def select_for_update(self):
            return self

        def only(self, *fields):
            return self

        def get(self, **kwargs):
            return None

    patient = PatientFactory()
    monkeypatch.setattr(documents.Patient, "objects", NoLock())
    # Widen the gap between the look for an earlier copy and the insert, as a slow store would.
    name = documents._stored_name
    monkeypatch.setattr(documents, "_stored_name", lambda clean: (time.sleep(0.3), name(clean))[1])
    _race(patient.pk)
    assert PatientDocument.objects.filter(patient=patient).count() > 1
