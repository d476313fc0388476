"""propel.db_unavailable: a view's database error becomes a calm 503 page with Retry-After, logged
without the path (a patient's path carries their link); other errors are left alone. (The real
outage, a stopped PostgreSQL under gunicorn, is in test_postgres_restart.py.)"""

from __future__ import annotations

import logging

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import RequestFactory

from intake.links import patient_link_token
from propel.db_unavailable import DatabaseUnavailableMiddleware


def refusing(error: type[Exception]):
    """Every query fails as it does while PostgreSQL is down."""

    def execute(*args: object, **kwargs: object) -> None:
        raise error("connection to server at 127.0.0.1 failed: Connection refused")

    return execute


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_error_in_a_view_is_a_calm_503(client, caplog, error):
    with caplog.at_level(logging.ERROR), connection.execute_wrapper(refusing(error)):
        response = client.get("/book/")
    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert "We are temporarily unavailable" in text
    assert "nothing you entered on that page was saved" in text
    assert "try again in a few minutes" in text
    assert "(916) 915-9215" in text and "988" in text
    assert "Connection refused" not in text
    # The site's own page: its stylesheet, so the strict CSP (no inline styles) still holds.
    assert "/static/css/propel.css" in text
    (record,) = [r for r in caplog.records if r.name == "propel.db_unavailable"]
    assert error.__name__ in record.getMessage()
    assert "/book/" not in record.getMessage()


@pytest.mark.django_db
def test_a_patient_link_never_reaches_the_log(client, caplog, patient):
    token = patient_link_token(patient)
    with caplog.at_level(logging.INFO), connection.execute_wrapper(refusing(OperationalError)):
        response = client.get(f"/p/{token}/")
    assert response.status_code == 503
    assert caplog.records
    assert all(token not in record.getMessage() for record in caplog.records)


def test_other_errors_are_not_its_business():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/book/")
    assert middleware.process_exception(request, ValueError("a bug")) is None
    assert middleware.process_exception(request, OperationalError("down")).status_code == 503


class RefusingMiddleware:
    """Stands for a middleware whose query fails while PostgreSQL is down (loading a session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


OUTER = "django.middleware.security.SecurityMiddleware"


@pytest.mark.django_db
def test_a_database_error_outside_a_view_is_the_same_503(client, settings, caplog):
    settings.MIDDLEWARE = [OUTER, f"{__name__}.RefusingMiddleware"]
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/book/")
    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    assert "We are temporarily unavailable" in response.content.decode()
    assert any(r.name == "propel.db_unavailable" for r in caplog.records)


class BuggyMiddleware(RefusingMiddleware):
    def __call__(self, request):
        raise ValueError("a bug, not an outage")


@pytest.mark.django_db
def test_any_other_error_outside_a_view_is_still_a_500(client, settings):
    settings.MIDDLEWARE = [OUTER, f"{__name__}.BuggyMiddleware"]
    client.raise_request_exception = False
    response = client.get("/book/")
    assert response.status_code == 500
    assert "temporarily unavailable" not in response.content.decode()
