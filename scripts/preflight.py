"""Check that PostgreSQL and Redis answer before the test suite starts, and create the database.

Run by `make test` with DATABASE_URL and REDIS_URL set. It needs only psycopg and redis (no
Django), so it answers in a second and says in plain words what is down and how to start it,
instead of pytest failing a hundred tests with connection errors.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import unquote, urlsplit

import psycopg
import redis
from psycopg import sql

TIMEOUT_SECONDS = 3
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'


def describe(url: str) -> str:
    """host:port/path of a URL, without user or password (safe to print)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or ''}{parts.path}"


def short(exc: Exception) -> str:
    # The first line is the useful one ("Connection refused", "database ... does not exist").
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def check_postgres(url: str) -> str | None:
    if not url:
        return "DATABASE_URL is not set (`make test` sets a local default)"
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return f"DATABASE_URL must be a postgres:// URL for the test suite, not {parts.scheme}://"
    name = unquote(parts.path.lstrip("/")) or "propel"
    params = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or "") or None,
        "connect_timeout": TIMEOUT_SECONDS,
        "autocommit": True,
    }
    try:
        # The maintenance database always exists; the project's own may not yet.
        conn = psycopg.connect(dbname="postgres", **params)
    except psycopg.Error as exc:
        return (
            f"PostgreSQL is not reachable at {describe(url)} ({short(exc)}).\n"
            f"  Start it with: {START_POSTGRES}\n"
            "  or point DATABASE_URL at a running server."
        )
    try:
        with conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"preflight: created database {name!r}")
    except psycopg.Error as exc:
        return f"PostgreSQL at {describe(url)} could not create database {name!r} ({short(exc)})"
    return None


def check_redis(url: str) -> str | None:
    if not url:
        return "REDIS_URL is not set (`make test` sets a local default)"
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return f"REDIS_URL must be a redis:// URL, not {parts.scheme}://"
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return (
            f"Redis is not reachable at {describe(url)} ({short(exc)}).\n"
            f"  Start it with: {START_REDIS}\n"
            "  or point REDIS_URL at a running server."
        )
    return None


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    problems = [
        problem
        for problem in (check_postgres(database_url), check_redis(redis_url))
        if problem is not None
    ]
    for problem in problems:
        print(f"preflight: {problem}", file=sys.stderr)
    if problems:
        print("preflight: scripts/services-up starts both on this machine.", file=sys.stderr)
        return 1
    print(f"preflight: PostgreSQL {describe(database_url)} and Redis {describe(redis_url)} answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
