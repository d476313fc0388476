"""Schedule and Slot in the FHIR API (scheduling.fhir.schedule_resources has the model and why).

Schedule is a MultiKind over clinicians and rooms (rows, random stored ids). Slot is computed:
`SlotKind` implements the Kind protocol itself, paging over the engine's list of free slots, so
a search's queries do not grow with the number of slots or appointments. Neither is in the
Patient compartment: a free slot is about nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, Subquery
from django.utils import timezone

from scheduling.fhir import codes, ids
from scheduling.fhir.errors import bad_request
from scheduling.fhir.kinds import (
    EXPORT_BATCH,
    SEARCHABLE,
    Found,
    Kind,
    MultiKind,
    Page,
    Query,
    RowKind,
    SearchParam,
)
from scheduling.fhir.resources import LOCATION, PRACTITIONER
from scheduling.fhir.schedule_resources import (
    HORIZON_DAYS,
    MAX_WINDOW_DAYS,
    SCHEDULE_KEYS,
    SCHEDULE_LOCATION,
    SCHEDULE_PRACTITIONER,
    FreeSlot,
    ScheduleRef,
    free_slots,
    horizon,
    location_schedules,
    practitioner_schedules,
    served_types,
    slot_if_free,
    slot_key,
    slots,
)
from scheduling.fhir.search import parse_date, single
from scheduling.models import AppointmentType, Clinician, Room
from scheduling.slots import clinic_tz

# --- Schedule ---------------------------------------------------------------------------------

ACTOR_TYPES = (PRACTITIONER, LOCATION)


def _actor(actor_type: str) -> SearchParam:
    """`actor=Practitioner/<id>` or `Location/<id>` (a bare id is looked up as either)."""

    def condition(values: list[str]) -> Q:
        value = single("actor", values)
        named, _, bare = value.rpartition("/")
        if named and named not in ACTOR_TYPES:
            raise bad_request("actor: a Practitioner/<id> or Location/<id> reference")
        pk = ids.resolve(actor_type, bare) if named in ("", actor_type) else None
        return Q(pk=pk) if pk is not None else Q(pk__in=[])

    return SearchParam(
        "actor", "reference", "The clinician (Practitioner/<id>) or room (Location/<id>)", condition
    )


def _active(values: list[str]) -> Q:
    value = single("active", values)
    if value not in ("true", "false"):
        raise bad_request("active: true or false")
    return Q(active=value == "true")


def _schedule_params(actor_type: str) -> tuple[SearchParam, ...]:
    return (
        _actor(actor_type),
        SearchParam("active", "token", "Whether the schedule is in use (true, false)", _active),
    )


def _rooms_with_own_types() -> Q:
    """Rooms of a kind some offered type books without a clinician (no extra query)."""
    kinds = AppointmentType.objects.filter(active=True, needs_clinician=False).values("room_kind")
    return Q(kind__in=Subquery(kinds))


PRACTITIONER_SCHEDULE = RowKind(
    type="Schedule",
    key=SCHEDULE_PRACTITIONER,
    queryset=lambda: Clinician.objects.all(),
    build=lambda rows: practitioner_schedules(rows, timezone.now()),
    patient_id=lambda row: None,
    params=_schedule_params(PRACTITIONER),
    since_field=None,
    patient_field=None,
)

LOCATION_SCHEDULE = RowKind(
    type="Schedule",
    key=SCHEDULE_LOCATION,
    queryset=lambda: Room.objects.filter(_rooms_with_own_types()),
    build=lambda rows: location_schedules(rows, timezone.now()),
    patient_id=lambda row: None,
    params=_schedule_params(LOCATION),
    since_field=None,
    patient_field=None,
)

SCHEDULE = MultiKind(
    type="Schedule",
    sources=(PRACTITIONER_SCHEDULE, LOCATION_SCHEDULE),
    description="A clinician's (or a room's) free time by appointment type",
)

# --- Slot -------------------------------------------------------------------------------------


def _parsed_by_slot_kind(values: list[str]) -> Q:
    raise TypeError("Slot is not a queryset: SlotKind parses its parameters (slot_search)")


def _slot_param(name: str, kind: str, documentation: str) -> SearchParam:
    return SearchParam(name, kind, documentation, _parsed_by_slot_kind)


SLOT_PARAMS = (
    _slot_param("schedule", "reference", "The Schedule (Schedule/<id>)"),
    _slot_param(
        "start",
        "date",
        f"When the slot starts: ge/gt and lt/le bound a window of at most {MAX_WINDOW_DAYS} "
        f"days (without, the next {HORIZON_DAYS} days)",
    ),
    _slot_param(
        "service-type",
        "token",
        f"The appointment type's code ({codes.APPOINTMENT_TYPE_SYSTEM}), comma separated",
    ),
    _slot_param("status", "token", "Slot status codes; only free slots are served"),
)


@dataclass(frozen=True)
class SlotSearch:
    start: dt.datetime
    end: dt.datetime
    schedule: ScheduleRef | None
    types: list[AppointmentType]
    nothing: bool  # a parameter no slot can match (an unknown schedule, status=busy)


def _window(values: list[str], now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    low: dt.datetime | None = None
    high: dt.datetime | None = None
    for value in values:
        if "," in value:
            raise bad_request("start: one value each time (repeat start= for a window)")
        r = parse_date("start", value)
        after = {"ge": r.start, "gt": r.end, "eq": r.start}.get(r.prefix)
        before = {"lt": r.start, "le": r.end, "eq": r.end}.get(r.prefix)
        if after is not None:
            low = after if low is None else max(low, after)
        if before is not None:
            high = before if high is None else min(high, before)
    low = low or now
    high = high or low + dt.timedelta(days=HORIZON_DAYS)
    zone = clinic_tz()
    # Measured on the clinic's calendar: 1 to 31 October is 31 days though clocks fall back.
    wall = high.astimezone(zone).replace(tzinfo=None) - low.astimezone(zone).replace(tzinfo=None)
    if wall > dt.timedelta(days=MAX_WINDOW_DAYS):
        raise bad_request(f"start: a window of at most {MAX_WINDOW_DAYS} days")
    return low, high


def _tokens(values: list[str]) -> list[set[str]]:
    """Each occurrence of a token parameter as its set of alternatives (comma = or)."""
    return [{part.strip() for part in value.split(",")} for value in values]


def _type_codes(values: list[str]) -> set[str] | None:
    """The type codes every `service-type` occurrence allows; None when not asked."""
    if not values:
        return None
    allowed: set[str] | None = None
    for alternatives in _tokens(values):
        found = set()
        for token in alternatives:
            system, bar, code = token.rpartition("|")
            if not bar or system in ("", codes.APPOINTMENT_TYPE_SYSTEM):
                found.add(code)
        allowed = found if allowed is None else allowed & found
    return allowed


def _free_asked(values: list[str]) -> bool:
    for alternatives in _tokens(values):
        unknown = alternatives - codes.SLOT_STATUSES
        if unknown:
            raise bad_request(f"status: '{sorted(unknown)[0][:40]}' is not a Slot status code")
        if "free" not in alternatives:
            return False
    return True


def slot_search(query: Query, now: dt.datetime) -> SlotSearch:
    """A Slot search's parameters, checked (an unserved or malformed one is a 400)."""
    served = {p.name for p in SLOT_PARAMS}
    for name in query:
        if name not in served:
            raise bad_request(f"the search parameter '{name[:40]}' is not supported")
    start, end = _window(query.get("start", []), now)
    schedule = None
    unknown_schedule = False
    if "schedule" in query:
        value = single("schedule", query["schedule"]).removeprefix("Schedule/")
        found = ids.resolve_any(value, SCHEDULE_KEYS)
        schedule = ScheduleRef(*found) if found else None
        unknown_schedule = found is None
    type_codes = _type_codes(query.get("service-type", []))
    types = [t for t in served_types() if type_codes is None or t.code in type_codes]
    free = _free_asked(query.get("status", []))
    return SlotSearch(start, end, schedule, types, unknown_schedule or not free)


@dataclass(frozen=True)
class SlotKind:
    """Free slots, computed by the engine for each search, read and export."""

    type: str = "Slot"
    params: tuple[SearchParam, ...] = SLOT_PARAMS
    interactions: tuple[str, ...] = SEARCHABLE
    in_patient_compartment: bool = False
    description: str = "A free time for an appointment type on a Schedule (computed)"

    def read(self, fhir_id: str) -> Found | None:
        key = slot_key(fhir_id)
        found = slot_if_free(key, now=timezone.now()) if key is not None else None
        return Found(slots([found]), []) if found is not None else None

    def _found(self, search: SlotSearch, now: dt.datetime) -> list[FreeSlot]:
        if search.nothing:
            return []
        return free_slots(
            start=search.start,
            end=search.end,
            now=now,
            schedule=search.schedule,
            types=search.types,
        )

    def search(self, query: Query, offset: int, count: int) -> Page:
        now = timezone.now()
        found = self._found(slot_search(query, now), now)
        return Page(Found(slots(found[offset : offset + count]), []), len(found) > offset + count)

    def export(
        self,
        *,
        since: dt.datetime | None = None,
        patient_pks: list[int] | None = None,
        batch: int = EXPORT_BATCH,
    ) -> Iterator[Found]:
        """The free slots of the planning horizon (whatever `_since`: they are a snapshot, not
        rows that changed); none in a patient-level export."""
        if patient_pks is not None:
            return
        now = timezone.now()
        start, end = horizon(now)
        found = free_slots(start=start, end=end, now=now, types=served_types())
        for at in range(0, len(found), batch):
            yield Found(slots(found[at : at + batch]), [])


SLOT = SlotKind()

KINDS: tuple[Kind, ...] = (SCHEDULE, SLOT)
