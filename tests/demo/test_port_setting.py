"""PORT is the one setting for the demo's address: the links in emails and texts follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.propel.test_settings import production_env, run_python

PRINT_SITE_URL = (
    "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
)


def demo_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    return production_env(
        tmp_path,
        PROPEL_MODE=None,
        SECRET_KEY=None,
        ALLOWED_HOSTS=None,
        DATABASE_URL=None,
        **overrides,
    )


@pytest.mark.parametrize(
    ("port", "site_url", "expected"),
    [
        (None, None, "http://127.0.0.1:8000"),
        ("8080", None, "http://127.0.0.1:8080"),
        ("8080", "https://clinic.example/", "https://clinic.example"),
    ],
)
def test_site_url_follows_port_unless_set(tmp_path, port, site_url, expected):
    result = run_python(["-c", PRINT_SITE_URL], demo_env(tmp_path, PORT=port, SITE_URL=site_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_a_port_that_is_not_a_port_is_refused(tmp_path):
    result = run_python(["-c", PRINT_SITE_URL], demo_env(tmp_path, PORT="eighty"))
    assert result.returncode != 0
    assert "PORT" in result.stderr
