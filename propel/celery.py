import os
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "propel.settings")

app = Celery("propel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender: Celery, **kwargs: object) -> None:
    # kombu's filesystem transport (the server-less demo broker) needs its folders to exist before
    # a worker, beat or web process first touches them, however the process was started.
    if str(sender.conf.broker_url).startswith("filesystem:"):
        options = sender.conf.broker_transport_options or {}
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender: Task[Any, Any] | None = None, **kwargs: object) -> None:
    # A task is handled like a web request: connections past CONN_MAX_AGE or broken are closed,
    # and CONN_HEALTH_CHECKS re-checks the kept one before its first query (CELERY_DB_REUSE_MAX
    # stops Celery's fixup from closing it after every task). Eager tasks run inside the caller's
    # transaction (tests): its connection must not be touched.
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()
