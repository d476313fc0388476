"""propel.error_pages: the clinic's own 400, 403, 404, 500 and "your form expired" pages, each with
the phone number and a way back, no stack detail; a form posted after its token expired can be
sent again with what was typed, but never a secret, a file, or a post from another site."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test import Client, RequestFactory

from propel.error_pages import server_error
from tests.factories import UserFactory
from tests.personas import verified_client

PHONE = "(916) 915-9215"
SITE = "http://testserver"


def text(response) -> str:
    return response.content.decode()


def assert_calm_page(response, status: int, heading: str) -> str:
    assert response.status_code == status
    body = text(response)
    assert heading in body
    assert PHONE in body and 'href="tel:9169159215"' in body
    assert "Traceback" not in body and "csrfmiddlewaretoken missing" not in body.lower()
    # The site's own page, with its stylesheet (the strict CSP allows no inline styles).
    assert "/static/css/propel.css" in body
    return body


def back_link(body: str) -> str:
    match = re.search(r'<a class="btn btn-primary" href="([^"]*)">Go back</a>', body)
    assert match, "no Go back link"
    return html.unescape(match.group(1))


@pytest.mark.django_db
def test_404_is_calm_and_leads_back_to_the_page_before_on_this_site(client):
    response = client.get("/no-such-page/", headers={"Referer": f"{SITE}/book/"})
    body = assert_calm_page(response, 404, "We could not find that page")
    assert back_link(body) == f"{SITE}/book/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "referer", ["https://elsewhere.example/", "javascript:alert(1)", "", "//elsewhere.example/x"]
)
def test_a_way_back_never_leaves_the_site(client, referer):
    response = client.get("/no-such-page/", headers={"Referer": referer})
    assert back_link(assert_calm_page(response, 404, "We could not find that page")) == "/"


@pytest.mark.django_db
def test_403_for_a_staff_member_without_the_right(client):
    desk = verified_client(UserFactory(front_desk=True))
    response = desk.get("/staff/review/", headers={"Referer": f"{SITE}/staff/"})
    body = assert_calm_page(response, 403, "This page is not open to you")
    assert back_link(body) == f"{SITE}/staff/"


@pytest.mark.django_db
def test_400_for_a_request_django_cannot_trust_is_calm(client):
    response = client.get("/", headers={"Host": "evil.example"})
    body = assert_calm_page(response, 400, "We could not read that")
    assert back_link(body) == "/"


def refusing(*args: object, **kwargs: object) -> None:
    raise AssertionError("the 500 page must not query the database")


def test_500_renders_from_settings_alone_without_a_query():
    request = RequestFactory().get("/book/")
    with connection.execute_wrapper(refusing):
        try:
            raise ValueError("a bug with secret detail")
        except ValueError:
            response = server_error(request)
    body = assert_calm_page(response, 500, "Something went wrong on our side")
    assert "secret detail" not in body and "ValueError" not in body
    assert back_link(body) == "/"


def test_500_for_a_database_outage_stays_the_calm_503():
    request = RequestFactory().get("/book/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "120"


def test_500_through_the_handler_for_a_view_that_raises(settings):
    settings.ROOT_URLCONF = "tests.propel.broken_urls"
    client = Client(raise_request_exception=False)
    with connection.execute_wrapper(refusing):
        response = client.get("/broken/")
    assert_calm_page(response, 500, "Something went wrong on our side")


# --- The form that expired ------------------------------------------------------------------


def expired_post(data, *, origin: str | None = SITE, path: str = "/link/", headers=None):
    """A post whose CSRF token is gone, as after a long pause: enforce_csrf_checks, no token."""
    client = Client(enforce_csrf_checks=True)
    headers = {**({"Origin": origin} if origin else {}), **(headers or {})}
    return client, client.post(path, data, headers=headers)


def hidden_fields(body: str) -> list[tuple[str, str]]:
    return [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', body)
    ]


@pytest.mark.django_db
def test_an_expired_form_keeps_what_was_typed_and_sends_again():
    client, response = expired_post(
        {"email": "someone@example.com", "csrfmiddlewaretoken": "stale"}
    )
    body = assert_calm_page(response, 403, "Your form expired")
    assert "no-store" in response["Cache-Control"]  # it holds what was typed
    assert "Send again" in body and 'action="/link/"' in body
    fields = dict(hidden_fields(body))
    assert fields["email"] == "someone@example.com"
    token = fields.pop("csrfmiddlewaretoken")
    assert token != "stale"
    # The button posts the kept fields with the fresh token: past the check, the form does its work.
    again = client.post("/link/", {**fields, "csrfmiddlewaretoken": token})
    assert again.status_code == 302 and again["Location"] == "/link/sent/"


@pytest.mark.django_db
def test_what_is_kept_is_escaped():
    hostile = '"><script>alert(1)</script>'
    _, response = expired_post({"email": hostile, "note": ["a", "b&c"]})
    body = text(response)
    assert "<script>alert(1)" not in body
    assert ("email", hostile) in hidden_fields(body)
    assert ("note", "a") in hidden_fields(body) and ("note", "b&c") in hidden_fields(body)


@pytest.mark.django_db
def test_a_password_is_never_echoed_and_the_sign_in_is_not_resent():
    _, response = expired_post(
        {"username": "desk", "password": "Correct-Horse-9"}, path="/accounts/login/"
    )
    body = assert_calm_page(response, 403, "Your form expired")
    assert "Correct-Horse-9" not in body and "desk" not in hidden_fields(body).__repr__()
    assert "Send again" not in body
    assert "Passwords, codes and files are never kept" in body
    assert back_link(body) == "/"


@pytest.mark.django_db
def test_a_one_time_code_is_never_echoed():
    _, response = expired_post({"code": "2468013579"}, path="/accounts/second-factor/")
    assert "2468013579" not in text(response) and "Send again" not in text(response)


@pytest.mark.django_db
def test_a_file_is_not_kept_and_the_form_is_not_resent():
    upload = SimpleUploadedFile("letter.pdf", b"%PDF-1.4 private", content_type="application/pdf")
    _, response = expired_post({"email": "someone@example.com", "letter": upload})
    body = assert_calm_page(response, 403, "Your form expired")
    assert "Send again" not in body and "private" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["https://attacker.example", "null"])
def test_a_post_from_another_site_is_never_offered_again(origin):
    _, response = expired_post({"email": "victim@example.com"}, origin=origin)
    body = assert_calm_page(response, 403, "Your form expired")
    assert "Send again" not in body and "victim@example.com" not in body


@pytest.mark.django_db
def test_without_origin_the_referer_must_be_this_site():
    _, response = expired_post(
        {"email": "someone@example.com"}, origin=None, headers={"Referer": f"{SITE}/link/"}
    )
    assert "Send again" in text(response)
    assert back_link(text(response)) == f"{SITE}/link/"
    _, response = expired_post(
        {"email": "someone@example.com"},
        origin=None,
        headers={"Referer": "https://attacker.example/"},
    )
    assert "Send again" not in text(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"email": "\x00\x01", "é名": "ünïcode ✓"},
        {"x" * 2000: "y" * 20000},
        {"": "empty name", "a[]": ["1", "2", "3"]},
        {"next": "javascript:alert(1)", "url": "//evil.example"},
    ],
)
def test_no_500_whatever_was_posted(data):
    _, response = expired_post(data, headers={"Referer": "http://testserver/\u2028\x00"})
    assert response.status_code == 403
    assert "<script" not in text(response).split("</footer>")[0].split("<main")[1]
