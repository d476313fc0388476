"""Production settings refuse to start on a dangerous or incomplete configuration.

Settings are read once per process, so each case starts a new interpreter whose environment holds
only what the test gives it (plus PATH). test_deploy_check.py reuses the helpers below.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
DEMO_SECRET_KEY = "demo-only-insecure-secret-key-never-use-in-production-0123456789"


def production_env(var_dir: Path, **overrides: str | None) -> dict[str, str]:
    """A complete, valid production environment; an override of None removes that variable."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "propel.settings",
        "PROPEL_VAR_DIR": str(var_dir),
        "PROPEL_MODE": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "ALLOWED_HOSTS": "clinic.example",
        # Never connected to by these tests (django.setup() opens no connection).
        "DATABASE_URL": "postgres://propel_app@db.clinic.example:5432/propel",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter with fixed arguments
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def django_setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_python(["-c", "import django; django.setup()"], env)


def test_a_complete_production_configuration_starts(tmp_path: Path) -> None:
    result = django_setup(production_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_demo_mode_starts_with_no_configuration_at_all(tmp_path: Path) -> None:
    result = django_setup(
        production_env(
            tmp_path, PROPEL_MODE=None, SECRET_KEY=None, ALLOWED_HOSTS=None, DATABASE_URL=None
        )
    )
    assert result.returncode == 0, result.stderr


def test_demo_mode_serves_this_machine_only(tmp_path: Path) -> None:
    result = django_setup(
        production_env(
            tmp_path, PROPEL_MODE=None, SECRET_KEY=None, ALLOWED_HOSTS="clinic.example,localhost"
        )
    )
    assert result.returncode != 0
    assert "ALLOWED_HOSTS may only name this machine in demo mode" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        pytest.param({"SECRET_KEY": None}, "SECRET_KEY", id="secret-key-missing"),
        pytest.param({"SECRET_KEY": "x" * 49}, "SECRET_KEY", id="secret-key-too-short"),
        pytest.param({"SECRET_KEY": DEMO_SECRET_KEY}, "SECRET_KEY", id="secret-key-is-demo-key"),
        pytest.param({"DEBUG": "true"}, "DEBUG", id="debug-on"),
        pytest.param({"DEBUG": "maybe"}, "DEBUG", id="debug-not-a-boolean"),
        pytest.param({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS", id="allowed-hosts-missing"),
        pytest.param({"ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS", id="allowed-hosts-blank"),
        pytest.param({"PROPEL_MODE": "bogus"}, "PROPEL_MODE", id="mode-bogus"),
        pytest.param({"DATABASE_URL": "mysql://db/propel"}, "DATABASE_URL", id="database-url"),
        pytest.param({"DATABASE_URL": None}, "DATABASE_URL", id="database-url-missing"),
        pytest.param(
            {"DATABASE_URL": "sqlite:///var/propel.sqlite3"}, "DATABASE_URL", id="database-sqlite"
        ),
        pytest.param(
            {"SECRET_KEY_FALLBACKS": "too-short"}, "SECRET_KEY_FALLBACKS", id="fallback-too-short"
        ),
        pytest.param(
            {"SECRET_KEY_FALLBACKS": DEMO_SECRET_KEY}, "SECRET_KEY_FALLBACKS", id="fallback-demo"
        ),
        pytest.param({"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL", id="redis-url"),
        pytest.param({"CLINIC_TIME_ZONE": "Mars/Base"}, "CLINIC_TIME_ZONE", id="time-zone"),
        pytest.param({"STAFF_IDLE_MINUTES": "0"}, "STAFF_IDLE_MINUTES", id="idle-out-of-range"),
    ],
)
def test_production_refuses_to_start(
    tmp_path: Path, overrides: dict[str, str | None], variable: str
) -> None:
    result = django_setup(production_env(tmp_path, **overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
