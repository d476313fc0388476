"""Issue 16, "done when": after valid, invalid and revoked links are opened, neither gunicorn's
access log nor Django's log holds a token, whole or its signature (propel.log_masking, installed on
every handler in settings.LOGGING and on gunicorn's by gunicorn.conf.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from gunicorn.glogging import SafeAtoms

from intake.links import patient_link_token, patient_links_revoke
from propel.log_masking import MASK, TokenMaskFilter, mask_tokens
from scheduling.booking_tokens import booking_confirm_token
from scheduling.calendar.feeds import clinician_feed_token
from tests.factories import (
    CheckInSubmissionFactory,
    ClinicianFactory,
    PatientFactory,
    SlotHoldFactory,
)
from tests.faults.harness import (
    Client,
    Gunicorn,
    app_env,
    database_url_of_test_session,
    other_client_connections,
    wait_for_other_connections_to_close,
)

TOKEN = "eyJwIjo0MSwidiI6MX0:1xaEJs:PHXeGFb1t4wnfKXwLEULKFbNdhySeW9iMvndw9Vtwz4"


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (f"GET /p/{TOKEN}/ HTTP/1.1", "GET /p/[masked]/ HTTP/1.1"),
        (f"Not Found: /p/{TOKEN}/intake/nope/", "Not Found: /p/[masked]/intake/nope/"),
        (f"/feeds/clinician/{TOKEN}.ics", "/feeds/clinician/[masked].ics"),
        ("/book/Xq3vR8tYz_P0aLm-9kJ2hB/", "/book/[masked]/"),
        (f"/book/booked/{TOKEN}/", "/book/booked/[masked]/"),
        (f"/link/?token={TOKEN}&x=1", "/link/?token=[masked]&x=1"),
        ("rows=3&key=abc", "rows=3&key=[masked]"),
        # What is not a token stays readable.
        ("/p/me/intake/blood_pressure/", "/p/me/intake/blood_pressure/"),
        ("/staff/appointments/123/reschedule/confirm/", None),
        ("/static/vendor/bootstrap.bundle.min.js", None),
        ("/static/js/questionnaire.3f2a1b9c8d7e.js", None),
    ],
)
def test_mask_tokens(line, masked):
    assert mask_tokens(line) == (masked or line)


def test_the_filter_masks_tuple_and_mapping_arguments_in_place():
    atoms = SafeAtoms({"r": f"GET /p/{TOKEN}/ HTTP/1.1", "s": 200, "q": f"token={TOKEN}"})
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, '"%(r)s" %(s)s', (), None)
    record.args = atoms
    assert TokenMaskFilter().filter(record)
    assert record.getMessage() == '"GET /p/[masked]/ HTTP/1.1" 200'
    assert record.args is atoms and atoms["q"] == f"token={MASK}"
    assert atoms["missing"] == "-"  # still gunicorn's mapping
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        "",
        0,
        f"Not Found: %s ({TOKEN})",
        (f"/p/{TOKEN}/",),
        None,
    )
    TokenMaskFilter().filter(record)
    assert TOKEN not in record.getMessage()


def test_every_handler_in_the_settings_masks():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "mask_tokens" in handler.get("filters", []), name
    for handler in logging.getLogger().handlers + logging.getLogger("django").handlers:
        if type(handler).__module__.startswith("_pytest"):
            continue
        assert any(isinstance(f, TokenMaskFilter) for f in handler.filters), handler


@dataclass
class Secrets:
    """Addresses to open and the secrets none of the logs may hold."""

    paths: list[str]
    secrets: list[str]


def _secrets() -> Secrets:
    patient, revoked = PatientFactory(), PatientFactory()
    CheckInSubmissionFactory(patient=patient)
    link, old_link = patient_link_token(patient), patient_link_token(revoked)
    patient_links_revoke(patient_id=revoked.pk)
    feed = clinician_feed_token(ClinicianFactory())
    hold = SlotHoldFactory().key
    bad = link[:-4] + "AAAA"
    confirm = booking_confirm_token(987654)  # a booking request's emailed confirmation link
    paths = [
        f"/p/{link}/",
        f"/p/{link}/intake/",
        f"/p/{link}/check-in/round/1/",
        f"/p/{link}/no-such-page/",  # no view: Django's own "Not Found" line
        f"/p/{bad}/",
        f"/p/{bad}/intake/",
        f"/p/{old_link}/",
        f"/feeds/clinician/{feed}.ics",
        f"/book/{hold}/",
        f"/link/?token={link}",
        f"/book/confirm/{confirm}/",
    ]
    tokens = [link, old_link, feed, bad, confirm]
    return Secrets(paths, [*tokens, *(t.rsplit(":", 1)[1] for t in tokens), hold])


def assert_holds_no_secret(text: str, secrets: Secrets, what: str) -> None:
    for secret in secrets.secrets:
        assert secret not in text, f"{what} holds {secret[:12]}..."


@pytest.fixture
def gunicorn(tmp_path: Path, django_db_blocker) -> Iterator[tuple[Gunicorn, Path]]:
    access_log = tmp_path / "access.log"
    env = app_env(
        database_url=database_url_of_test_session(),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        var_dir=tmp_path,
        SECRET_KEY=settings.SECRET_KEY,
    )
    server = Gunicorn(env=env, log_dir=tmp_path, access_log=access_log)
    with django_db_blocker.unblock():
        already_there = other_client_connections()
    try:
        server.start()
        yield server, access_log
    finally:
        server.kill()
        with django_db_blocker.unblock():
            wait_for_other_connections_to_close(already_there)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_real_gunicorn_logs_no_token_after_valid_invalid_and_revoked_links(gunicorn):
    server, access_log = gunicorn
    secrets = _secrets()
    browser = Client(server.base_url)
    statuses = []
    for path in secrets.paths:
        response = browser.get(path)
        statuses.append(response.status)
        if response.status == 302 and "/me/" in response.location:
            assert browser.get(response.location).status in (200, 302)
    assert statuses == [302, 302, 302, 404, 404, 404, 410, 200, 200, 200, 302]
    server.kill()  # flushes and closes the logs
    log = access_log.read_text()
    assert log.count(MASK) >= 8, log
    assert_holds_no_secret(log, secrets, "the access log")
    assert_holds_no_secret(server.log_path.read_text(), secrets, "gunicorn's and Django's log")


@pytest.mark.django_db
def test_djangos_log_holds_no_token(caplog):
    secrets = _secrets()
    client = DjangoClient()
    # django.request is quiet below ERROR in settings (the access log has the 4xx lines): let its
    # "Not Found" lines through here, to check they are masked when someone turns them back on.
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="django.request"):
        for path in secrets.paths:
            response = client.get(path, follow=True)
            assert response.status_code in (200, 404, 410), path
    assert "Not Found" in caplog.text
    assert_holds_no_secret(caplog.text, secrets, "Django's log")
