"""Schedule and Slot in the FHIR API: free slots as the engine sees them, computed ids that open
only here, a slot taken since it was listed is gone, windows, paging, query counts and scopes.

The clock stands on Thursday 29 October 2026, 08:00 in Sacramento: the clinic's clocks fall back
on Sunday 1 November, inside the fortnight every default search covers.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling.fhir import schedule_resources
from scheduling.fhir.access import scope_for
from scheduling.fhir.ids import fhir_id
from scheduling.fhir.kinds_schedule import SCHEDULE, SLOT
from scheduling.fhir.schedule_resources import (
    HORIZON_DAYS,
    SCHEDULE_LOCATION,
    SCHEDULE_PRACTITIONER,
    slot_key,
)
from scheduling.models import AppointmentType, RoomKind
from scheduling.slots import staff_slots
from tests.clinic_time import LA, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ClosureFactory,
    RoomFactory,
    consult_clinic,
    consultation_at,
)
from tests.fhir.support import api_client, basic, fhir_get, outcome, validated

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4/"
THURSDAY = dt.date(2026, 10, 29)
FRIDAY = dt.date(2026, 10, 30)
MONDAY_AFTER = dt.date(2026, 11, 2)  # the first clinic day on standard time
NOW = at(THURSDAY, 8)


@pytest.fixture(autouse=True)
def clock():
    yield from stopped_clock(NOW)


@pytest.fixture
def clinic():
    return consult_clinic()


def _day(day: dt.date) -> str:
    return f"start=ge{day.isoformat()}&start=lt{(day + dt.timedelta(days=1)).isoformat()}"


def _all(client, new, query: str) -> list[dict]:
    """Every resource of a search, following next links."""
    found: list[dict] = []
    url = f"{BASE}Slot?{query}&_count=100"
    while url:
        bundle = validated(fhir_get(client, url, new).json())
        found += [entry["resource"] for entry in bundle.get("entry", [])]
        url = next((x["url"] for x in bundle["link"] if x["relation"] == "next"), None)
    return found


def _local(resource: dict) -> str:
    return dt.datetime.fromisoformat(resource["start"]).astimezone(LA).strftime("%a %H:%M")


def _schedule_id(clinician) -> str:
    return fhir_id(SCHEDULE_PRACTITIONER, clinician.pk)


# --- Schedule ---------------------------------------------------------------------------------


def test_each_clinician_has_a_schedule_of_the_types_that_need_one(client, clinic):
    new = api_client()
    infusion = AppointmentTypeFactory(infusion=True)
    ClinicianFactory(display_name="Dr Retired", active=False)
    bundle = validated(fhir_get(client, f"{BASE}Schedule", new).json())
    schedules = {e["resource"]["actor"][0]["display"]: e["resource"] for e in bundle["entry"]}
    assert set(schedules) == {"Dr Example", "Dr Retired"}
    mine = schedules["Dr Example"]
    assert mine["id"] == _schedule_id(clinic.clinician)
    assert mine["active"] is True and schedules["Dr Retired"]["active"] is False
    assert (
        mine["actor"][0]["reference"]
        == f"Practitioner/{fhir_id('Practitioner', clinic.clinician.pk)}"
    )
    assert [s["coding"][0]["code"] for s in mine["serviceType"]] == ["consultation", infusion.code]
    assert mine["serviceType"][0]["text"] == "Consultation"
    horizon = mine["planningHorizon"]
    assert dt.datetime.fromisoformat(horizon["start"]) == NOW
    # Fourteen clinic days, today the first: until midnight ending Wednesday 11 November (PST).
    assert dt.datetime.fromisoformat(horizon["end"]) == dt.datetime(2026, 11, 12, tzinfo=LA)
    read = fhir_get(client, f"{BASE}Schedule/{mine['id']}", new)
    assert validated(read.json()) == mine


def test_schedule_search_by_actor_and_active(client, clinic):
    new = api_client()
    other = ClinicianFactory(active=False)
    practitioner = fhir_id("Practitioner", clinic.clinician.pk)

    def ids(query: str) -> list[str]:
        bundle = fhir_get(client, f"{BASE}Schedule?{query}", new).json()
        return [e["resource"]["id"] for e in bundle.get("entry", [])]

    assert ids(f"actor=Practitioner/{practitioner}") == [_schedule_id(clinic.clinician)]
    assert ids(f"actor={practitioner}") == [_schedule_id(clinic.clinician)]
    assert ids("active=false") == [_schedule_id(other)]
    assert ids(f"actor=Location/{practitioner}") == []
    assert ids("actor=Practitioner/nobody") == []
    outcome(fhir_get(client, f"{BASE}Schedule?active=maybe", new), 400, "invalid")
    outcome(fhir_get(client, f"{BASE}Schedule?actor=Patient/x", new), 400, "invalid")
    outcome(fhir_get(client, f"{BASE}Schedule?_lastUpdated=ge2026-01-01", new), 400, "invalid")


def test_a_type_without_a_clinician_is_booked_on_room_schedules(client, clinic):
    new = api_client()
    chair = AppointmentTypeFactory(
        code="recovery-chair",
        name="Recovery chair",
        needs_clinician=False,
        room_kind=RoomKind.INFUSION,
        duration_minutes=60,
    )
    room = RoomFactory(infusion=True, name="Infusion 1")
    bundle = fhir_get(client, f"{BASE}Schedule", new).json()
    by_actor = {
        e["resource"]["actor"][0]["reference"].split("/")[0]: e["resource"] for e in bundle["entry"]
    }
    location = by_actor["Location"]
    assert location["id"] == fhir_id(SCHEDULE_LOCATION, room.pk)
    assert [s["coding"][0]["code"] for s in location["serviceType"]] == ["recovery-chair"]
    # The consult room has no Schedule: every consult-room type needs a clinician.
    assert len(bundle["entry"]) == 2
    slots = _all(client, new, f"schedule={location['id']}&{_day(FRIDAY)}")
    assert slots and {s["serviceType"][0]["coding"][0]["code"] for s in slots} == {chair.code}
    clinician_slots = _all(client, new, f"schedule={_schedule_id(clinic.clinician)}&{_day(FRIDAY)}")
    assert {s["serviceType"][0]["coding"][0]["code"] for s in clinician_slots} == {"consultation"}


# --- Slot: what is free -----------------------------------------------------------------------


def test_slots_agree_with_the_engine_and_validate(client, clinic):
    new = api_client()
    slots = _all(client, new, _day(FRIDAY))
    engine = staff_slots(clinic.consultation, FRIDAY, FRIDAY, now=NOW)
    assert [dt.datetime.fromisoformat(s["start"]) for s in slots] == [s.start for s in engine]
    assert len(slots) == 37  # 09:00 to 18:00 every 15 minutes
    first = slots[0]
    assert first["status"] == "free"
    assert first["schedule"]["reference"] == f"Schedule/{_schedule_id(clinic.clinician)}"
    assert first["serviceType"][0]["coding"][0]["code"] == "consultation"
    assert _local(first) == "Fri 09:00"
    assert dt.datetime.fromisoformat(first["end"]) - dt.datetime.fromisoformat(
        first["start"]
    ) == dt.timedelta(hours=1)


def test_a_booked_appointment_removes_its_slots_and_a_closure_its_day(client, clinic):
    new = api_client()
    consultation_at(clinic, at(FRIDAY, 10))
    ClosureFactory(start_date=MONDAY_AFTER, reason="Training day")
    friday = [_local(s) for s in _all(client, new, _day(FRIDAY))]
    assert "Fri 09:00" in friday and "Fri 11:00" in friday
    # A 60-minute consultation cannot start from 09:15 to 10:45: the 10:00 one is in the way.
    assert not {"Fri 09:15", "Fri 10:00", "Fri 10:45"} & set(friday)
    assert _all(client, new, _day(MONDAY_AFTER)) == []
    engine = staff_slots(clinic.consultation, FRIDAY, FRIDAY, now=NOW)
    assert len(friday) == len(engine)


def test_slots_keep_wall_clock_times_across_the_fall_back(client, clinic):
    new = api_client()
    fortnight = _all(client, new, "")
    starts = [dt.datetime.fromisoformat(s["start"]) for s in fortnight]
    firsts = {}
    for start in starts:
        firsts.setdefault(start.astimezone(LA).date(), start)
    # 09:00 in Sacramento is 16:00 UTC on daylight time and 17:00 UTC on standard time.
    assert firsts[FRIDAY].astimezone(dt.UTC).hour == 16
    assert firsts[MONDAY_AFTER].astimezone(dt.UTC).hour == 17
    assert firsts[FRIDAY].astimezone(LA).hour == firsts[MONDAY_AFTER].astimezone(LA).hour == 9
    # Today (Thursday, from 08:00) to Wednesday 11 November: ten clinic days, none at a weekend.
    assert sorted(firsts) == [
        d for d in (THURSDAY + dt.timedelta(days=n) for n in range(HORIZON_DAYS)) if d.weekday() < 5
    ]


def test_search_by_schedule_service_type_and_status(client, clinic):
    new = api_client()
    AppointmentTypeFactory(code="follow-up", name="Follow-up", duration_minutes=30)
    both = _all(client, new, _day(FRIDAY))
    codes = {s["serviceType"][0]["coding"][0]["code"] for s in both}
    assert codes == {"consultation", "follow-up"}
    system = quote("https://propel.clinic/fhir/CodeSystem/appointment-type|follow-up")
    for query in ("service-type=follow-up", f"service-type={system}"):
        found = _all(client, new, f"{_day(FRIDAY)}&{query}")
        assert found and {s["serviceType"][0]["coding"][0]["code"] for s in found} == {"follow-up"}
    assert _all(client, new, f"{_day(FRIDAY)}&service-type=other|follow-up") == []
    assert len(_all(client, new, f"{_day(FRIDAY)}&service-type=follow-up,consultation")) == len(
        both
    )
    assert len(_all(client, new, f"{_day(FRIDAY)}&status=free")) == len(both)
    assert _all(client, new, f"{_day(FRIDAY)}&status=busy") == []
    schedule = _schedule_id(clinic.clinician)
    assert len(_all(client, new, f"{_day(FRIDAY)}&schedule=Schedule/{schedule}")) == len(both)
    assert _all(client, new, f"{_day(FRIDAY)}&schedule=nobody") == []


def test_each_clinician_free_for_a_time_has_a_slot_on_their_schedule(client, clinic):
    new = api_client()
    second = ClinicianFactory(display_name="Dr Second")
    RoomFactory(name="Consult B")
    consultation_at(clinic, at(FRIDAY, 9))  # Dr Example is busy 09:00-10:00
    friday = _all(client, new, _day(FRIDAY))
    at_nine = [s["schedule"]["reference"] for s in friday if _local(s) == "Fri 09:00"]
    assert at_nine == [f"Schedule/{_schedule_id(second)}"]
    at_eleven = {s["schedule"]["reference"] for s in friday if _local(s) == "Fri 11:00"}
    assert at_eleven == {f"Schedule/{_schedule_id(c)}" for c in (clinic.clinician, second)}


# --- Slot ids and read ------------------------------------------------------------------------


def test_a_slot_reads_back_while_free_with_a_stable_opaque_id(client, clinic):
    new = api_client()
    slots = _all(client, new, _day(FRIDAY))
    again = _all(client, new, _day(FRIDAY))
    assert [s["id"] for s in slots] == [s["id"] for s in again]
    assert len({s["id"] for s in slots}) == len(slots)
    for slot in slots[:3]:
        assert len(slot["id"]) <= 64
        read = fhir_get(client, f"{BASE}Slot/{slot['id']}", new)
        assert read.status_code == 200
        assert validated(read.json()) == slot
    # Nothing readable: neighbours on one schedule (15 minutes apart) share about as many
    # characters as two random strings would (1 in 16), and an id opens to what it names only
    # with the server's key.
    same = sum(a == b for a, b in zip(slots[0]["id"], slots[1]["id"], strict=True))
    assert same < 15
    key = slot_key(slots[0]["id"])
    assert key is not None
    assert (key.schedule.pk, key.type_pk) == (clinic.clinician.pk, clinic.consultation.pk)
    assert key.start == dt.datetime.fromisoformat(slots[0]["start"])


def test_a_slot_taken_after_listing_is_not_found(client, clinic):
    new = api_client()
    slot = next(s for s in _all(client, new, _day(FRIDAY)) if _local(s) == "Fri 11:00")
    AppointmentFactory(
        appointment_type=clinic.consultation,
        room=clinic.room,
        clinician=clinic.clinician,
        start=at(FRIDAY, 11, 30),
    )
    outcome(fhir_get(client, f"{BASE}Slot/{slot['id']}", new), 404, "not-found")


def test_a_slot_whose_time_has_passed_is_not_found(client, clinic, clock):
    new = api_client()
    slot = next(s for s in _all(client, new, _day(FRIDAY)) if _local(s) == "Fri 09:00")
    clock.move_to(at(FRIDAY, 9, 5))
    outcome(fhir_get(client, f"{BASE}Slot/{slot['id']}", new), 404, "not-found")


def test_a_tampered_or_made_up_slot_id_is_not_found(client, clinic):
    new = api_client()
    slot_id = _all(client, new, _day(FRIDAY))[0]["id"]
    flipped = slot_id[:-1] + ("0" if slot_id[-1] != "0" else "1")
    middle = slot_id[:20] + ("a" if slot_id[20] != "a" else "b") + slot_id[21:]
    for bad in (flipped, middle, slot_id.upper(), slot_id[:-2], "0" * 58, "x"):
        outcome(fhir_get(client, f"{BASE}Slot/{bad}", new), 404, "not-found")
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
        outcome(fhir_get(client, f"{BASE}Slot/{slot_id}", new), 404, "not-found")


def test_a_slot_of_a_withdrawn_type_is_not_found(client, clinic):
    new = api_client()
    slot_id = _all(client, new, _day(FRIDAY))[0]["id"]
    AppointmentType.objects.filter(pk=clinic.consultation.pk).update(active=False)
    outcome(fhir_get(client, f"{BASE}Slot/{slot_id}", new), 404, "not-found")


# --- Windows and bad parameters ---------------------------------------------------------------


def test_a_window_of_31_days_is_served_and_a_longer_one_refused(client, clinic):
    new = api_client()
    ok = fhir_get(client, f"{BASE}Slot?start=ge2026-11-01&start=lt2026-12-02&_count=1", new)
    assert ok.status_code == 200
    for query in (
        "start=ge2026-11-01&start=lt2026-12-03",
        "start=lt2026-12-31",  # from now
        "start=ge2026-11-01&start=le2026-12-02",
    ):
        body = outcome(fhir_get(client, f"{BASE}Slot?{query}", new), 400, "invalid")
        assert "31 days" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "query",
    [
        "start=tomorrow",
        "start=ge2026-13-01",
        "start=ne2026-11-02",
        "start=ge2026-11-02,ge2026-11-03",
        "status=open",
        "schedule=a&schedule=b",
        "_lastUpdated=ge2026-01-01",
        "patient=x",
    ],
)
def test_malformed_or_unserved_slot_parameters_are_400(client, clinic, query):
    outcome(fhir_get(client, f"{BASE}Slot?{query}", api_client()), 400, "invalid")


def test_a_window_in_the_past_is_empty(client, clinic):
    bundle = fhir_get(client, f"{BASE}Slot?{_day(dt.date(2026, 10, 1))}", api_client()).json()
    assert bundle["type"] == "searchset" and bundle.get("entry", []) == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    resource_type=st.sampled_from(["Slot", "Schedule", "Slot/x" + "0" * 57]),
    pairs=st.lists(
        st.tuples(
            st.sampled_from(
                ["start", "schedule", "service-type", "status", "actor", "active", "_count"]
            ),
            st.one_of(
                st.text(max_size=30),
                st.from_regex(r"(eq|ge|gt|lt|le|ne)?[0-9]{4}(-[0-9]{2}){0,2}(T[0-9:]{0,8}Z)?"),
            ),
        ),
        max_size=4,
    ),
)
def test_no_query_string_makes_a_500(client, clinic, resource_type, pairs):
    new = api_client()
    query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
    response = client.get(f"{BASE}{resource_type}?{query}", **basic(new))
    assert response.status_code in (200, 400, 404), (query, response.content[:300])
    validated(response.json())


# --- Paging, query counts, scopes, export -----------------------------------------------------


def test_paging_follows_next_links_over_the_computed_list(client, clinic):
    new = api_client()
    every = _all(client, new, _day(FRIDAY))
    seen: list[str] = []
    url = f"{BASE}Slot?{_day(FRIDAY)}&_count=10"
    pages = 0
    while url:
        bundle = fhir_get(client, url, new).json()
        pages += 1
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        links = {x["relation"]: x["url"] for x in bundle["link"]}
        assert ("previous" in links) == (pages > 1)
        url = links.get("next")
    assert pages == 4
    assert seen == [s["id"] for s in every]


def _queries(client, new, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = fhir_get(client, url, new)
    assert response.status_code == 200
    return len(queries)


def test_slot_search_queries_do_not_grow_with_appointments_or_slots(client, clinic):
    new = api_client()
    url = f"{BASE}Slot?start=ge2026-11-02&start=lt2026-11-28&_count=100"
    _queries(client, new, url)  # hands out the Schedule ids once
    consultation_at(clinic, at(MONDAY_AFTER, 9))
    one = _queries(client, new, url)
    for n in range(19):
        day = MONDAY_AFTER + dt.timedelta(days=1 + n % 4, weeks=n // 4)
        consultation_at(clinic, at(day, 9 + n % 8))
    twenty = _queries(client, new, url)
    assert one == twenty
    small = _queries(client, new, f"{BASE}Slot?{_day(FRIDAY)}&_count=1")
    assert small == one


def test_schedule_search_queries_are_the_same_for_1_and_20_clinicians(client, clinic):
    new = api_client()
    url = f"{BASE}Schedule?_count=100"
    _queries(client, new, url)
    one = _queries(client, new, url)
    for _ in range(19):
        ClinicianFactory()
    _queries(client, new, url)  # hands out the new ids once
    assert _queries(client, new, url) == one


def test_scopes_guard_schedule_and_slot_apart(client, clinic):
    schedules_only = api_client([scope_for("Schedule")])
    schedule = fhir_get(client, f"{BASE}Schedule", schedules_only).json()["entry"][0]["resource"]
    outcome(fhir_get(client, f"{BASE}Slot", schedules_only), 403, "forbidden")
    slot_id = _all(client, api_client(), _day(FRIDAY))[0]["id"]
    outcome(fhir_get(client, f"{BASE}Slot/{slot_id}", schedules_only), 403, "forbidden")
    patients_only = api_client([scope_for("Patient")])
    outcome(fhir_get(client, f"{BASE}Schedule/{schedule['id']}", patients_only), 403, "forbidden")


def test_metadata_lists_schedule_and_slot(client):
    statement = client.get(f"{BASE}metadata").json()
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {p["name"] for p in served["Slot"]["searchParam"]} == {
        "schedule",
        "start",
        "service-type",
        "status",
    }
    assert {p["name"] for p in served["Schedule"]["searchParam"]} == {"actor", "active"}


def test_export_writes_the_horizon_of_free_slots_and_every_schedule(clinic):
    exported = [r for found in SLOT.export(batch=50) for r in found.resources]
    assert all(found.patient_ids == [] for found in SLOT.export(batch=50))
    engine = staff_slots(
        clinic.consultation, THURSDAY, THURSDAY + dt.timedelta(days=HORIZON_DAYS - 1), now=NOW
    )
    assert [dt.datetime.fromisoformat(r["start"]) for r in exported] == [s.start for s in engine]
    assert len({r["id"] for r in exported}) == len(exported)
    assert list(SLOT.export(patient_pks=[1])) == []
    assert not SLOT.in_patient_compartment and not SCHEDULE.in_patient_compartment
    schedules = [r for found in SCHEDULE.export() for r in found.resources]
    assert [r["id"] for r in schedules] == [_schedule_id(clinic.clinician)]
    assert list(SCHEDULE.export(patient_pks=[1])) == []
    assert schedule_resources.HORIZON_DAYS == 14
