"""What the staff calendar draws over its grid as blocked time: spans when no visit should sit
there, each with a label and, when it blocks only one room or clinician, which one.

One function, `calendar_blocks(window)`, feeds every calendar view: the clinic's closures (whole
days, every room and clinician) and staff time off and a room's blocked time
(`scheduling.time_off`, drawn only in that clinician's or room's column).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from scheduling.models import Closure
from scheduling.slots import clinic_tz
from scheduling.time_off import time_off_blocks


@dataclass(frozen=True)
class Window:
    """The clinic-local dates a calendar page shows, first and last included."""

    first: dt.date
    last: dt.date


@dataclass(frozen=True)
class BlockedSpan:
    """Blocked time from `start` to `end` (aware instants). `room_id` and `clinician_id` None:
    the whole clinic; otherwise only that room's or clinician's column shows it."""

    start: dt.datetime
    end: dt.datetime
    label: str
    kind: str = "closure"
    room_id: int | None = None
    clinician_id: int | None = None

    def applies_to(self, *, room_id: int | None, clinician_id: int | None) -> bool:
        """Whether a column of this room or clinician (or of the whole clinic) shows the span."""
        if self.room_id is None and self.clinician_id is None:
            return True
        return (self.room_id is not None and self.room_id == room_id) or (
            self.clinician_id is not None and self.clinician_id == clinician_id
        )


def calendar_blocks(window: Window) -> list[BlockedSpan]:
    """Every blocked span that touches the window, in one query per source."""
    tz = clinic_tz()
    rows = Closure.objects.filter(start_date__lte=window.last, end_date__gte=window.first)
    closures = [
        BlockedSpan(
            start=dt.datetime.combine(start, dt.time(), tzinfo=tz),
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
            label=_("Closed: %(reason)s") % {"reason": reason},
        )
        for start, end, reason in rows.order_by("start_date").values_list(
            "start_date", "end_date", "reason"
        )
    ]
    first = dt.datetime.combine(window.first, dt.time(), tzinfo=tz)
    after = dt.datetime.combine(window.last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    time_off = [
        BlockedSpan(
            start=span.start,
            end=span.end,
            label=span.label,
            # A clinician's time off, or a room out of use.
            kind="time_off" if span.clinician_id is not None else "blocked",
            room_id=span.room_id,
            clinician_id=span.clinician_id,
        )
        for span in time_off_blocks(first, after)
    ]
    return closures + time_off
