"""The drain's per-message lock compiled once (scheduling.reminders.message_lock) gives the same
model instances as the ORM's queryset (the SQLite path): the rows still `sending`, by id, with
the relations the send reads, for a lone row and a batch, about an appointment, a patient or a
booking request; and it still locks them."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict

from scheduling.models import BookingRequest, Reminder, ReminderState
from scheduling.reminders.chunks import read_chunk
from scheduling.reminders.message_lock import lock_message_rows
from tests import factories as make

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DUE = dt.datetime(2027, 1, 4, 16, 0, tzinfo=dt.UTC)


def _sending(**fields) -> Reminder:
    return Reminder.objects.create(
        channel="email", due_at=DUE, state=ReminderState.SENDING, attempts=1, **fields
    )


def _seen(rows: list[Reminder]) -> list[dict]:
    """Each row's columns and those of every related instance the lock query loaded."""
    seen = []
    for row in rows:
        cached = {
            name: model_to_dict(value) if value is not None else None
            for name, value in row._state.fields_cache.items()
        }
        nested = {
            f"appointment.{name}": model_to_dict(value)
            for name, value in (
                row.appointment._state.fields_cache.items() if row.appointment_id else []
            )
        }
        seen.append({"row": model_to_dict(row), **cached, **nested})
    return seen


def _both(monkeypatch, message):
    with transaction.atomic():
        fixed = lock_message_rows(message)
    with monkeypatch.context() as patch, transaction.atomic():
        patch.setattr(connection, "vendor", "sqlite")
        orm = lock_message_rows(message)
    return fixed, orm


def test_every_shape_gives_the_instances_the_queryset_gives(monkeypatch, django_assert_num_queries):
    appointment = make.AppointmentFactory()
    patient = make.PatientFactory()
    request = BookingRequest.objects.create(
        first_name="Robin",
        last_name="Example",
        date_of_birth=dt.date(1990, 1, 1),
        email="robin@example.test",
        mobile="+15555550100",
        start=DUE,
        hold_key="key-1",
        expires_at=DUE,
    )
    batch = uuid.uuid4()
    lone = _sending(appointment=appointment, kind="consultation_24h")
    first = _sending(appointment=appointment, kind="confirmation", batch=batch)
    second = _sending(
        appointment=make.AppointmentFactory(patient=appointment.patient, start=DUE),
        kind="confirmation",
        batch=batch,
    )
    done = Reminder.objects.create(
        appointment=appointment, kind="infusion_2h", channel="email", due_at=DUE, batch=batch,
        state=ReminderState.SENT,
    )  # fmt: skip
    about_patient = _sending(patient=patient, kind="patient_link")
    about_request = _sending(booking_request=request, kind="booking_request_received")
    messages = read_chunk([lone.pk, first.pk, about_patient.pk, about_request.pk]).messages
    assert len(messages) == 4
    for message in messages:
        fixed, orm = _both(monkeypatch, message)
        assert fixed and _seen(fixed) == _seen(orm)
    batch_rows, _ = _both(monkeypatch, messages[1])
    assert [row.pk for row in batch_rows] == [first.pk, second.pk]  # by id, not the sent one
    assert done.pk not in {row.pk for row in batch_rows}
    with django_assert_num_queries(0):  # what the send reads came with the lock
        assert batch_rows[1].appointment.appointment_type.name
        assert batch_rows[1].appointment.patient.pk == appointment.patient_id


def test_a_row_no_longer_sending_is_not_locked():
    reminder = _sending(appointment=make.AppointmentFactory(), kind="consultation_24h")
    (message,) = read_chunk([reminder.pk]).messages
    Reminder.objects.filter(pk=reminder.pk).update(state=ReminderState.SENT)
    with transaction.atomic():
        assert lock_message_rows(message) == []
