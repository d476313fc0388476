"""appointment_transition: which status may follow which, history, audit, and lost updates."""

from __future__ import annotations

import pytest

from propel.models import AuditEvent
from scheduling.booking import appointment_transition
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentStatus, AppointmentStatusChange
from tests.factories import AppointmentFactory, UserFactory

pytestmark = pytest.mark.django_db

S = AppointmentStatus


@pytest.mark.parametrize(
    ("path"),
    [
        [S.CHECKED_IN, S.COMPLETED],
        [S.CANCELLED],
        [S.NO_SHOW],
        [S.CHECKED_IN, S.CANCELLED],
    ],
)
def test_allowed_paths_record_each_step(path):
    appointment = AppointmentFactory()
    actor = UserFactory()
    for status in path:
        appointment_transition(appointment_id=appointment.pk, to_status=status, actor=actor)
    appointment.refresh_from_db()
    assert appointment.status == path[-1]
    steps = list(
        AppointmentStatusChange.objects.filter(appointment=appointment).values_list(
            "from_status", "to_status"
        )
    )
    assert steps == list(zip([S.BOOKED, *path[:-1]], path, strict=True))
    assert AuditEvent.objects.filter(patient_id=appointment.patient_id).count() == len(path)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.COMPLETED, S.CANCELLED),
        (S.CANCELLED, S.BOOKED),
        (S.CANCELLED, S.CHECKED_IN),
        (S.NO_SHOW, S.COMPLETED),
        (S.BOOKED, S.COMPLETED),
    ],
)
def test_forbidden_transitions_are_refused_and_change_nothing(start, target):
    appointment = AppointmentFactory(status=start)
    with pytest.raises(SchedulingError) as refused:
        appointment_transition(appointment_id=appointment.pk, to_status=target)
    assert refused.value.code == "bad_transition"
    assert Appointment.objects.get(pk=appointment.pk).status == start
    assert not AppointmentStatusChange.objects.exists()


def test_cancel_reason_is_kept(patient):
    appointment = AppointmentFactory()
    appointment_transition(
        appointment_id=appointment.pk, to_status=S.CANCELLED, reason="Patient unwell"
    )
    assert AppointmentStatusChange.objects.get().reason == "Patient unwell"


def test_an_unknown_appointment_is_a_clear_error():
    with pytest.raises(SchedulingError) as refused:
        appointment_transition(appointment_id=424242, to_status=S.CANCELLED)
    assert refused.value.code == "not_found"


def test_a_change_made_meanwhile_by_someone_else_is_not_overwritten(monkeypatch):
    appointment = AppointmentFactory()
    real_filter = Appointment.objects.filter

    def read_then_someone_else_cancels(*args, **kwargs):
        result = real_filter(*args, **kwargs)
        if kwargs == {"pk": appointment.pk}:
            result._fetch_all()  # the service has read "booked"...
            real_filter(pk=appointment.pk).update(status=S.CANCELLED)  # ...then this lands
        return result

    monkeypatch.setattr(Appointment.objects, "filter", read_then_someone_else_cancels)
    with pytest.raises(SchedulingError) as refused:
        appointment_transition(appointment_id=appointment.pk, to_status=S.CHECKED_IN)
    assert refused.value.code == "stale"
    assert not AppointmentStatusChange.objects.exists()
