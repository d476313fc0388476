"""Append-only models: rows can be added, never changed or deleted, by any application code path.

On PostgreSQL triggers (propel migration 0002's function, attached per table with
`append_only_trigger`) refuse UPDATE and DELETE row by row and TRUNCATE for the whole table, so raw
SQL cannot rewrite history either, whoever is connected. The only way past the TRUNCATE trigger is
a maintenance session (`SET propel.maintenance = 'on'`, MAINTENANCE_SETTING below): the test suite's
flush between transactional tests, or a DBA following docs/deployment.md. The application's role
has no UPDATE, DELETE or TRUNCATE privilege on these tables in the first place (propel.db_roles).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

from propel.db import PostgresOnlySQL


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an append-only row."""


_M = TypeVar("_M", bound=models.Model)


class AppendOnlyQuerySet(models.QuerySet[_M]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model._meta.verbose_name} rows cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.verbose_name} rows cannot be deleted")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name} rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self._meta.verbose_name} rows cannot be deleted")


# The session setting that lets a TRUNCATE of an append-only table through (propel migration 0003).
MAINTENANCE_SETTING = "propel.maintenance"


def append_only_trigger(table: str) -> PostgresOnlySQL:
    """A migration operation that makes `table` append-only in PostgreSQL: a row trigger refusing
    UPDATE and DELETE, and a statement trigger refusing TRUNCATE (outside a maintenance session)."""
    return PostgresOnlySQL(
        f"""CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION propel_audit_append_only();
        {truncate_trigger_sql(table)}""",
        f"""DROP TRIGGER IF EXISTS {table}_append_only ON {table};
        DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};""",
    )


def truncate_trigger_sql(table: str) -> str:
    """The statement trigger that refuses TRUNCATE of `table` (idempotent: OR REPLACE)."""
    return f"""CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION propel_audit_append_only();"""
