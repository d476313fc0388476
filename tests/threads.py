"""Threads racing on their own database connections: the start line and the finish shared by the
race tests (tests/concurrency/ and the single races in the service tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def start_and_join(target: Callable[[int], object], count: int, *, timeout: float | None) -> bool:
    """Run target(0..count-1), one thread each, and wait for each up to `timeout` seconds (None:
    for ever). True when every thread finished; False means one hung (the caller asserts)."""
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return not any(thread.is_alive() for thread in threads)


def all_at_once(
    count: int, attempt: Callable[[int], object], *, wait: float = 10, join: float = 60
) -> tuple[list[object], bool]:
    """Run attempt(0..count-1) in `count` threads released together from a start line (each waits
    at most `wait` seconds for the others). Returns each attempt's result or the exception it
    raised, in order, and whether every thread finished within `join` seconds. Each thread closes
    its own database connection."""
    start_line = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            start_line.wait(timeout=wait)
            results[index] = attempt(index)
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    finished = start_and_join(run, count, timeout=join)
    return results, finished


def run_together(target: Callable[[int], object], count: int, *, wait: float = 60) -> list:
    """Run target(0..count-1) in `count` threads released together (each waits at most `wait`
    seconds at the start line) until every one finishes; the results in order. Any exception in
    a thread fails the caller's test. Each thread closes its own database connection."""
    barrier = threading.Barrier(count, timeout=wait)
    results: list = [None] * count
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    start_and_join(worker, count, timeout=None)
    assert not errors, errors
    return results
