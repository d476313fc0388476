"""The columns of the staff calendar's grid and what each holds: its opening hours, the visits
drawn to their real length, the blocked time over it (scheduling.calendar.blocks), and the
empty cells a click books (a link to "new appointment" with the time, room or clinician, and
type filled in). Built from values already loaded: no queries here except the clearance badges
(two, in a batch)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.http import urlencode

from intake.clearance import ClearanceStatus, clearance_statuses
from scheduling.availability import TimeSpan
from scheduling.calendar.blocks import BlockedSpan
from scheduling.calendar.grid import LABEL_EVERY_ROWS, ROW_MINUTES, Grid, Placement
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentType, Clinician, Room
from scheduling.slots import clinic_today, clinic_tz
from scheduling.time_fields import time_value

CELL_ROWS = LABEL_EVERY_ROWS  # an empty cell a click books: half an hour


@dataclass
class DayHours:
    """What the clinic does on one date: its open spans, the extra openings among them, why it
    is closed (and the hours the closure took away, so its grid is still drawn)."""

    day: dt.date
    spans: list[TimeSpan] = field(default_factory=list)
    closure: str | None = None
    extra_notes: list[str] = field(default_factory=list)
    extra_spans: list[TimeSpan] = field(default_factory=list)
    closed_spans: list[TimeSpan] = field(default_factory=list)

    @property
    def drawn_spans(self) -> list[TimeSpan]:
        return self.spans or self.closed_spans


@dataclass(frozen=True)
class Block:
    appointment: Appointment
    placement: Placement
    clearance: ClearanceStatus | None


@dataclass(frozen=True)
class Blocked:
    span: BlockedSpan
    placement: Placement


@dataclass(frozen=True)
class Cell:
    """An empty half hour in a column: a click books there."""

    placement: Placement
    date: dt.date
    time: str  # the booking form's time value, "10:30-0800"
    label: dt.datetime
    url: str


@dataclass
class Column:
    """One column of the grid: a room or clinician on a day (day view, or the week's rooms), or a
    day of one room's or clinician's week. `key` is what an appointment must match to sit here."""

    title: str
    day: dt.date
    hours: DayHours
    key: Hashable = None
    room: Room | None = None
    clinician: Clinician | None = None
    group: str = ""  # the week view's day heading over its rooms
    first_of_group: bool = False
    open_spans: list[Placement] = field(default_factory=list)
    extra_spans: list[Placement] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)


def fill(
    columns: Sequence[Column],
    grid: Grid | None,
    appointments: list[Appointment],
    key_of: Callable[[Appointment], Hashable],
    blocked: list[BlockedSpan],
    types: list[AppointmentType],
) -> None:
    """Put each appointment, blocked span and bookable empty cell into its columns."""
    if grid is None:
        return
    tz = clinic_tz()
    clearances = clearance_statuses({a.patient_id for a in appointments}, today=clinic_today())
    by_key = {column.key: column for column in columns}
    for column in columns:
        column.open_spans = [p for s in column.hours.spans if (p := grid.place_span(s))]
        column.extra_spans = [p for s in column.hours.extra_spans if (p := grid.place_span(s))]
        for span in blocked:
            room_id = column.room.pk if column.room else None
            clinician_id = column.clinician.pk if column.clinician else None
            if not span.applies_to(room_id=room_id, clinician_id=clinician_id):
                continue
            if placement := grid.place(span.start, span.end, day=column.day, tz=tz):
                column.blocked.append(Blocked(span, placement))
    for appointment in appointments:
        column = by_key.get(key_of(appointment))
        if column is None:
            continue
        placement = grid.place(appointment.start, appointment.end, day=column.day, tz=tz)
        if placement is not None:
            column.blocks.append(
                Block(appointment, placement, clearances.get(appointment.patient_id))
            )
    for column in columns:
        column.cells = _cells(column, grid, _type_for(column, types))


def _type_for(column: Column, types: list[AppointmentType]) -> AppointmentType | None:
    """The type an empty cell pre-fills: the first offered for the room's kind, or for a
    clinician's column the first that needs a clinician."""
    for kind in types:
        if column.room is not None and kind.room_kind == column.room.kind:
            return kind
        if column.room is None and column.clinician is not None and kind.needs_clinician:
            return kind
    return None


def _cells(column: Column, grid: Grid, kind: AppointmentType | None) -> list[Cell]:
    """The column's empty half hours inside opening hours: no active visit, nothing blocked."""
    taken: set[int] = set()
    for block in column.blocks:
        if block.appointment.status in ACTIVE_STATUSES:
            taken.update(_rows(block.placement))
    for blocked in column.blocked:
        taken.update(_rows(blocked.placement))
    open_rows: set[int] = set()
    for span in column.open_spans:
        open_rows.update(_rows(span))
    tz = clinic_tz()
    opens = dt.datetime.combine(column.day, grid.opens)
    params: dict[str, str | int] = {}
    if kind is None:
        return []  # nothing offered to book there
    params["appointment_type"] = kind.pk
    if column.room is not None:
        params["room"] = column.room.pk
    if column.clinician is not None:
        params["clinician"] = column.clinician.pk
    cells, new_url = [], reverse("scheduling:appointment_new")
    for row in range(0, grid.rows, CELL_ROWS):
        rows = set(range(row, min(row + CELL_ROWS, grid.rows)))
        if not rows <= open_rows or rows & taken:
            continue
        wall = opens + dt.timedelta(minutes=row * ROW_MINUTES)
        start = wall.replace(tzinfo=tz)
        value = time_value(start)
        query = {"date": column.day.isoformat(), "time": value, **params}
        cells.append(
            Cell(
                placement=Placement(row, len(rows)),
                date=column.day,
                time=value,
                label=start,
                url=f"{new_url}?{urlencode(query)}",
            )
        )
    return cells


def _rows(placement: Placement) -> range:
    return range(placement.start_row, placement.start_row + placement.span)
