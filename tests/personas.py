"""Personas as clients (as healthchecks' alice/bob/charlie): a signed-in client per role, and the
access every staff page gives each persona. The persona users themselves are the fixtures in
tests/conftest.py (front_desk, clinician_user, admin_user, no_role_user)."""

from __future__ import annotations

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

# A staff page any staff role reads: (persona fixture or None for anonymous, status code).
STAFF_PAGE_ACCESS = [
    (None, 302),
    ("no_role_user", 403),
    ("front_desk", 200),
    ("clinician_user", 200),
    ("admin_user", 200),
]


def verified_client(user) -> Client:
    """A client signed in as `user` with the second factor passed (a backup-code device)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
