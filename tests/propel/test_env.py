"""The typed environment readers: good values parse, bad ones fail naming the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from propel.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_timezone,
    env_url,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True), ("0", False), ("off", False)],
)
def test_env_bool_reads_the_usual_spellings(raw: str, expected: bool) -> None:
    assert env_bool("FLAG", not expected, {"FLAG": raw}) is expected


def test_env_bool_uses_default_when_unset() -> None:
    assert env_bool("FLAG", True, {}) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "enabled"])
def test_env_bool_rejects_anything_else(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False, {"FLAG": raw})


def test_env_int_parses_and_defaults() -> None:
    assert env_int("N", 7, {"N": " 42 "}) == 42
    assert env_int("N", 7, {}) == 7
    assert env_int("N", 7, {"N": ""}) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "12abc", "0x10"])
def test_env_int_rejects_non_numbers(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="N must be a whole number"):
        env_int("N", 7, {"N": raw})


def test_env_int_rejects_values_below_minimum() -> None:
    with pytest.raises(ImproperlyConfigured, match="N must be at least 5"):
        env_int("N", 7, {"N": "4"}, minimum=5)


def test_env_int_rejects_values_above_maximum() -> None:
    with pytest.raises(ImproperlyConfigured, match="N must be at most 10"):
        env_int("N", 7, {"N": "11"}, maximum=10)


def test_env_int_accepts_the_bounds_themselves() -> None:
    assert env_int("N", 7, {"N": "5"}, minimum=5, maximum=10) == 5
    assert env_int("N", 7, {"N": "10"}, minimum=5, maximum=10) == 10


def test_env_url_accepts_listed_schemes() -> None:
    url = "postgres://postgres@127.0.0.1:5432/propel"
    assert env_url("DATABASE_URL", "", ("postgres", "sqlite"), {"DATABASE_URL": url}) == url


@pytest.mark.parametrize("raw", ["mysql://db/propel", "127.0.0.1:5432", "http://db"])
def test_env_url_rejects_other_schemes(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must be a URL"):
        env_url("DATABASE_URL", "", ("postgres", "sqlite"), {"DATABASE_URL": raw})


def test_env_url_error_does_not_echo_the_value() -> None:
    # The value may carry a password; the message names the variable only.
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_url("REDIS_URL", "", ("redis",), {"REDIS_URL": "http://:s3cret@host/0"})
    assert "s3cret" not in str(excinfo.value)


def test_env_timezone_accepts_iana_names() -> None:
    assert env_timezone("TZ_NAME", "UTC", {"TZ_NAME": "America/Los_Angeles"}) == (
        "America/Los_Angeles"
    )


@pytest.mark.parametrize("raw", ["Mars/Olympus_Mons", "PST8PDT/Nowhere", "../etc/passwd"])
def test_env_timezone_rejects_unknown_zones(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="TZ_NAME must be an IANA time zone"):
        env_timezone("TZ_NAME", "UTC", {"TZ_NAME": raw})


def test_env_choice_is_case_insensitive() -> None:
    assert env_choice("MODE", "demo", ("demo", "production"), {"MODE": "Production"}) == (
        "production"
    )


def test_env_choice_rejects_unlisted_values() -> None:
    with pytest.raises(ImproperlyConfigured, match="MODE must be one of demo, production"):
        env_choice("MODE", "demo", ("demo", "production"), {"MODE": "staging"})


def test_env_list_splits_and_trims() -> None:
    assert env_list("HOSTS", ["x"], {"HOSTS": " a.example, ,b.example "}) == [
        "a.example",
        "b.example",
    ]
    assert env_list("HOSTS", ["x"], {}) == ["x"]


def test_env_str_treats_empty_as_unset() -> None:
    assert env_str("NAME", "fallback", {"NAME": "  "}) == "fallback"
