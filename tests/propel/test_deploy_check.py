"""`manage.py check --deploy --fail-level WARNING` is clean with production settings once the
static files are collected, and names the missing manifest when they are not (issue 16, finding 6:
production answered 500 on every page until collectstatic had run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.propel.test_settings import production_env, run_python

CHECK_DEPLOY = [
    "manage.py",
    "check",
    "--deploy",
    "--fail-level",
    "WARNING",
    "--database",
    "default",
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    assert database_url.startswith(("postgres://", "postgresql://")), (
        "DATABASE_URL must point to the test PostgreSQL (run the suite with `make test`)"
    )
    env = production_env(
        tmp_path / "var", DATABASE_URL=database_url, STATIC_ROOT=str(tmp_path / "static")
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def test_check_deploy_passes_in_production_mode(env: dict[str, str]) -> None:
    collected = run_python(["manage.py", "collectstatic", "--noinput"], env)
    assert collected.returncode == 0, collected.stderr

    result = run_python(CHECK_DEPLOY, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_until_the_static_files_are_collected(env: dict[str, str]) -> None:
    result = run_python(CHECK_DEPLOY, env)

    assert result.returncode != 0
    assert "propel.E001" in result.stderr
    assert "collectstatic" in result.stderr
