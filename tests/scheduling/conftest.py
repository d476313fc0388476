"""Fixtures for the online-booking tests: a small clinic, tasks run eagerly."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from propel.celery import app as celery_app
from tests.factories import AppointmentTypeFactory, ClinicianFactory, RoomFactory, open_weekdays


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    """Tasks queued after commit run in the test's process, so nothing reaches a real broker."""
    conf = celery_app.conf
    previous = (conf.task_always_eager, conf.task_eager_propagates)
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = previous


@pytest.fixture
def online_clinic(db) -> SimpleNamespace:
    """Monday to Friday 9-7, the self-bookable consultation, one consult room, one clinician."""
    open_weekdays()
    return SimpleNamespace(
        consultation=AppointmentTypeFactory(),
        room=RoomFactory(name="Consult A"),
        clinician=ClinicianFactory(display_name="Dr Example"),
    )
