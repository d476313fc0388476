"""The public slot picker: a day of free consultation times and the row of days around it
(scheduling.online.slot_days). The online window's free times are computed once per state of the
rows they depend on and kept in the cache (Redis in production); any day of the picker is then
rendered from that one entry, and each process keeps the days it rendered with it.

Entries are keyed by `availability_version` (scheduling.slots), a counter that database triggers
move on in the same transaction as any committed change to appointments, holds, closures,
opening or working hours, rooms, clinicians or appointment types (migration 0009). Nothing
invalidates entries and no write path can forget to: a booking, a cancellation, a move, a hold
made or released, a closure, a change of hours changes the version, and the next visitor gets a
freshly computed picker. A picker is computed in one REPEATABLE READ snapshot together with the
version it is stored under, so an entry describes exactly the rows its key names. The day asked
for is not part of the key: a visitor moving through the days costs one miss per version, not one
per day. A miss computes only the days its page needs (its row of days and the next, further only
while a later free day must be found: slot_days.settled); a later row asked for at the same version
adds its own days to the entry.

What the version does not see is the clock. The booking window's days are part of the key; the
minimum notice only ever removes times from the front of the window, so an entry whose first time
has fallen inside it is recomputed, and so is one computed before the first of its live holds
ran out. So the page never offers a time that the same page computed afresh would not. The hold
and booking steps re-check everything in the database regardless (scheduling.online.booking,
scheduling.booking).

Someone holding a time sees it as free (theirs alone), so their picker is never cached or shared.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from propel import formatting
from scheduling.models import AppointmentType
from scheduling.online.offer import online_slots
from scheduling.online.rules import (
    PATIENT_SLOT_STEP,
    BookingWindow,
    consultation_type,
    current_window,
)
from scheduling.online.slot_days import ROW_DAYS, SlotDays, needed_through, settled, slot_days
from scheduling.slots import availability_version, clinic_tz, next_hold_expiry, zone_label

logger = logging.getLogger(__name__)

TEMPLATE = "scheduling/public/_slot_days.html"
# Bump when what an entry holds or the way it is computed changes, so a deploy never reads the
# previous release's entries (they expire within CACHE_SECONDS anyway). Rendered days stay in the
# process that rendered them, so a new template needs no bump.
KEY_VERSION = 3
# Entries are found by version, so this only bounds how long unused ones take up memory.
CACHE_SECONDS = 300
# Each process also keeps the last few entries it used: a key names its content exactly, so a copy
# is as good as the shared one, and a hit then costs no cache round trip (Django makes a new
# redis-py client for every cache call, some 0.3 ms of CPU: bench/findings/3-throughput.md).
RECENT_ENTRIES = 8
_recent: OrderedDict[str, CachedWindow] = OrderedDict()
_recent_lock = threading.Lock()


@dataclass(frozen=True)
class DayLink:
    """One day in the picker's row, its labels formatted once here: Django's date and time
    filters cost some 50 microseconds a call (bench/findings/3-throughput.md)."""

    anchor: str  # "20270105", for ids
    href: str
    weekday: str  # "Tue"
    date: str  # "Jan 5"
    count: int
    current: bool


def _day_label(day: dt.date) -> str:
    return formatting.local_date(day)


def _times(starts: list[dt.datetime], labels: dict[tuple[int, int], str]) -> list[tuple[str, str]]:
    """(the start for the form, ISO 8601; "3:00 p.m.") for each local start."""
    times = []
    for start in starts:
        wall = (start.hour, start.minute)
        if wall not in labels:
            labels[wall] = formatting.local_time(start)
        times.append((start.isoformat(), labels[wall]))
    return times


GROUP_LABELS = {"morning": _("Morning"), "afternoon": _("Afternoon"), "evening": _("Evening")}


def days_context(days: SlotDays, base_url: str) -> dict[str, Any]:
    """What templates/scheduling/public/_slot_days.html needs to show one day of times."""

    def url(day: dt.date | None) -> str | None:
        return f"{base_url}?{urlencode({'day': day.isoformat()})}" if day else None

    labels: dict[tuple[int, int], str] = {}
    return {
        "day_label": _day_label(days.day),
        "day_anchor": f"{days.day:%Y%m%d}",
        "count": days.count,
        "groups": [
            {
                "name": group.name,
                "label": GROUP_LABELS[group.name],
                "shown": _times(group.shown, labels),
                "more": _times(group.more, labels),
            }
            for group in days.groups
        ],
        "row": [
            DayLink(
                anchor=f"{day:%Y%m%d}",
                href=url(day) or "",
                weekday=formats.date_format(day, "D"),
                date=formatting.short_date(day),
                count=count,
                current=day == days.day,
            )
            for day, count in days.row
        ],
        "next_available": days.next_available and _day_label(days.next_available),
        "next_available_url": url(days.next_available),
        "earlier_url": url(days.earlier),
        "later_url": url(days.later),
        "zone": zone_label(),
    }


def day_param(value: str | None) -> dt.date | None:
    """The day a page's ?day= names (days_context's links write it), or None if none."""
    try:
        return dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


StartsByDay = dict[dt.date, list[dt.datetime]]
ONE_DAY = dt.timedelta(days=1)


def window_starts(
    appointment_type: AppointmentType,
    window: BookingWindow,
    *,
    now: dt.datetime,
    hold_key: str | None = None,
    patient_id: int | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> StartsByDay:
    """The online window's free starts by local day (one find_slots call, a fixed number of
    queries), local to the clinic; only between start_date and end_date when given (each day's
    times depend on that day's rows alone)."""
    tz = clinic_tz()
    slots = online_slots(
        appointment_type,
        start_date=start_date or window.first_day,
        end_date=end_date or window.last_day,
        now=now,
        hold_key=hold_key,
        patient_id=patient_id,
    )
    starts = [slot.start.astimezone(tz) for slot in slots]
    return {one: list(group) for one, group in groupby(starts, key=lambda start: start.date())}


def offered_days(
    appointment_type: AppointmentType,
    *,
    day: dt.date | None,
    now: dt.datetime,
    hold_key: str | None = None,
    patient_id: int | None = None,
) -> SlotDays:
    """The online window's free starts as the picker shows them for `day`."""
    window = current_window(now)
    by_day = window_starts(
        appointment_type, window, now=now, hold_key=hold_key, patient_id=patient_id
    )
    return slot_days(by_day, first_day=window.first_day, last_day=window.last_day, wanted=day)


@dataclass(frozen=True)
class CachedWindow:
    """The window's free starts as of one availability version, from its first day `through` a
    day (as far as the pages asked for so far needed), and the days rendered from them."""

    first_day: dt.date
    last_day: dt.date
    version: int
    through: dt.date
    starts_by_day: StartsByDay
    hold_expiry: dt.datetime | None  # when the first hold live at computation runs out
    # Filled by this process as it renders days (key: the day asked for and the language); never
    # pickled, so the shared entry holds the starts alone and no thread renders into it mid-write.
    pages: dict[tuple[dt.date | None, str], str] = field(default_factory=dict, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name != "pages"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, pages={})

    @functools.cached_property
    def first_start(self) -> dt.datetime | None:
        """The earliest time offered in the window."""
        return min((starts[0] for starts in self.starts_by_day.values() if starts), default=None)

    def still_true(self, *, now: dt.datetime, not_before: dt.datetime) -> bool:
        """Whether the window computed afresh at `now` from the same rows would be the same."""
        if self.hold_expiry is not None and now >= self.hold_expiry:
            return False
        first_start = self.first_start
        return first_start is None or not_before <= first_start

    def settles(self, day: dt.date | None) -> bool:
        """Whether the days known are enough to show `day` as the whole window would."""
        return settled(
            self.starts_by_day,
            first_day=self.first_day,
            last_day=self.last_day,
            through=self.through,
            wanted=day,
        )

    def page(self, day: dt.date | None) -> str:
        """The picker's fragment for `day`, rendered once per day and language."""
        key = (day, translation.get_language() or "")
        html = self.pages.get(key)
        if html is None:
            days = slot_days(
                self.starts_by_day, first_day=self.first_day, last_day=self.last_day, wanted=day
            )
            html = self.pages[key] = str(_render(days))
        return html


def _render(days: SlotDays) -> SafeString:
    # No request: nothing about the visitor (user, CSRF token) may end up in a shared entry.
    return render_to_string(TEMPLATE, days_context(days, reverse("scheduling:book")))


def days_html(
    *, day: dt.date | None, now: dt.datetime, hold_key: str | None = None
) -> SafeString | None:
    """The picker's day computed now, with the visitor's own hold shown as free; None when
    online booking is unavailable."""
    consultation = consultation_type()
    if consultation is None:
        return None
    return _render(offered_days(consultation, day=day, now=now, hold_key=hold_key))


def _key(window: BookingWindow, version: int) -> str:
    database = connection.settings_dict
    parts = (
        KEY_VERSION,
        database["HOST"],
        database["PORT"],
        database["NAME"],
        version,
        window.first_day.isoformat(),
        window.last_day.isoformat(),
        settings.CLINIC_TIME_ZONE,
        settings.ONLINE_MIN_NOTICE,
        PATIENT_SLOT_STEP,
    )
    return "propel:slot-days:" + hashlib.sha256(repr(parts).encode()).hexdigest()


@contextlib.contextmanager
def _one_snapshot() -> Iterator[None]:
    """Every query inside reads the same committed state."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _remember(key: str, value: CachedWindow) -> None:
    with _recent_lock:
        _recent[key] = value
        _recent.move_to_end(key)
        while len(_recent) > RECENT_ENTRIES:
            _recent.popitem(last=False)


def _cache_get(key: str) -> CachedWindow | None:
    with _recent_lock:
        value = _recent.get(key)
    if value is not None:
        return value
    try:
        value = cache.get(key)
    except Exception:  # the cache backend's own errors have no common base (as propel.ratelimit)
        logger.warning("slot page: cache unavailable, computing the picker", exc_info=True)
        return None
    if not isinstance(value, CachedWindow):
        return None
    _remember(key, value)
    return value


def _cache_set(key: str, value: CachedWindow) -> None:
    try:
        cache.set(key, value, timeout=CACHE_SECONDS)
    except Exception:
        logger.warning("slot page: cache unavailable, picker not stored", exc_info=True)
    _remember(key, value)


def shared_days_html(*, day: dt.date | None, now: dt.datetime) -> SafeString | None:
    """The picker's day for someone holding nothing, from the cache while the rows it was
    computed from are unchanged; None when online booking is unavailable.

    One small query when this process has the window, and one cache read more when only the
    shared cache has it; the day rendered once per process. Computed every time on the SQLite
    demo database (no version triggers), and inside a caller's transaction, whose uncommitted
    changes must never reach a shared entry.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return days_html(day=day, now=now)
    window = current_window(now)
    # Only days inside the window are pages of their own: anything else shows the first day.
    day = day if day is not None and window.first_day <= day <= window.last_day else None
    cached = _cache_get(_key(window, availability_version()))
    if cached is not None and not cached.still_true(now=now, not_before=window.not_before):
        cached = None
    if cached is None or not cached.settles(day):
        with _one_snapshot():
            consultation = consultation_type()
            if consultation is None:
                return None
            cached = _extend(cached, consultation, window, day=day, now=now)
        _cache_set(_key(window, cached.version), cached)
    return mark_safe(cached.page(day))  # noqa: S308 (our own rendering)


def _extend(
    cached: CachedWindow | None,
    consultation: AppointmentType,
    window: BookingWindow,
    *,
    day: dt.date | None,
    now: dt.datetime,
) -> CachedWindow:
    """`cached` (or nothing) with the days `day`'s page needs computed, in the caller's snapshot:
    its row and the next, then a fortnight more at a time while a later free day is needed (the
    next available one, the window's first). Days already known are kept only while the version
    they were computed at is still the snapshot's."""
    version = availability_version()
    if cached is None or cached.version != version:
        cached = CachedWindow(
            window.first_day, window.last_day, version, window.first_day - ONE_DAY, {}, None
        )
    target = needed_through(window.first_day, window.last_day, day)
    while True:
        if cached.through < target:
            start = cached.through + ONE_DAY
            found = window_starts(consultation, window, now=now, start_date=start, end_date=target)
            expiry = next_hold_expiry(start, target, now=now)
            cached = CachedWindow(
                cached.first_day,
                cached.last_day,
                version,
                target,
                cached.starts_by_day | found,
                min(filter(None, (cached.hold_expiry, expiry)), default=None),
                dict(cached.pages),  # pages are final once rendered
            )
        if cached.settles(day):
            return cached
        target = min(window.last_day, cached.through + dt.timedelta(days=ROW_DAYS))
