"""Issue 16, finding 5 (reads): every staff page that shows a patient's name or details writes one
audit row naming the patients it showed (propel.audit.audit_patients_viewed), whatever the staff
role. The walk reuses the permission matrix's URL list and fixture world, so a new staff page is
walked as soon as it has its row there."""

from __future__ import annotations

import datetime as dt
from html import escape

import pytest
from django.test import Client
from django.urls import reverse

from propel.models import AuditEvent
from tests.clinic_time import stopped_clock
from tests.factories import open_weekdays
from tests.test_permission_matrix import (
    BAD_TOKEN,
    MATRIX,
    STAFF,
    World,
    build_world,
    client_for_persona,
)

pytestmark = pytest.mark.django_db

# 7am in Sacramento on the day of the world's consultation, so the day's pages show it.
NOW = dt.datetime(2027, 1, 5, 15, 0, tzinfo=dt.UTC)

# The health-record pages keep their own read events (intake.staff_views, intake.review_views).
INTAKE_READS = {
    "intake:staff_submission": "chart.viewed",
    "intake:chart": "chart.viewed",
    "intake:review_queue": "review.queue_viewed",
    "intake:staff_signature_pdf": "consent.pdf_viewed",
}

# Staff GET pages (with a staff role let in), by URL name.
STAFF_GET_PAGES = sorted(
    name
    for name, row in MATRIX.items()
    if row.method == "GET" and any(row.expect[p] == 200 for p in STAFF) and name != "admin:index"
)

# Pages that must show the world's patient (so the walk cannot pass by showing nobody). The week
# shows the first room by name, which may not be the visit's: it has its own test below.
MUST_SHOW = {
    "scheduling:today",
    "scheduling:calendar",
    "scheduling:day_sheet",
    "scheduling:appointment",
    "scheduling:appointment_move",
    "scheduling:visit",
    "scheduling:course_new",
    "scheduling:course_detail",
    "scheduling:reminders",
    "scheduling:appointment_reminders",
    "intake:staff_submission",
    "intake:chart",
}


@pytest.fixture(autouse=True)
def _clock():
    yield from stopped_clock(NOW)


def _persona(name: str) -> str:
    row = MATRIX[name]
    return next(p for p in STAFF if row.expect[p] == 200)


def _shows(body: str, patient) -> bool:
    """The page names the patient, first name first or last name first."""
    names = (
        f"{patient.first_name} {patient.last_name}",
        f"{patient.last_name}, {patient.first_name}",
    )
    return any(escape(name) in body for name in names)


def _names(event: AuditEvent) -> set[int]:
    detail = event.detail or {}
    ids = set(detail.get("patient_ids", [])) | set(detail.get("patients", []))
    return ids | ({event.patient_id} if event.patient_id else set())


def _world() -> World:
    """The matrix's world, with the clinic open so the calendar grid has room for its visits."""
    world = build_world()
    open_weekdays()
    return world


def _fetch(client: Client, url: str, **headers: str) -> tuple[str, list[AuditEvent]]:
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.get(url, headers=headers)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    # A CSV download streams (scheduling.reports); a signed form's PDF is binary.
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode(errors="replace"), list(AuditEvent.objects.filter(id__gt=last))


def _check(world: World, name: str, body: str, events: list[AuditEvent]) -> str | None:
    shown = _shows(body, world.patient)
    if name in MUST_SHOW and not shown:
        return f"{name}: the page no longer shows the patient (fix the world or MUST_SHOW)"
    reads = [e for e in events if e.action == INTAKE_READS.get(name, "patient.viewed")]
    if shown and not any(world.patient.pk in _names(e) for e in reads):
        return f"{name}: showed the patient but wrote no read audit naming them"
    if len([e for e in events if e.action == "patient.viewed"]) > 1:
        return f"{name}: more than one patient.viewed row for one page"
    if world.other.pk in set().union(*(_names(e) for e in reads)) and not _shows(body, world.other):
        return f"{name}: named a patient the page did not show"
    return None


@pytest.mark.parametrize("name", STAFF_GET_PAGES)
def test_every_staff_page_that_shows_a_patient_audits_the_read(name):
    world = _world()
    row = MATRIX[name]
    url = reverse(name, kwargs=row.kwargs(world, BAD_TOKEN))
    body, events = _fetch(client_for_persona(world, _persona(name)), url)

    problem = _check(world, name, body, events)

    assert problem is None, problem
    if _shows(body, world.patient) and name not in INTAKE_READS:
        (event,) = [e for e in events if e.action == "patient.viewed"]
        assert event.detail["page"] == name
        assert event.actor == world.users[_persona(name)]


@pytest.mark.parametrize(
    ("name", "query"),
    [("scheduling:day_sheet", "date=2027-01-05"), ("scheduling:calendar", "date=2027-01-05")],
)
def test_htmx_refreshes_audit_like_the_page(name, query):
    world = _world()
    client = client_for_persona(world, "front_desk")

    body, events = _fetch(client, f"{reverse(name)}?{query}", **{"HX-Request": "true"})

    assert _shows(body, world.patient)
    (event,) = [e for e in events if e.action == "patient.viewed"]
    assert world.patient.pk in event.detail["patient_ids"]


def test_a_rooms_week_audits_the_patients_in_it():
    world = _world()
    client = client_for_persona(world, "clinician")
    week = reverse("scheduling:calendar_week")

    body, events = _fetch(client, f"{week}?date=2027-01-05&room={world.appointment.room_id}")

    assert _shows(body, world.patient)
    (event,) = [e for e in events if e.action == "patient.viewed"]
    assert event.detail == {"page": "scheduling:calendar_week", "patient_ids": [world.patient.pk]}


def test_the_booking_page_audits_the_patients_it_found_and_the_one_chosen():
    world = _world()
    client = client_for_persona(world, "front_desk")
    new = reverse("scheduling:appointment_new")

    _body, found = _fetch(client, f"{new}?q={world.patient.last_name}")
    _body, chosen = _fetch(client, f"{new}?patient={world.patient.pk}")
    _body, nothing = _fetch(client, new)

    assert world.patient.pk in _names(next(e for e in found if e.action == "patient.viewed"))
    assert [e.patient_id for e in chosen if e.action == "patient.viewed"] == [world.patient.pk]
    assert not [e for e in nothing if e.action == "patient.viewed"]
