"""scripts/start-production works the first time (issue 16, finding 6): on an empty static folder
it migrates as the owner, collects the static files, passes `check --deploy` and hands over to
gunicorn with gunicorn.conf.py (a stand-in here that prints its arguments)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.app_role import APP_PASSWORD, owner_params
from tests.propel.test_settings import BASE_DIR, production_env

pytestmark = pytest.mark.postgres


def database_url(user: str, password: str | None) -> str:
    params = owner_params(connection.settings_dict["NAME"])
    secret = f":{password}" if password else ""
    return f"postgres://{user}{secret}@{params['host']}:{params['port']}/{params['dbname']}"


# The mark makes pytest-django build the test database (the script migrates it); the test itself
# opens no connection, so the script's migrate waits on no lock of ours.
@pytest.mark.django_db
def test_the_production_start_collects_static_files_and_starts_gunicorn(tmp_path: Path) -> None:
    fake_gunicorn = tmp_path / "gunicorn"
    fake_gunicorn.write_text('#!/bin/sh\necho "gunicorn started: $*"\n')
    fake_gunicorn.chmod(0o755)
    owner = owner_params("")  # the test database's builder, as the owner
    env = production_env(
        tmp_path / "var",
        DATABASE_URL=database_url(settings.DATABASE_APP_ROLE, APP_PASSWORD),
        DATABASE_OWNER_URL=database_url(owner["user"], owner["password"]),
        STATIC_ROOT=str(tmp_path / "static"),
        PYTHON=sys.executable,
        GUNICORN=str(fake_gunicorn),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )

    result = subprocess.run(  # noqa: S603 - our own script
        [str(BASE_DIR / "scripts" / "start-production")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "static" / "staticfiles.json").is_file()
    assert "gunicorn started: -c gunicorn.conf.py propel.wsgi --bind 0.0.0.0:8000" in result.stdout


def test_the_production_start_refuses_without_a_database(tmp_path: Path) -> None:
    env = production_env(tmp_path, DATABASE_URL=None, PYTHON=sys.executable)
    result = subprocess.run(  # noqa: S603 - our own script
        [str(BASE_DIR / "scripts" / "start-production")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
