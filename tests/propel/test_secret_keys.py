"""The secret that signs patient links (issue 16, finding 10; docs/deployment.md, key rotation).

Demo mode no longer signs with a key written in the source, which let anyone on the network forge a
patient link: each installation makes its own random key on first start (propel.demo_secret).
Production rotates keys through SECRET_KEY_FALLBACKS."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from intake.links import patient_from_token, patient_link_token
from propel.demo_secret import SECRET_FILE_NAME, demo_secret_key
from tests.propel.test_settings import DEMO_SECRET_KEY, production_env, run_python

NEW_KEY = "rotated-" + "n" * 60
PRINT_SETTING = (
    "import django; django.setup(); from django.conf import settings; print(settings.{})"
)


def demo_env(var_dir: Path) -> dict[str, str]:
    return production_env(
        var_dir, PROPEL_MODE=None, SECRET_KEY=None, ALLOWED_HOSTS=None, DATABASE_URL=None
    )


def test_two_fresh_demo_installations_start_with_different_private_keys(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    keys = []
    for var_dir in (first, second):
        result = run_python(["-c", PRINT_SETTING.format("SECRET_KEY")], demo_env(var_dir))
        assert result.returncode == 0, result.stderr
        keys.append(result.stdout.strip())
    assert keys[0] != keys[1]
    assert all(len(key) >= 50 and key != DEMO_SECRET_KEY for key in keys)
    for var_dir, key in zip((first, second), keys, strict=True):
        path = var_dir / SECRET_FILE_NAME
        assert path.read_text().strip() == key
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_demo_installation_keeps_its_key_from_one_start_to_the_next(tmp_path: Path) -> None:
    first = demo_secret_key(tmp_path)
    assert demo_secret_key(tmp_path) == first
    assert [path.name for path in tmp_path.iterdir()] == [SECRET_FILE_NAME]  # no drafts left


@pytest.mark.django_db
def test_a_link_signed_with_the_old_public_demo_key_no_longer_opens(settings, patient) -> None:
    assert django_settings.SECRET_KEY != DEMO_SECRET_KEY
    current = settings.SECRET_KEY
    settings.SECRET_KEY = DEMO_SECRET_KEY
    forged = patient_link_token(patient)
    assert patient_from_token(forged) == patient  # a real link, under that key
    settings.SECRET_KEY = current
    assert patient_from_token(forged) is None


@pytest.mark.django_db
def test_a_link_signed_under_a_rotated_key_opens_while_that_key_is_a_fallback(
    settings, patient
) -> None:
    old_key = settings.SECRET_KEY
    token = patient_link_token(patient)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [old_key]
    assert patient_from_token(token) == patient

    settings.SECRET_KEY_FALLBACKS = []
    assert patient_from_token(token) is None


def test_fallback_keys_are_read_from_the_environment(tmp_path: Path) -> None:
    old = "old-" + "o" * 60
    env = production_env(tmp_path, SECRET_KEY_FALLBACKS=f"{old}, {'p' * 60}")
    result = run_python(["-c", PRINT_SETTING.format("SECRET_KEY_FALLBACKS")], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([old, "p" * 60])
