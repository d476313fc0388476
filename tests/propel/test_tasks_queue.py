"""propel.tasks_queue.enqueue_on_commit: services queue tasks by name, after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from propel import tasks as propel_tasks
from propel.tasks_queue import enqueue_on_commit, task_by_name

pytestmark = pytest.mark.django_db

HEARTBEAT = "propel.tasks.heartbeat"


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(propel_tasks.heartbeat, "delay", lambda *args: calls.append(args))
    return calls


def test_the_task_is_found_by_its_registered_name():
    assert task_by_name(HEARTBEAT).name == HEARTBEAT


def test_an_unknown_name_fails_at_the_call_not_after_commit():
    with pytest.raises(KeyError):
        enqueue_on_commit("propel.tasks.no_such_task")


def test_the_task_is_queued_only_after_commit(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(HEARTBEAT, 7, 8)
        assert queued == []
    assert queued == [(7, 8)]


def test_nothing_is_queued_when_the_transaction_rolls_back(queued):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        enqueue_on_commit(HEARTBEAT, 1)
        raise Boom
    assert queued == []


def test_a_broker_outage_is_handed_to_on_error_not_raised(
    monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(propel_tasks.heartbeat, "delay", down)
    errors: list[Exception] = []
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(HEARTBEAT, 1, on_error=errors.append)
    assert [type(error) for error in errors] == [ConnectionError]
