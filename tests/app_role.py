"""The suite runs connected as the app role, as production does (propel.db_roles; issue 16), so a
grant the site needs and lacks fails a test.

- Before the test databases are built, the owner and app roles are created when missing (as the
  DATABASE_URL user, a superuser on a developer's machine and in CI).
- The test databases are built and migrated as that user, as always; the post_migrate handler
  (propel.db_roles.keep_app_grants) grants the app role its privileges.
- Then every connection's USER becomes the app role until the session ends (pytest-django drops
  the databases as the original user).
- A transactional test's flush (a TRUNCATE of every table) runs as the original user in a
  maintenance session (`propel.maintenance = on`, which the append-only tables' TRUNCATE trigger
  lets through); the app role has no TRUNCATE.
- `as_owner()` lets a test do what only the owner may (DDL, TRUNCATE) on purpose.

tests/conftest.py imports the fixtures. On SQLite none of this applies and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from django.test import TransactionTestCase

from propel.append_only import MAINTENANCE_SETTING
from propel.db_roles import roles_sql

# Role creation is cluster-wide and pytest-xdist's workers start together: one at a time.
ROLES_LOCK = 16_016
APP_PASSWORD = "propel-app-test-password"  # a local test role


# The user each alias was built by (DATABASE_URL's), while the tests run as the app role.
OWNERS: dict[str, tuple[str, str]] = {}


def owner_params(dbname: str, alias: str = "default") -> dict[str, Any]:
    """psycopg.connect() keywords for the owner (the user that built the test database)."""
    settings_dict = connections[alias].settings_dict
    user, password = OWNERS.get(alias, (settings_dict["USER"], settings_dict["PASSWORD"]))
    return {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": settings_dict["PORT"] or 5432,
        "user": user,
        "password": password or None,
        "dbname": dbname,
        "autocommit": True,
    }


def _postgres_aliases() -> list[str]:
    return [alias for alias in connections if connections[alias].vendor == "postgresql"]


def _create_roles(alias: str) -> None:
    with psycopg.connect(**owner_params("postgres", alias)) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [ROLES_LOCK])
        try:
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [settings.DATABASE_APP_ROLE]
            ).fetchone()
            if not exists:
                for statement in roles_sql(
                    owner=settings.DATABASE_OWNER_ROLE,
                    owner_password="",
                    app=settings.DATABASE_APP_ROLE,
                    app_password=APP_PASSWORD,
                ):
                    conn.execute(statement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [ROLES_LOCK])


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    for alias in _postgres_aliases():
        _create_roles(alias)


@contextmanager
def _connected_as(user: str, password: str, aliases: list[str], **options: str) -> Iterator[None]:
    """Every connection in `aliases` reconnects as `user` (with extra connection `options`) inside
    the block, and as whoever it was before afterwards."""
    saved = {}
    for alias in aliases:
        connection = connections[alias]
        connection.close()
        settings_dict = connection.settings_dict
        saved[alias] = (settings_dict["USER"], settings_dict["PASSWORD"], settings_dict["OPTIONS"])
        settings_dict["USER"], settings_dict["PASSWORD"] = user, password
        settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **options}
    try:
        yield
    finally:
        for alias, (old_user, old_password, old_options) in saved.items():
            connection = connections[alias]
            connection.close()
            settings_dict = connection.settings_dict
            settings_dict["USER"], settings_dict["PASSWORD"] = old_user, old_password
            settings_dict["OPTIONS"] = old_options


@contextmanager
def as_owner(*, maintenance: bool = False) -> Iterator[None]:
    """The default connection as the user that built the test database (the owner), for a test
    that changes the schema or truncates on purpose; `maintenance` also sets propel.maintenance.
    Closes the connection on the way in and out: for transactional tests only."""
    if "default" not in OWNERS:
        yield
        return
    options = {"options": f"-c {MAINTENANCE_SETTING}=on"} if maintenance else {}
    with _connected_as(*OWNERS["default"], ["default"], **options):
        yield


def _flush_as_owner(original: Any) -> Any:
    def flush(self: TransactionTestCase) -> None:
        aliases = [
            alias
            for alias in self._databases_names(include_mirrors=False)  # type: ignore[attr-defined]
            if alias in OWNERS
        ]
        if not aliases:
            return original(self)
        # One owner for every alias: the suite has one database.
        with _connected_as(*OWNERS[aliases[0]], aliases, options=f"-c {MAINTENANCE_SETTING}=on"):
            original(self)

    return flush


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    aliases = _postgres_aliases()
    for alias in aliases:
        settings_dict = connections[alias].settings_dict
        OWNERS[alias] = (settings_dict["USER"], settings_dict["PASSWORD"])
    original = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _flush_as_owner(original)  # type: ignore[method-assign]
    try:
        with _connected_as(settings.DATABASE_APP_ROLE, APP_PASSWORD, aliases):
            yield
    finally:
        TransactionTestCase._fixture_teardown = original  # type: ignore[method-assign]
        OWNERS.clear()
