"""Fixtures for the online-booking tests: a small clinic, tasks run eagerly."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.eager import eager_tasks
from tests.factories import consult_clinic


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    """Tasks queued after commit run in the test's process, so nothing reaches a real broker."""
    with eager_tasks():
        yield


@pytest.fixture
def online_clinic(db) -> SimpleNamespace:
    """Monday to Friday 9-7, the self-bookable consultation, one consult room, one clinician."""
    return consult_clinic()
