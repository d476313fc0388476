"""Fixtures for the scheduling tests: tasks run eagerly, a small clinic for online booking, and
the staff pages' morning clock."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import time_machine

from tests.clinic_time import TUESDAY, at, stopped_clock
from tests.eager import eager_tasks
from tests.factories import consult_clinic


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    """Tasks queued after commit run in the test's process, so nothing reaches a real broker."""
    with eager_tasks():
        yield


@pytest.fixture
def morning() -> Iterator[time_machine.Traveller]:
    """The staff pages' clock: Tuesday 5 January 2027, 7:00 in the clinic, before it opens."""
    yield from stopped_clock(at(TUESDAY, 7))


@pytest.fixture
def online_clinic(db) -> SimpleNamespace:
    """Monday to Friday 9-7, the self-bookable consultation, one consult room, one clinician."""
    return consult_clinic()
