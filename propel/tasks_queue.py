"""Queue a Celery task after the current transaction commits, naming it instead of importing it.

Tasks import services; services never import tasks. A service that must hand work to a worker
calls `enqueue_on_commit("intake.tasks.send_crisis_alert", alert.pk)`: the task is looked up by
its registered name in the Celery app and `.delay()`-ed once the rows it will read are committed
(never before, so a fast worker cannot miss them; never at all if the transaction rolls back).

A broker outage at that moment must not turn a committed change into an error page: the failure is
logged and handed to `on_error`, and the caller's sweep or audit trail picks it up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from importlib import import_module
from typing import Any

from celery import Task
from django.db import transaction

from propel.celery import app

logger = logging.getLogger(__name__)


def task_by_name(name: str) -> Task[Any, Any]:
    """The registered task called `name`; KeyError if no installed app defines it."""
    task = app.tasks.get(name)
    if task is None:
        # Outside a worker a tasks module is imported lazily: a web process that never imported
        # it does not know the name yet. Every task is named module.function, so importing the
        # module registers it. (Celery's app.loader.import_default_modules would too, but its
        # Django fixup runs django.setup() again, which re-applies LOGGING in the middle of a
        # request and drops the handlers added since, such as pytest's log capture.)
        with suppress(ImportError):
            import_module(name.rpartition(".")[0])
        task = app.tasks[name]
    return task


def enqueue_on_commit(
    task_name: str,
    *args: int,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """After the current transaction commits, `.delay(*args)` the task named `task_name`.

    Arguments are ids (never model instances or health information). The name is checked now, so
    a typo fails at the call site; the broker is only touched after commit. If queueing fails the
    error is logged and passed to `on_error` (if given); it is not raised.
    """
    task_by_name(task_name)
    transaction.on_commit(partial(_enqueue, task_name, args, on_error))


def _enqueue(
    task_name: str, args: tuple[int, ...], on_error: Callable[[Exception], None] | None
) -> None:
    try:
        task_by_name(task_name).delay(*args)
    except Exception as error:
        logger.exception("could not queue %s%r", task_name, args)
        if on_error is not None:
            on_error(error)
