"""`manage.py check --deploy` is clean with production settings (design.md, "Running it")."""

from __future__ import annotations

import os
from pathlib import Path

from tests.propel.test_settings import production_env, run_python


def test_check_deploy_passes_in_production_mode(tmp_path: Path) -> None:
    database_url = os.environ.get("DATABASE_URL", "")
    assert database_url.startswith(("postgres://", "postgresql://")), (
        "DATABASE_URL must point to the test PostgreSQL (run the suite with `make test`)"
    )
    env = production_env(tmp_path, DATABASE_URL=database_url)
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]

    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING", "--database", "default"],
        env,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
