"""The public slot picker's week of free consultation times, computed once per state of the rows
it depends on and then served from the cache (Redis in production).

Entries are keyed by `availability_version` (scheduling.slots), a counter that database triggers
move on in the same transaction as any committed change to appointments, holds, closures,
opening or working hours, rooms, clinicians or appointment types (migration 0009). Nothing
invalidates entries and no write path can forget to: a booking, a cancellation, a move, a hold
made or released, a closure, a change of hours changes the version, and the next visitor gets a
freshly computed week. A week is computed in one REPEATABLE READ snapshot together with the
version it is stored under, so an entry describes exactly the rows its key names.

What the version does not see is the clock. The booking window's days are part of the key; the
minimum notice only ever removes times from the front of the week, so an entry whose first time
has fallen inside it is recomputed, and so is one computed before the first of its live holds
ran out. So the page never offers a time that the same page computed afresh would not. The hold
and booking steps re-check everything in the database regardless (scheduling.online.booking,
scheduling.booking).

Someone holding a time sees it as free (theirs alone), so their week is never cached or shared.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from scheduling.online.offer import SlotWeek, slot_week
from scheduling.online.rules import (
    PATIENT_SLOT_STEP,
    BookingWindow,
    consultation_type,
    current_window,
)
from scheduling.slots import availability_version, next_hold_expiry, zone_label

logger = logging.getLogger(__name__)

TEMPLATE = "scheduling/public/_slot_week.html"
# Bump when the fragment's template or the way it is computed changes, so a deploy never serves
# the previous release's entries (they expire within CACHE_SECONDS anyway).
KEY_VERSION = 1
# Entries are found by version, so this only bounds how long unused ones take up memory.
CACHE_SECONDS = 300
# Each process also keeps the last few entries it used: a key names its content exactly, so a copy
# is as good as the shared one, and a hit then costs no cache round trip (Django makes a new
# redis-py client for every cache call, some 0.3 ms of CPU: bench/findings/3-throughput.md).
RECENT_ENTRIES = 16
_recent: OrderedDict[str, CachedWeek] = OrderedDict()
_recent_lock = threading.Lock()


@dataclass(frozen=True)
class DayTimes:
    """One day of a slot week, its labels formatted once here: Django's date and time filters cost
    some 50 microseconds a call, and calling them three times for each of a hundred times made
    rendering the slowest part of the slot picker (bench/findings/3-throughput.md)."""

    anchor: str  # "20270105", for the heading's id
    label: str  # "Tuesday, January 5", in the active language
    times: list[tuple[str, str]]  # (the start for the form, ISO 8601; "3:00 PM")


def _day_times(week: SlotWeek) -> list[DayTimes]:
    labels: dict[tuple[int, int], str] = {}
    days = []
    for day, starts in week.days:
        times = []
        for start in starts:
            local = timezone.localtime(start)
            wall = (local.hour, local.minute)
            if wall not in labels:
                labels[wall] = formats.time_format(local, "g:i A")
            times.append((local.isoformat(), labels[wall]))
        days.append(DayTimes(f"{day:%Y%m%d}", formats.date_format(day, "l, F j"), times))
    return days


def week_context(week: SlotWeek, base_url: str) -> dict[str, Any]:
    """What templates/scheduling/public/_slot_week.html needs to show one week of times."""

    def url(monday: dt.date | None) -> str | None:
        return f"{base_url}?{urlencode({'week': monday.isoformat()})}" if monday else None

    return {
        "week": week,
        "days": _day_times(week),
        "previous_url": url(week.previous),
        "next_url": url(week.next),
        "zone": zone_label(),
    }


def week_param(value: str | None) -> dt.date | None:
    """The day a page's ?week= names (week_context's links write it), or None if none."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class CachedWeek:
    html: str
    first_start: dt.datetime | None  # the earliest time offered
    hold_expiry: dt.datetime | None  # when the first hold live at computation runs out

    def still_true(self, *, now: dt.datetime, not_before: dt.datetime) -> bool:
        """Whether the week computed afresh at `now` from the same rows would be the same."""
        if self.hold_expiry is not None and now >= self.hold_expiry:
            return False
        return self.first_start is None or not_before <= self.first_start


def _render(week: SlotWeek) -> SafeString:
    # No request: nothing about the visitor (user, CSRF token) may end up in a shared entry.
    return render_to_string(TEMPLATE, week_context(week, reverse("scheduling:book")))


def week_html(
    *, week: dt.date | None, now: dt.datetime, hold_key: str | None = None
) -> SafeString | None:
    """The picker's week computed now, with the visitor's own hold shown as free; None when
    online booking is unavailable."""
    consultation = consultation_type()
    if consultation is None:
        return None
    return _render(slot_week(consultation, week=week, now=now, hold_key=hold_key))


def _key(week: dt.date | None, window: BookingWindow, version: int) -> str:
    database = connection.settings_dict
    parts = (
        KEY_VERSION,
        database["HOST"],
        database["PORT"],
        database["NAME"],
        version,
        week.isoformat() if week else "",
        window.first_day.isoformat(),
        window.last_day.isoformat(),
        translation.get_language() or "",
        settings.CLINIC_TIME_ZONE,
        settings.ONLINE_MIN_NOTICE,
        PATIENT_SLOT_STEP,
    )
    return "propel:slot-week:" + hashlib.sha256(repr(parts).encode()).hexdigest()


@contextlib.contextmanager
def _one_snapshot() -> Iterator[None]:
    """Every query inside reads the same committed state."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _remember(key: str, value: CachedWeek) -> None:
    with _recent_lock:
        _recent[key] = value
        _recent.move_to_end(key)
        while len(_recent) > RECENT_ENTRIES:
            _recent.popitem(last=False)


def _cache_get(key: str) -> CachedWeek | None:
    with _recent_lock:
        value = _recent.get(key)
    if value is not None:
        return value
    try:
        value = cache.get(key)
    except Exception:  # the cache backend's own errors have no common base (as propel.ratelimit)
        logger.warning("slot page: cache unavailable, computing the week", exc_info=True)
        return None
    if not isinstance(value, CachedWeek):
        return None
    _remember(key, value)
    return value


def _cache_set(key: str, value: CachedWeek) -> None:
    _remember(key, value)
    try:
        cache.set(key, value, timeout=CACHE_SECONDS)
    except Exception:
        logger.warning("slot page: cache unavailable, week not stored", exc_info=True)


def shared_week_html(*, week: dt.date | None, now: dt.datetime) -> SafeString | None:
    """The picker's week for someone holding nothing, from the cache while the rows it was
    computed from are unchanged; None when online booking is unavailable.

    One small query and one cache read when the entry is there. Computed every time on the SQLite
    demo database (no version triggers), and inside a caller's transaction, whose uncommitted
    changes must never reach a shared entry.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return week_html(week=week, now=now)
    window = current_window(now)
    cached = _cache_get(_key(week, window, availability_version()))
    if cached is not None and cached.still_true(now=now, not_before=window.not_before):
        return mark_safe(cached.html)  # noqa: S308 (our own rendering, stored below)
    with _one_snapshot():
        version = availability_version()
        consultation = consultation_type()
        if consultation is None:
            return None
        offered = slot_week(consultation, week=week, now=now)
        hold_expiry = next_hold_expiry(window.first_day, window.last_day, now=now)
    html = _render(offered)
    starts = [start for _, day_starts in offered.days for start in day_starts]
    _cache_set(
        _key(week, window, version),
        CachedWeek(str(html), min(starts) if starts else None, hold_expiry),
    )
    return html
