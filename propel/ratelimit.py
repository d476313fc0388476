"""A small fixed-window rate limiter on Django's cache (Redis in production and tests).

Each key counts hits in windows of `window_seconds` aligned to the epoch; a window's counter
expires on its own. Fixed windows allow up to twice the limit across a window boundary, which is
plenty for turning away scripts while never troubling a person.

Keys are hashed before they reach the cache, so e-mail addresses and IP addresses are not stored
in Redis in the clear.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

PREFIX = "propel:ratelimit:"


def _cache_key(key: str, window_seconds: int, now: float) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{PREFIX}{window_seconds}:{int(now // window_seconds)}:{digest}"


def ratelimit_hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit against `key`; True when this hit goes over `limit` in the current window.

    Atomic across processes (`add` then `incr` on the shared cache). If the cache cannot be
    reached the hit is allowed: a patient must never be locked out because Redis blinked.
    """
    if limit < 1 or window_seconds < 1:
        raise ValueError("limit and window_seconds must be positive")
    cache_key = _cache_key(key, window_seconds, time.time())
    try:
        cache.add(cache_key, 0, timeout=window_seconds + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # the counter expired between add and incr
            cache.set(cache_key, 1, timeout=window_seconds + 1)
            count = 1
    except Exception:  # the cache backend's own errors (redis, file system) have no common base
        logger.warning("rate limiter: cache unavailable, allowing the request", exc_info=True)
        return False
    return count > limit
