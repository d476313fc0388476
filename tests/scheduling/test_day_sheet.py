"""The day sheet: today's appointments in time order with status, room, clinician, clearance,
pre-infusion check-in, escort and gate badges; an htmx partial that refreshes itself; a print
stylesheet; and a fixed number of queries however full the day is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from scheduling.models import AppointmentStatus, GateOutcome, PreInfusionCheckIn, Visit
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    CheckInSubmissionFactory,
    PatientFactory,
    RoomFactory,
    clear_patient,
    infusion_type,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]

DAY = reverse("scheduling:day_sheet")


def infusion_at(hour: int, minute: int = 0, **kwargs):
    return AppointmentFactory(
        appointment_type=infusion_type(),
        room=kwargs.pop("room", None) or RoomFactory(infusion=True),
        start=at(TUESDAY, hour, minute),
        **kwargs,
    )


def row_for(response, appointment):
    (row,) = [r for r in response.context["rows"] if r.appointment.pk == appointment.pk]
    return row


def test_rows_come_in_time_order_with_room_clinician_and_status(front_desk, client_for):
    late = infusion_at(13)
    early = AppointmentFactory(start=at(TUESDAY, 9))
    middle = infusion_at(11, status=AppointmentStatus.DEFERRED)
    AppointmentFactory(start=at(TUESDAY + dt.timedelta(days=1), 9))  # tomorrow: not shown

    response = client_for(front_desk).get(DAY)

    assert response.status_code == 200
    assert [r.appointment.pk for r in response.context["rows"]] == [early.pk, middle.pk, late.pk]
    html = response.content.decode()
    assert str(late.room) in html and str(late.clinician) in html
    assert "Deferred" in html
    assert reverse("scheduling:visit", kwargs={"appointment_id": middle.pk}) in html


def test_another_date_can_be_asked_for(front_desk, client_for):
    tomorrow = AppointmentFactory(start=at(TUESDAY + dt.timedelta(days=1), 10))

    response = client_for(front_desk).get(DAY, {"date": "2027-01-06"})

    assert [r.appointment.pk for r in response.context["rows"]] == [tomorrow.pk]


def test_badges_show_clearance_check_in_escort_and_gate(clinician_user, client_for):
    cleared = PatientFactory(escorted=True, cleared=True)
    no_escort = PatientFactory()
    sent_visit = infusion_at(9, patient=cleared)
    PreInfusionCheckIn.objects.create(
        appointment=sent_visit,
        submission=CheckInSubmissionFactory(
            patient=cleared, complete=True, status="submitted", submitted_at=timezone.now()
        ),
    )
    draft_visit = infusion_at(11, patient=no_escort)
    PreInfusionCheckIn.objects.create(
        appointment=draft_visit, submission=CheckInSubmissionFactory(patient=no_escort)
    )
    confirmed = infusion_at(13)
    Visit.objects.create(
        appointment=confirmed,
        escort_name="Pat Escort",
        escort_confirmed_at=timezone.now(),
        identity_confirmed_at=timezone.now(),
        gate_outcome=GateOutcome.SIGN_OFF,
    )
    consult = AppointmentFactory(start=at(TUESDAY, 15))

    response = client_for(clinician_user).get(DAY)

    assert row_for(response, sent_visit).clearance.is_cleared
    assert row_for(response, sent_visit).check_in == "sent"
    assert row_for(response, sent_visit).escort == "on_file"
    assert row_for(response, draft_visit).check_in == "started"
    assert row_for(response, draft_visit).escort == "missing"
    assert row_for(response, draft_visit).clearance.kind == "pending"
    assert row_for(response, confirmed).check_in == "not_started"
    assert row_for(response, confirmed).escort == "confirmed"
    assert row_for(response, consult).check_in == "not_needed"
    assert row_for(response, consult).escort == "not_needed"
    html = response.content.decode()
    assert "Sam Driver" in html and "Pat Escort" in html
    assert "None on file" in html and "Started, not sent" in html
    assert "Needs clinician sign-off before starting" in html
    assert "Cleared until" in html


def test_the_table_refreshes_itself_every_30_seconds_as_a_partial(front_desk, client_for):
    appointment = infusion_at(9)
    client = client_for(front_desk)

    page = client.get(DAY).content.decode()
    assert 'data-hx-trigger="every 30s"' in page
    assert 'data-hx-get="/staff/day/?date=2027-01-05"' in page
    assert 'id="day-sheet"' in page

    partial = client.get(DAY, {"date": "2027-01-05"}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in body and "<nav" not in body
    assert str(appointment.patient) in body
    assert "HX-Request" in partial["Vary"]


def test_the_page_links_a_print_stylesheet(front_desk, client_for):
    html = client_for(front_desk).get(DAY).content.decode()
    assert 'href="/static/css/print.css" media="print"' in html


def test_the_navbar_offers_the_day_sheet_to_calendar_roles(front_desk, client_for):
    assert (
        f'href="{DAY}"' in client_for(front_desk).get(reverse("scheduling:today")).content.decode()
    )


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user", "admin_user"])
def test_calendar_roles_see_the_day_sheet(persona, request, client_for):
    assert client_for(request.getfixturevalue(persona)).get(DAY).status_code == 200


def test_anonymous_goes_to_login_and_no_role_is_refused(no_role_user, client, client_for):
    response = client.get(DAY)
    assert response.status_code == 302 and "login" in response["Location"]
    assert client_for(no_role_user).get(DAY).status_code == 403


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DAY)
    assert response.status_code == 200
    return len(queries)


def _fill_day(count: int) -> None:
    kind = infusion_type()
    for n in range(count):
        patient = PatientFactory(escort_name="Escort" if n % 2 else "")
        if n % 3 == 0:
            clear_patient(patient)
        appointment = AppointmentFactory(
            appointment_type=kind,
            patient=patient,
            room=RoomFactory(infusion=True),
            start=at(TUESDAY, 9) + dt.timedelta(minutes=5 * n),
        )
        if n % 2 == 0:
            Visit.objects.create(appointment=appointment, gate_outcome=GateOutcome.PROCEED)
        if n % 4 == 0:
            PreInfusionCheckIn.objects.create(
                appointment=appointment, submission=CheckInSubmissionFactory(patient=patient)
            )


def test_the_query_count_does_not_grow_with_the_day(front_desk, client_for):
    client = client_for(front_desk)
    client.get(DAY)  # warm the session and role caches the same way for both counts
    _fill_day(3)
    few = _queries(client)
    _fill_day(57)
    many = _queries(client)
    assert len(client.get(DAY).context["rows"]) == 60
    assert few == many
