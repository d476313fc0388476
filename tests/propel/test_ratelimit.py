"""ratelimit_hit: a fixed-window counter on the shared cache."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine

from propel.ratelimit import PREFIX, ratelimit_hit

START = dt.datetime(2027, 1, 4, 16, 0, 0, tzinfo=dt.UTC)  # on an hour boundary


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


def test_hits_up_to_the_limit_pass_and_the_next_is_over():
    with time_machine.travel(START, tick=False):
        assert [ratelimit_hit("ip:192.0.2.1", 3, 3600) for _ in range(5)] == [
            False,
            False,
            False,
            True,
            True,
        ]


def test_keys_count_separately():
    with time_machine.travel(START, tick=False):
        assert not ratelimit_hit("a", 1, 60)
        assert not ratelimit_hit("b", 1, 60)
        assert ratelimit_hit("a", 1, 60)


def test_a_new_window_starts_the_count_again():
    with time_machine.travel(START, tick=False) as traveller:
        assert not ratelimit_hit("k", 1, 3600)
        assert ratelimit_hit("k", 1, 3600)
        traveller.move_to(START + dt.timedelta(minutes=59, seconds=59))
        assert ratelimit_hit("k", 1, 3600)
        traveller.move_to(START + dt.timedelta(hours=1))
        assert not ratelimit_hit("k", 1, 3600)


class RecordingCache:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, key: str, value: int, timeout: int) -> bool:
        return self.counts.setdefault(key, value) == value

    def incr(self, key: str) -> int:
        self.counts[key] += 1
        return self.counts[key]


class BrokenCache:
    def add(self, *args: object, **kwargs: object) -> bool:
        raise ConnectionError("redis is down")


def test_the_cache_never_sees_the_key_in_the_clear(monkeypatch):
    recording = RecordingCache()
    monkeypatch.setattr("propel.ratelimit.cache", recording)
    ratelimit_hit("email:someone@example.test", 5, 60)
    (key,) = recording.counts
    assert key.startswith(PREFIX)
    assert "someone" not in key


def test_an_unreachable_cache_lets_the_request_through(monkeypatch):
    monkeypatch.setattr("propel.ratelimit.cache", BrokenCache())
    assert ratelimit_hit("k", 1, 60) is False


def test_nonsense_limits_are_a_programming_error():
    with pytest.raises(ValueError):
        ratelimit_hit("k", 0, 60)
