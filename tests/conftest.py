"""Shared fixtures: personas (as in healthchecks' alice/bob/charlie), and a guard that makes every
test marked `postgres` fail, never skip, when the database is not PostgreSQL. (`make test` checks
first that PostgreSQL and Redis answer; see scripts/preflight.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from propel.roles import Role
from tests.factories import PatientFactory, UserFactory


def pytest_configure(config: pytest.Config) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _postgres_for_marked_tests(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres"):
        from django.db import connection

        assert connection.vendor == "postgresql", (
            "this test needs PostgreSQL: set DATABASE_URL=postgres://... (make test does)"
        )


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    """Rate-limit counters live in the shared cache (Redis under `make test`): a key prefix of the
    test's own keeps tests, and parallel runs on the same Redis, from counting each other's hits,
    without flushing anyone's data."""
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")


def verified_client(user) -> Client:
    """A client signed in as `user` with the second factor passed (a backup-code device)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def front_desk(db):
    return UserFactory(username="frontdesk", role=Role.FRONT_DESK)


@pytest.fixture
def clinician_user(db):
    return UserFactory(username="clinician", role=Role.CLINICIAN)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN)


@pytest.fixture
def no_role_user(db):
    return UserFactory(username="norole")


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def other_patient(db):
    return PatientFactory()


@pytest.fixture
def client_for() -> Callable:
    return verified_client
