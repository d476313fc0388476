"""Append-only models: rows can be added, never changed or deleted, by any application code path.

On PostgreSQL a trigger (propel migration 0002's function, attached per table with
`append_only_trigger`) refuses UPDATE and DELETE as well, so raw SQL cannot rewrite history either.
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


def append_only_trigger(table: str) -> PostgresOnlySQL:
    """A migration operation that makes `table` append-only in PostgreSQL."""
    return PostgresOnlySQL(
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION propel_audit_append_only();""",
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
    )
