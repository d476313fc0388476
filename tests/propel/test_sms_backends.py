"""SMS backends: the file backend writes one line per idempotency key; the HTTP adapter builds the
right request and maps errors (urlopen is replaced: no test reaches a provider)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from propel import sms
from propel.sms import (
    ConsoleBackend,
    FileBackend,
    HttpSmsBackend,
    SmsPermanentError,
    SmsTransientError,
    get_sms_backend,
)


def lines(settings) -> list[dict]:
    path = Path(settings.SMS_FILE_PATH) / "messages.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to reach the SMS provider")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_file_backend_writes_at_most_one_line_per_key(settings):
    backend = FileBackend()
    first = backend.send(to="+19165550100", body="Hello", idempotency_key="reminder-1-1")
    again = backend.send(to="+19165550100", body="Hello", idempotency_key="reminder-1-1")
    other = backend.send(to="+19165550100", body="Hello", idempotency_key="reminder-2-1")
    assert first == again != other
    written = lines(settings)
    assert [line["key"] for line in written] == ["reminder-1-1", "reminder-2-1"]
    assert written[0]["id"] == first and written[0]["to"] == "+19165550100"


def test_file_backend_without_a_key_writes_every_message(settings):
    backend = FileBackend()
    ids = {backend.send(to="+19165550100", body="Hello") for _ in range(3)}
    assert len(ids) == 3 and len(lines(settings)) == 3


def test_console_backend_accepts_a_key(capsys):
    message_id = ConsoleBackend().send(to="+19165550100", body="Hi", idempotency_key="k1")
    assert message_id in capsys.readouterr().out


def test_the_configured_backend_is_built(settings):
    settings.SMS_BACKEND = "propel.sms.HttpSmsBackend"
    assert isinstance(get_sms_backend(), HttpSmsBackend)


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def http(settings):
    settings.SMS_HTTP_URL = "https://sms.provider.example/v1/messages"
    settings.SMS_HTTP_TOKEN = "secret-token"
    settings.SMS_FROM_NUMBER = "+19169159215"
    return HttpSmsBackend()


def test_http_backend_posts_json_with_token_and_idempotency_key(http, monkeypatch):
    sent = []

    def fake_urlopen(request, timeout):
        sent.append((request, timeout))
        return FakeResponse(b'{"id": "msg-123"}')

    monkeypatch.setattr(sms.urllib.request, "urlopen", fake_urlopen)
    message_id = http.send(to="+19165550100", body="Hi there", idempotency_key="reminder-9-1")
    assert message_id == "msg-123"
    [(request, timeout)] = sent
    assert request.full_url == "https://sms.provider.example/v1/messages"
    assert request.get_method() == "POST"
    assert timeout == sms.HTTP_TIMEOUT_SECONDS
    headers = {name.lower(): value for name, value in request.header_items()}
    assert headers["authorization"] == "Bearer secret-token"
    assert headers["idempotency-key"] == "reminder-9-1"
    assert headers["content-type"] == "application/json"
    assert json.loads(request.data) == {
        "to": "+19165550100",
        "from": "+19169159215",
        "body": "Hi there",
    }


def test_http_backend_without_an_id_in_the_answer_returns_the_key(http, monkeypatch):
    monkeypatch.setattr(sms.urllib.request, "urlopen", lambda request, timeout: FakeResponse(b""))
    assert http.send(to="+19165550100", body="Hi", idempotency_key="k-7") == "k-7"


def http_error(status: int):
    def fake_urlopen(request, timeout):
        raise urllib.error.HTTPError(request.full_url, status, "status", {}, io.BytesIO(b""))

    return fake_urlopen


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (http_error(500), SmsTransientError),
        (http_error(503), SmsTransientError),
        (http_error(429), SmsTransientError),
        (http_error(400), SmsPermanentError),
        (http_error(401), SmsPermanentError),
        (http_error(404), SmsPermanentError),
    ],
)
def test_http_statuses_map_to_errors(http, monkeypatch, failure, error):
    monkeypatch.setattr(sms.urllib.request, "urlopen", failure)
    with pytest.raises(error):
        http.send(to="+19165550100", body="Hi", idempotency_key="k")


@pytest.mark.parametrize(
    "exception",
    [
        urllib.error.URLError("connection refused"),
        TimeoutError("timed out"),
        ConnectionResetError(),
    ],
)
def test_network_errors_are_transient(http, monkeypatch, exception):
    def fake_urlopen(request, timeout):
        raise exception

    monkeypatch.setattr(sms.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(SmsTransientError):
        http.send(to="+19165550100", body="Hi")


@pytest.mark.parametrize("url", ["", "http://sms.provider.example/", "file:///etc/passwd"])
def test_an_unconfigured_http_backend_refuses_without_calling_out(http, url):
    http.url = url
    with pytest.raises(SmsPermanentError):
        http.send(to="+19165550100", body="Hi")
