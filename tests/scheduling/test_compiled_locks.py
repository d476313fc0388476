"""A booking's three lock queries compiled once per shape (scheduling.compiled_locks) lock and
return the same rows as the querysets (the SQLite path): candidates by kind, named, narrowed by
a live hold (and not by an expired one), a moved appointment's clinician, a type needing no
clinician, the patient with their screening status and the booking already made with a key."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict

from intake.models import Patient
from scheduling.compiled_locks import lock_candidates
from scheduling.models import RoomKind
from tests import factories as make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

START = dt.datetime(2027, 1, 5, 18, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2027, 1, 4, 16, 0, tzinfo=dt.UTC)


def _seen(locked):
    rooms, clinicians, patient = locked
    about = None
    if patient is not None:
        about = (
            model_to_dict(patient),
            patient.screening,
            getattr(patient, "keyed", "absent"),
            getattr(patient, "keyed_for", "absent"),
        )
    return (
        [model_to_dict(room) for room in rooms],
        [model_to_dict(clinician) for clinician in clinicians],
        about,
    )


def _both(monkeypatch, **asked):
    with transaction.atomic():
        compiled = _seen(lock_candidates(**asked))
    with monkeypatch.context() as patch, transaction.atomic():
        patch.setattr(connection, "vendor", "sqlite")
        orm = _seen(lock_candidates(**asked))
    assert compiled == orm
    return compiled


@pytest.fixture
def clinic():
    consultation = make.AppointmentTypeFactory()
    rooms = [make.RoomFactory(), make.RoomFactory(), make.RoomFactory(active=False)]
    make.RoomFactory(kind=RoomKind.INFUSION)
    clinicians = [make.ClinicianFactory(), make.ClinicianFactory()]
    patient = make.PatientFactory()
    make.SubmittedScreeningFactory(patient=patient)
    return consultation, rooms, clinicians, patient


def _ids(seen):
    rooms, clinicians, _ = seen
    return [room["id"] for room in rooms], [clinician["id"] for clinician in clinicians]


def test_by_kind_named_and_with_a_key(clinic, monkeypatch):
    consultation, rooms, clinicians, patient = clinic
    plain = {"hold": None, "also_clinician_id": None}
    seen = _both(
        monkeypatch, appointment_type=consultation, room_id=None, clinician_id=None,
        patient_id=patient.pk, key=None, **plain,
    )  # fmt: skip
    assert _ids(seen) == ([rooms[0].pk, rooms[1].pk], [c.pk for c in clinicians])
    assert seen[2][1] == "submitted" and seen[2][2] == "absent"
    booked = make.AppointmentFactory(patient=patient, idempotency_key="key-1")
    seen = _both(
        monkeypatch, appointment_type=consultation, room_id=rooms[1].pk,
        clinician_id=clinicians[1].pk, patient_id=patient.pk, key="key-1", **plain,
    )  # fmt: skip
    assert _ids(seen) == ([rooms[1].pk], [clinicians[1].pk])
    assert seen[2][2:] == (booked.pk, patient.pk)
    seen = _both(
        monkeypatch, appointment_type=consultation, room_id=None, clinician_id=None,
        patient_id=patient.pk, key="another", **plain,
    )  # fmt: skip
    assert seen[2][2:] == (None, None)


def test_a_live_hold_narrows_and_an_expired_one_does_not(clinic, monkeypatch):
    consultation, rooms, clinicians, patient = clinic
    live = make.SlotHoldFactory(room=rooms[1], clinician=clinicians[0], start=START)
    expired = make.SlotHoldFactory(
        room=rooms[0], clinician=clinicians[1], start=START, expires_at=NOW - dt.timedelta(1)
    )
    common = {"appointment_type": consultation, "room_id": None, "clinician_id": None}
    common |= {"also_clinician_id": None, "patient_id": patient.pk, "key": None}
    seen = _both(monkeypatch, hold=(live.key, START, NOW), **common)
    assert _ids(seen) == ([rooms[1].pk], [clinicians[0].pk])
    seen = _both(monkeypatch, hold=(expired.key, START, NOW), **common)
    assert _ids(seen) == ([rooms[0].pk, rooms[1].pk], [c.pk for c in clinicians])


def test_no_clinician_a_moved_ones_and_no_patient(clinic, monkeypatch):
    consultation, rooms, clinicians, patient = clinic
    consultation.needs_clinician = False
    consultation.save()
    common = {"appointment_type": consultation, "room_id": None, "clinician_id": None}
    common |= {"hold": None, "key": None}
    seen = _both(monkeypatch, also_clinician_id=None, patient_id=patient.pk, **common)
    assert _ids(seen) == ([rooms[0].pk, rooms[1].pk], [])
    seen = _both(monkeypatch, also_clinician_id=clinicians[1].pk, patient_id=None, **common)
    assert _ids(seen) == ([rooms[0].pk, rooms[1].pk], [clinicians[1].pk])
    assert seen[2] is None


def test_a_missing_patient_is_does_not_exist_on_both_paths(clinic, monkeypatch):
    consultation, *_ = clinic
    asked = {"appointment_type": consultation, "room_id": None, "clinician_id": None}
    asked |= {"hold": None, "also_clinician_id": None, "patient_id": 987654, "key": None}
    with pytest.raises(Patient.DoesNotExist), transaction.atomic():
        lock_candidates(**asked)
    with monkeypatch.context() as patch, pytest.raises(Patient.DoesNotExist):
        patch.setattr(connection, "vendor", "sqlite")
        with transaction.atomic():
            lock_candidates(**asked)
