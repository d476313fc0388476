"""The booking's one read (scheduling.booking_facts) answers the same on PostgreSQL's fixed SQL
text (scheduling.booking_facts_sql) as through the ORM's union (the SQLite path): every part,
each row that belongs and none that does not, for one session and for a course."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling import booking_facts
from scheduling.availability import Interval
from scheduling.booking_facts import WindowQuery
from scheduling.models import AppointmentStatus, BookedVia
from scheduling.spacing import Spacing
from tests import factories as make
from tests.clinic_time import LA, at
from tests.scheduling.time_off_support import block

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)
TUESDAY = dt.date(2027, 1, 5)


def _orm_rows(query: WindowQuery, first: dt.date, last: dt.date) -> list[tuple]:
    parts = [
        *booking_facts._facts_parts(first, last, query.clinician_ids),
        *booking_facts._window_parts(query),
    ]
    head, *rest = parts
    return list(head.union(*rest, all=True))


def _both(query: WindowQuery) -> tuple[list[tuple], list[tuple]]:
    first = query.sessions[0].start.astimezone(LA).date()
    last = query.sessions[-1].end.astimezone(LA).date()
    sql = booking_facts._rows(query, first, last)
    orm = _orm_rows(query, first, last)
    return sorted(sql, key=repr), sorted(orm, key=repr)


@pytest.fixture
def scene():
    """A clinic with something for every part of the read, and something just outside each."""
    make.open_weekdays()
    make.ClosureFactory(start_date=TUESDAY, end_date=TUESDAY, reason="Training day")
    later = dt.date(2027, 2, 1)
    make.ClosureFactory(start_date=later, end_date=later, reason="Later")
    make.ExtraOpeningFactory(date=TUESDAY, opens=dt.time(19), closes=dt.time(20))
    make.ExtraOpeningFactory(date=dt.date(2027, 3, 6))
    consultation = make.AppointmentTypeFactory()
    infusion = make.AppointmentTypeFactory(infusion=True)
    room = make.RoomFactory(infusion=True)
    clinician = make.ClinicianFactory()
    inactive = make.ClinicianFactory(active=False)
    patient = make.PatientFactory()
    ten = at(TUESDAY, 10)
    two_hours = dt.timedelta(hours=2)

    def booked(start, **fields):
        # Elsewhere and with someone else unless named.
        fields.setdefault("room", make.RoomFactory())
        fields.setdefault("clinician", make.ClinicianFactory())
        fields.setdefault("appointment_type", consultation)
        return make.AppointmentFactory(start=start, end=start + two_hours, **fields)

    booked(ten - dt.timedelta(minutes=90), room=room)  # the room, overlapping
    booked(ten + dt.timedelta(hours=1), clinician=clinician)  # the clinician, overlapping
    booked(ten - dt.timedelta(hours=1), patient=patient)  # the patient, overlapping
    booked(ten, clinician=None)  # another room, no clinician: not asked
    booked(ten + two_hours, room=room)  # starts as the session ends: no overlap
    booked(ten, room=room, status=AppointmentStatus.CANCELLED)  # not active
    # The one being moved (exclude_id).
    moved = booked(ten - dt.timedelta(minutes=90), clinician=clinician)
    # The patient's treatment visits: a day before (within 48 h), in the week, far away.
    for days in (-1, 3, 20):
        booked(
            ten + dt.timedelta(days=days),
            patient=patient,
            appointment_type=infusion,
        )
    booked(ten + dt.timedelta(days=10), patient=patient, booked_via=BookedVia.ONLINE)
    booked(ten - dt.timedelta(days=3), patient=patient, booked_via=BookedVia.ONLINE)  # past
    make.SlotHoldFactory(room=room, start=ten, end=ten + two_hours, key="someone-else")
    make.SlotHoldFactory(room=room, start=ten, end=ten + two_hours, key="mine")
    make.SlotHoldFactory(
        room=room, start=ten, end=ten + two_hours, expires_at=NOW - dt.timedelta(minutes=1)
    )
    make.SlotHoldFactory(clinician=clinician, start=ten + dt.timedelta(days=1))  # no session then
    # Blocked time (scheduling.time_off): the room's and the clinician's in the session; another
    # clinician's, and the clinician's on another day, are not read.
    block(ten - two_hours, ten + dt.timedelta(hours=1), room=room, reason="maintenance")
    block(ten + dt.timedelta(hours=1), ten + two_hours, clinician=clinician)
    block(ten, ten + two_hours, clinician=make.ClinicianFactory())
    block(ten + dt.timedelta(days=1), ten + dt.timedelta(days=2), clinician=clinician)
    return {
        "room": room,
        "clinician": clinician,
        "patient": patient,
        "ten": ten,
        "moved": moved,
        "consultation": consultation,
        "clinicians": [clinician.pk, inactive.pk],
    }


def _query(scene, sessions, **fields) -> WindowQuery:
    defaults = {
        "sessions": sessions,
        "room_ids": [scene["room"].pk],
        "clinician_ids": scene["clinicians"],
        "patient_id": scene["patient"].pk,
        "now": NOW,
        "tz": LA,
    }
    return WindowQuery(**{**defaults, **fields})


def test_one_session_reads_the_same_rows_on_both_paths(scene):
    ten = scene["ten"]
    query = _query(
        scene,
        [Interval(ten, ten + dt.timedelta(hours=2))],
        hold_key="mine",
        exclude_id=scene["moved"].pk,
        spacing=Spacing(),
        online_type=scene["consultation"],
    )
    sql, orm = _both(query)
    assert sql == orm
    parts = [row[0] for row in sql]
    # Every part found something, so the comparison covers each of them.
    assert {"weekly", "closure", "extra", "work", "booked", "held", "treatment", "online"} <= set(
        parts
    )
    assert parts.count("blocked") == 2
    assert parts.count("booked") == 3
    assert parts.count("held") == 1
    assert parts.count("treatment") == 2


def test_a_course_reads_the_same_rows_on_both_paths(scene):
    ten = scene["ten"]
    sessions = [
        Interval(ten + dt.timedelta(days=days), ten + dt.timedelta(days=days, hours=2))
        for days in (0, 3, 7, 10)
    ]
    query = _query(scene, sessions, spacing=Spacing())
    sql, orm = _both(query)
    assert sql == orm
    assert sum(row[0] == "treatment" for row in sql) == 2  # not the one 20 days on


def test_a_hold_without_patient_or_clinicians_reads_the_same_rows_on_both_paths(scene):
    ten = scene["ten"]
    query = _query(
        scene, [Interval(ten, ten + dt.timedelta(hours=2))], patient_id=None, clinician_ids=[]
    )
    sql, orm = _both(query)
    assert sql == orm
    assert not {"work", "treatment", "online"} & {row[0] for row in sql}
