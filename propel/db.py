"""Database helpers shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db import migrations


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
