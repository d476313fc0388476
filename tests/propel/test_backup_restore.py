"""Backup and restore as docs/deployment.md describes it: `pg_dump -Fc` of the site's database,
`pg_restore` into a fresh one; the rows come back, and so do the append-only triggers. Then
`manage.py db_roles`, run twice by the superuser on the restored copy, hands it to the owner role
and leaves the app role unable to rewrite the audit log there too."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from propel.audit import audit_record
from tests.app_role import APP_PASSWORD, owner_params
from tests.factories import PatientFactory
from tests.propel.test_settings import production_env, run_python

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

APPEND_ONLY = (
    "propel_auditevent",
    "intake_flagacknowledgement",
    "intake_clearancedecision",
    "intake_consentevent",
    "scheduling_visititemacknowledgement",
)


def pg_tool(tool: str, *args: str, dbname: str) -> None:
    params = owner_params(dbname)
    env = {**os.environ, "PGPASSWORD": params["password"] or ""}
    subprocess.run(  # noqa: S603 - PostgreSQL's own client with fixed arguments
        [tool, "-h", str(params["host"]), "-p", str(params["port"]), "-U", params["user"], *args],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def url(params: dict[str, object]) -> str:
    password = f":{params['password']}" if params["password"] else ""
    return f"postgres://{params['user']}{password}@{params['host']}:{params['port']}/{params['dbname']}"


@pytest.fixture
def restored(tmp_path: Path) -> Iterator[str]:
    """A fresh database restored from a pg_dump of the test database; dropped afterwards."""
    source = connection.settings_dict["NAME"]
    name = f"{source}_restored"
    dump = tmp_path / "propel.dump"
    pg_tool("pg_dump", "-Fc", "-f", str(dump), source, dbname=source)
    with psycopg.connect(**owner_params("postgres")) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pg_tool("pg_restore", "--exit-on-error", "-d", name, str(dump), dbname=name)
        yield name
    finally:
        with psycopg.connect(**owner_params("postgres")) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def rows_before_the_backup() -> dict[str, int]:
    patients = PatientFactory.create_batch(3)
    for patient in patients:
        audit_record(action="chart.viewed", patient_id=patient.pk)
    return {"intake_patient": 3, "propel_auditevent": 3}


def test_a_restored_backup_has_the_rows_and_the_append_only_triggers(
    rows_before_the_backup: dict[str, int], restored: str
) -> None:
    with psycopg.connect(**owner_params(restored)) as db:
        for table, count in rows_before_the_backup.items():
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            assert db.execute(query).fetchone() == (count,)
        triggers = {
            name
            for (name,) in db.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE '%append_only' "
                "OR tgname LIKE '%no_truncate'"
            ).fetchall()
        }
        assert triggers >= {
            f"{table}_{kind}" for table in APPEND_ONLY for kind in ("append_only", "no_truncate")
        }
        for statement in (
            "UPDATE propel_auditevent SET action = 'x'",
            "TRUNCATE propel_auditevent",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                db.execute(statement)


def test_db_roles_hands_a_restored_database_to_the_owner_and_is_idempotent(
    rows_before_the_backup: dict[str, int], restored: str, tmp_path: Path
) -> None:
    env = production_env(
        tmp_path,
        PROPEL_MODE=None,
        SECRET_KEY=None,
        ALLOWED_HOSTS=None,
        DATABASE_URL=url(owner_params(restored)),
        DATABASE_APP_PASSWORD=APP_PASSWORD,
    )
    for _ in range(2):
        result = run_python(["manage.py", "db_roles"], env)
        assert result.returncode == 0, result.stderr

    app, owner = settings.DATABASE_APP_ROLE, settings.DATABASE_OWNER_ROLE
    with psycopg.connect(**owner_params(restored)) as db:
        owners = db.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchall()
        assert owners == [(owner,)]
    as_app = {**owner_params(restored), "user": app, "password": APP_PASSWORD}
    with psycopg.connect(**as_app) as db:
        assert db.execute("SELECT count(*) FROM propel_auditevent").fetchone() == (3,)
        for statement in (
            "UPDATE propel_auditevent SET action = 'x'",
            "TRUNCATE propel_auditevent",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                db.execute(statement)
        db.execute("UPDATE intake_patient SET first_name = first_name")
