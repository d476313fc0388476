"""Schedule and Slot: the clinic's free time for the EHR (issue 23, "Schedule/Slot for free slots").

**Schedules.** FHIR keeps one Schedule per resource that is booked independently. Every type that
needs a clinician (consultation, infusion, follow-up) is booked against a clinician, so each
clinician has a Schedule (actor: their Practitioner) listing those types as serviceType. A type
that needs no clinician is booked against a room, so each room of such a type's kind has a
Schedule (actor: its Location). A (type, time) therefore shows on the Schedule of each clinician
(or room) free for it, never twice on one Schedule. Ids are random and stored (FhirId keys
`Schedule.practitioner` over the clinician's pk, `Schedule.location` over the room's).

**Slots are computed, not stored.** The engine (scheduling.slots.staff_slots: opening hours,
closures, staff-only extra openings, working hours, appointments, live holds, blocked time) says
what is free, in a fixed number of queries; storing a row per (schedule, type, start) would be
thousands of rows a fortnight rewritten on every booking, always at risk of saying "free" for a
time just taken. A Slot's id is instead its (schedule, type, start minute) sealed with AES-SIV
(RFC 5297: deterministic authenticated encryption), keyed from SECRET_KEY by salted_hmac: the same
slot always has the same id, an id tells nothing (not even database ids), and a changed or made-up
id does not open. A read opens the id and asks the engine again about that day: a slot taken
since it was listed is a 404. Only free slots are served (busy time is the Appointments' business,
and hiding it keeps the schedule free of patient facts).
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.utils.crypto import salted_hmac
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from scheduling.availability import Slot
from scheduling.fhir import codes
from scheduling.fhir.ids import fhir_ids
from scheduling.fhir.resources import LOCATION, PRACTITIONER, as_json
from scheduling.models import AppointmentType, Clinician, Room
from scheduling.slots import clinic_tz, staff_slots, utc_range

# FhirId keys, one per kind of Schedule; a key's position is its byte in a Slot id, so the order
# must never change (append only).
SCHEDULE_PRACTITIONER = "Schedule.practitioner"
SCHEDULE_LOCATION = "Schedule.location"
SCHEDULE_KEYS = (SCHEDULE_PRACTITIONER, SCHEDULE_LOCATION)
ACTOR_TYPES = {SCHEDULE_PRACTITIONER: PRACTITIONER, SCHEDULE_LOCATION: LOCATION}

HORIZON_DAYS = 14  # Schedule.planningHorizon, a search without dates, the bulk export
MAX_WINDOW_DAYS = 31  # the widest start=ge..&start=lt.. a search may ask

SLOT_ID_SALT = "propel.fhir.slot-id"
# schedule key index, schedule row pk, appointment type pk, start in minutes since 1970 (UTC)
_PAYLOAD = struct.Struct(">BIII")
# AES-SIV adds a 16-byte tag: 13 + 16 bytes as hex = 58 characters (a FHIR id is at most 64).
_SLOT_ID = re.compile(r"^[0-9a-f]{58}$")


@dataclass(frozen=True, order=True)
class ScheduleRef:
    """One Schedule: its FhirId key and the clinician's or room's pk."""

    key: str
    pk: int


@dataclass(frozen=True)
class FreeSlot:
    schedule: ScheduleRef
    type: AppointmentType
    start: dt.datetime
    end: dt.datetime


def served_types() -> list[AppointmentType]:
    """The offered appointment types (one query), in a fixed order."""
    return list(AppointmentType.objects.filter(active=True).order_by("pk"))


def schedule_key_for(appointment_type: AppointmentType) -> str:
    return SCHEDULE_PRACTITIONER if appointment_type.needs_clinician else SCHEDULE_LOCATION


def horizon(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """From `now` to the clinic's midnight ending the HORIZON_DAYS-th day (today the first)."""
    today = now.astimezone(clinic_tz()).date()
    last = today + dt.timedelta(days=HORIZON_DAYS - 1)
    return now, utc_range(today, last, clinic_tz()).end


# --- Slot ids ---------------------------------------------------------------------------------


def _cipher() -> AESSIV:
    # 64 bytes: AES-256-SIV. Derived from SECRET_KEY, so slot ids change with a key rotation
    # (harmless: a slot lives at most until its start; the EHR lists them again).
    return AESSIV(salted_hmac(SLOT_ID_SALT, "aes-siv", algorithm="sha512").digest())


def slot_id(
    schedule: ScheduleRef, type_pk: int, start: dt.datetime, cipher: AESSIV | None = None
) -> str:
    # Four bytes a pk: more than a clinic's rooms, clinicians and types will ever number.
    minute = int(start.timestamp()) // 60
    payload = _PAYLOAD.pack(SCHEDULE_KEYS.index(schedule.key), schedule.pk, type_pk, minute)
    return (cipher or _cipher()).encrypt(payload, None).hex()


@dataclass(frozen=True)
class SlotKey:
    schedule: ScheduleRef
    type_pk: int
    start: dt.datetime


def slot_key(value: str) -> SlotKey | None:
    """What a Slot id says; None for anything this server did not make (or made with another
    SECRET_KEY)."""
    if not _SLOT_ID.match(value or ""):
        return None
    try:
        payload = _cipher().decrypt(bytes.fromhex(value), None)
    except InvalidTag:
        return None
    index, pk, type_pk, minute = _PAYLOAD.unpack(payload)
    if index >= len(SCHEDULE_KEYS):
        return None
    start = dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)
    return SlotKey(ScheduleRef(SCHEDULE_KEYS[index], pk), type_pk, start)


# --- Free slots from the engine ---------------------------------------------------------------


def _expand(
    appointment_type: AppointmentType,
    slots: Iterable[Slot],
    schedule: ScheduleRef | None,
) -> list[FreeSlot]:
    key = schedule_key_for(appointment_type)
    found = []
    for slot in slots:
        pks = slot.clinician_ids if key == SCHEDULE_PRACTITIONER else slot.room_ids
        for pk in pks:
            ref = ScheduleRef(key, pk)
            if schedule is None or ref == schedule:
                found.append(FreeSlot(ref, appointment_type, slot.start, slot.end))
    return found


def free_slots(
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    schedule: ScheduleRef | None = None,
    types: Sequence[AppointmentType],
) -> list[FreeSlot]:
    """Every free slot starting in [start, end) (and not before `now`), per Schedule, ordered by
    start, schedule and type. The engine's queries per type, whatever the number of slots or
    appointments."""
    start = max(start, now)
    if end <= start:
        return []
    zone = clinic_tz()
    first = start.astimezone(zone).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    found: list[FreeSlot] = []
    for appointment_type in types:
        if schedule is not None and schedule.key != schedule_key_for(appointment_type):
            continue
        engine = staff_slots(appointment_type, first, last, now=now)
        found += _expand(appointment_type, (s for s in engine if start <= s.start < end), schedule)
    found.sort(key=lambda s: (s.start, s.schedule, s.type.pk))
    return found


def slot_if_free(key: SlotKey, *, now: dt.datetime) -> FreeSlot | None:
    """The slot an id names if it is still free now (the engine asked about its day again)."""
    appointment_type = AppointmentType.objects.filter(pk=key.type_pk, active=True).first()
    if appointment_type is None:
        return None
    found = free_slots(
        start=key.start,
        end=key.start + dt.timedelta(minutes=1),
        now=now,
        schedule=key.schedule,
        types=[appointment_type],
    )
    return found[0] if found else None


# --- Builders ---------------------------------------------------------------------------------


def service_type(appointment_type: AppointmentType) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": codes.APPOINTMENT_TYPE_SYSTEM,
                "code": appointment_type.code,
                "display": appointment_type.name,
            }
        ],
        "text": appointment_type.name,
    }


def _schedules(
    key: str,
    rows: Sequence[Any],
    serves: Callable[[AppointmentType, Any], bool],
    name: Callable[[Any], str],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    ids = fhir_ids(key, [row.pk for row in rows])
    actor_type = ACTOR_TYPES[key]
    actors = fhir_ids(actor_type, [row.pk for row in rows])
    types = served_types()
    opens, closes = horizon(now)
    return [
        as_json(
            FhirSchedule.model_validate(
                {
                    "id": ids[row.pk],
                    "active": row.active,
                    "serviceType": [service_type(t) for t in types if serves(t, row)],
                    "actor": [
                        {"reference": f"{actor_type}/{actors[row.pk]}", "display": name(row)}
                    ],
                    "planningHorizon": {"start": opens, "end": closes},
                }
            )
        )
        for row in rows
    ]


def practitioner_schedules(rows: Sequence[Clinician], now: dt.datetime) -> list[dict[str, Any]]:
    """A clinician's Schedule: every offered type that needs a clinician."""
    return _schedules(
        SCHEDULE_PRACTITIONER,
        rows,
        lambda t, row: t.needs_clinician,
        lambda row: row.display_name,
        now,
    )


def location_schedules(rows: Sequence[Room], now: dt.datetime) -> list[dict[str, Any]]:
    """A room's Schedule: every offered type of its kind that needs no clinician."""
    return _schedules(
        SCHEDULE_LOCATION,
        rows,
        lambda t, row: not t.needs_clinician and t.room_kind == row.kind,
        lambda row: row.name,
        now,
    )


def slots(found: Sequence[FreeSlot]) -> list[dict[str, Any]]:
    """Slots as validated JSON; one query per kind of Schedule for their ids, whatever the count."""
    schedule_ids = {
        key: fhir_ids(key, {s.schedule.pk for s in found if s.schedule.key == key})
        for key in SCHEDULE_KEYS
    }
    cipher = _cipher()
    return [
        as_json(
            FhirSlot.model_validate(
                {
                    "id": slot_id(s.schedule, s.type.pk, s.start, cipher),
                    "schedule": {
                        "reference": f"Schedule/{schedule_ids[s.schedule.key][s.schedule.pk]}"
                    },
                    "status": "free",
                    "serviceType": [service_type(s.type)],
                    "start": s.start,
                    "end": s.end,
                }
            )
        )
        for s in found
    ]
