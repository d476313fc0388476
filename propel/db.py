"""Database helpers shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db import OperationalError, connection, migrations

# PostgreSQL's SQLSTATE for "lock_not_available": a lock wait ran past lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"


def set_local_lock_timeout(ms: int) -> None:
    """Inside the caller's transaction, make a row lock wait at most `ms` milliseconds
    (PostgreSQL's SET LOCAL lock_timeout; it ends with the transaction). A no-op elsewhere."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{ms}ms"])


def is_lock_timeout(error: OperationalError) -> bool:
    """Whether a database error is a lock wait past lock_timeout (to answer "busy, try again")
    rather than a fault to raise."""
    return getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs only on PostgreSQL.

    The guarantees that need PostgreSQL (exclusion constraints, the audit trigger) are written as
    SQL rather than model Meta so that the SQLite demo database, which cannot express them, keeps
    migrating; the booking services re-check in code, and the tests run on PostgreSQL.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)
