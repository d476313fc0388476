"""The booking's INSERTs as fixed SQL text on PostgreSQL (scheduling.fixed_insert) write the same
rows as the ORM's bulk_create (the SQLite path): every column, defaults and timestamps included;
ids come back in order; a constraint's refusal is the same IntegrityError."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict

from scheduling.fixed_insert import insert_instances, insert_rows
from scheduling.models import Appointment, AppointmentStatusChange, Reminder
from scheduling.resources import error_from_constraint
from tests import factories as make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

START = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)
STAMPS = {"id", "created_at", "updated_at", "appointment_id"}


def _columns(obj) -> dict:
    return {
        field.attname: getattr(obj, field.attname)
        for field in type(obj)._meta.concrete_fields
        if field.attname not in STAMPS
    }


def _both(monkeypatch, write):
    """What `write` stores on the fixed SQL path and on the ORM's path (vendor not postgresql)."""
    fixed = write()
    with monkeypatch.context() as patch:
        patch.setattr(connection, "vendor", "sqlite")
        orm = write()
    return fixed, orm


def test_reminder_rows_are_the_same_on_both_paths(monkeypatch):
    appointments = iter([make.AppointmentFactory(), make.AppointmentFactory()])
    batch = uuid.uuid4()

    def write():
        appointment = next(appointments)
        rows = [
            {"appointment_id": appointment.pk, "kind": "confirmation", "channel": "email",
             "due_at": START, "batch": batch},
            {"appointment_id": appointment.pk, "kind": "infusion_2h", "channel": "sms",
             "due_at": START + dt.timedelta(hours=1)},
        ]  # fmt: skip
        return insert_rows(Reminder, rows)

    fixed, orm = _both(monkeypatch, write)
    assert len(fixed) == len(orm) == 2
    assert fixed == sorted(fixed) and orm == sorted(orm)  # ids in the rows' order
    fixed_rows = [_columns(row) for row in Reminder.objects.filter(pk__in=fixed).order_by("pk")]
    orm_rows = [_columns(row) for row in Reminder.objects.filter(pk__in=orm).order_by("pk")]
    assert fixed_rows == orm_rows
    # Defaults filled in as the model gives them, timestamps set.
    assert fixed_rows[1]["batch"] is None and fixed_rows[0]["batch"] == batch
    stored = Reminder.objects.get(pk=fixed[0])
    assert (stored.state, stored.attempts, stored.last_error) == ("pending", 0, "")
    assert stored.created_at is not None and stored.updated_at is not None


def test_status_history_is_the_same_on_both_paths(monkeypatch):
    appointment = make.AppointmentFactory()
    desk = make.UserFactory(front_desk=True)
    row = {"appointment_id": appointment.pk, "to_status": "booked", "at": START, "by_id": desk.pk}
    fixed, orm = _both(monkeypatch, lambda: insert_rows(AppointmentStatusChange, [row]))
    assert model_to_dict(AppointmentStatusChange.objects.get(pk=fixed[0]), exclude=["id"]) == (
        model_to_dict(AppointmentStatusChange.objects.get(pk=orm[0]), exclude=["id"])
    )


def _unsaved(room, start: dt.datetime) -> Appointment:
    kind = make.AppointmentTypeFactory()
    return Appointment(
        patient=make.PatientFactory(),
        appointment_type=kind,
        room=room,
        clinician=make.ClinicianFactory(),
        start=start,
        end=start + kind.duration,
    )


def test_instances_get_their_ids_and_count_as_saved(monkeypatch):
    room = make.RoomFactory()
    fixed = [_unsaved(room, START), _unsaved(room, START + dt.timedelta(days=1))]
    orm = [_unsaved(room, START + dt.timedelta(days=2))]
    insert_instances(fixed)
    with monkeypatch.context() as patch:
        patch.setattr(connection, "vendor", "sqlite")
        insert_instances(orm)
    for obj in [*fixed, *orm]:
        assert obj.pk is not None and not obj._state.adding
        stored = Appointment.objects.get(pk=obj.pk)
        assert _columns(stored) == _columns(obj)
        assert stored.created_at == obj.created_at
    assert fixed[0].pk < fixed[1].pk
    assert {(a.status, a.sequence) for a in [*fixed, *orm]} == {("booked", 0)}


def test_an_overlap_is_refused_with_the_constraint_named():
    room = make.RoomFactory()
    insert_instances([_unsaved(room, START)])
    clash = _unsaved(room, START + dt.timedelta(minutes=10))
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        insert_instances([clash])
    assert error_from_constraint(refused.value, room, None).code == "room_taken"
