"""A booking's three lock queries (rooms, clinicians, patient: scheduling.locking) compiled once
per shape on PostgreSQL (issue 18, item 2; scheduling.compiled_query).

The candidates (scheduling.resources.candidates) and the patient's read are the same few shapes
every time: a named room or every active room of the type's kind, a named clinician or every
active one or none, with or without the booking's own hold, a moved appointment's clinician, an
idempotency key. Each shape is built by those same functions with placeholders for the ids, the
hold and the key, compiled once and kept; a booking runs the kept text with its values. Elsewhere
(SQLite) the querysets run as they are. tests/scheduling/test_compiled_locks.py holds both paths
to the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import Q

from intake.models import Patient
from scheduling.compiled_query import Compiled, compile_queryset, run, slot
from scheduling.locking import clinicians_to_lock, lock_resources, patient_to_lock, rooms_to_lock
from scheduling.models import AppointmentType, Clinician, Room
from scheduling.resources import candidates

_ROOM = slot("room", int)
_CLINICIAN = slot("clinician", int)
_ALSO = slot("also", int)
_TYPE = slot("type", int)
_HOLD_KEY = slot("hold_key", str)
_START = slot("start", dt.datetime)
_NOW = slot("now", dt.datetime)
_PATIENT = slot("patient", int)
_KEY = slot("key", str)


@dataclass(frozen=True)
class _Shape:
    room_kind: str
    needs_clinician: bool
    room_given: bool
    clinician_given: bool
    held: bool
    also: bool


def _wanted(
    appointment_type: AppointmentType,
    *,
    room_id: int | None,
    clinician_id: int | None,
    hold: tuple[str, dt.datetime, dt.datetime] | None,
    also_clinician_id: int | None,
) -> tuple[Q, Q | None]:
    """The filters of the rooms and clinicians to lock (None: no clinician)."""
    chosen = candidates(appointment_type, room_id=room_id, clinician_id=clinician_id, hold=hold)
    clinicians = chosen.clinicians
    if also_clinician_id is not None:
        clinicians = Q(pk=also_clinician_id) | (clinicians or Q(pk__in=[]))
    return chosen.rooms, clinicians


@cache
def _resources(shape: _Shape) -> tuple[Compiled, Compiled | None]:
    stand_in = AppointmentType(
        pk=_TYPE, room_kind=shape.room_kind, needs_clinician=shape.needs_clinician
    )
    rooms, clinicians = _wanted(
        stand_in,
        room_id=_ROOM if shape.room_given else None,
        clinician_id=_CLINICIAN if shape.clinician_given else None,
        hold=(_HOLD_KEY, _START, _NOW) if shape.held else None,
        also_clinician_id=_ALSO if shape.also else None,
    )
    held = {"hold_key": _HOLD_KEY, "type": _TYPE, "start": _START, "now": _NOW}
    room_slots = ({"room": _ROOM} if shape.room_given else {}) | (held if shape.held else {})
    clinician_slots = (
        ({"clinician": _CLINICIAN} if shape.clinician_given else {})
        | ({"also": _ALSO} if shape.also else {})
        | (held if shape.held else {})
    )
    return (
        compile_queryset(rooms_to_lock(rooms), room_slots),
        compile_queryset(clinicians_to_lock(clinicians), clinician_slots)
        if clinicians is not None
        else None,
    )


@cache
def _patient(keyed: bool) -> Compiled:
    slots = {"patient": _PATIENT} | ({"key": _KEY} if keyed else {})
    return compile_queryset(patient_to_lock(_PATIENT, key=_KEY if keyed else None), slots)


def lock_candidates(
    appointment_type: AppointmentType,
    *,
    room_id: int | None,
    clinician_id: int | None,
    hold: tuple[str, dt.datetime, dt.datetime] | None,
    also_clinician_id: int | None,
    patient_id: int | None,
    key: str | None,
) -> tuple[list[Room], list[Clinician], Patient | None]:
    """Lock the candidate rooms and clinicians of a booking (scheduling.resources.candidates,
    and `also_clinician_id`) and its patient, as scheduling.locking.lock_resources does, and
    return them the same way (Patient.DoesNotExist when there is no such patient)."""
    if connection.vendor != "postgresql":
        rooms, clinicians = _wanted(
            appointment_type,
            room_id=room_id,
            clinician_id=clinician_id,
            hold=hold,
            also_clinician_id=also_clinician_id,
        )
        return lock_resources(rooms=rooms, clinicians=clinicians, patient_id=patient_id, key=key)
    shape = _Shape(
        room_kind=appointment_type.room_kind,
        needs_clinician=appointment_type.needs_clinician,
        room_given=room_id is not None,
        clinician_given=clinician_id is not None,
        held=hold is not None and room_id is None and clinician_id is None,
        also=also_clinician_id is not None,
    )
    hold_key, start, now = hold or ("", None, None)
    values = {
        "room": room_id,
        "clinician": clinician_id,
        "also": also_clinician_id,
        "type": appointment_type.pk,
        "hold_key": hold_key,
        "start": start,
        "now": now,
    }
    room_query, clinician_query = _resources(shape)
    rooms_locked = run(room_query, values)
    clinicians_locked = run(clinician_query, values) if clinician_query is not None else []
    if patient_id is None:
        return rooms_locked, clinicians_locked, None
    found = run(_patient(bool(key)), {"patient": patient_id, "key": key})
    if not found:
        raise Patient.DoesNotExist("Patient matching query does not exist.")
    return rooms_locked, clinicians_locked, found[0]
