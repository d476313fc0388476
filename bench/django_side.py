"""Helpers for the bench's in-process measurements (run as `python -m bench.items.<name>` by the
harness, with bench.settings and the database of the state being measured)."""

from __future__ import annotations

import json
import sys
from typing import Any


def setup() -> None:
    import django

    django.setup()


def emit(result: Any) -> None:
    """The harness reads the last stdout line as the item's JSON result."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def staff_client(username: str):
    """A test Client signed in as a demo staff user with the second factor passed, talking to
    the production settings' allowed host."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    user = get_user_model().objects.get(username=username)
    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
