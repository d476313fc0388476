"""The check every append-only model's test makes (propel.append_only): no way through the ORM
changes or removes a stored row."""

from __future__ import annotations

import pytest
from django.db.models import Model, QuerySet

from propel.append_only import AppendOnlyError


def assert_append_only(row: Model, rows: QuerySet, **change: object) -> None:
    """Saving `row` (changed by the caller) and deleting it are refused, and so are
    `rows.update(**change)` and `rows.delete()`, each with AppendOnlyError."""
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        rows.all().update(**change)
    with pytest.raises(AppendOnlyError):
        rows.all().delete()
