"""The visit screen: front desk checks the patient in, a clinician takes them through the
vital-signs gate, the infusion and discharge, or defers and rebooks; each role sees and may post
only its own steps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from scheduling.models import (
    Appointment,
    AppointmentStatus,
    GateOutcome,
    Visit,
    VitalReading,
)
from tests.clinic_time import TUESDAY, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    open_weekdays,
)
from tests.scheduling.visit_walk import CHECK_IN_FORM

pytestmark = pytest.mark.django_db

STEPS = ("check_in", "vitals", "sign_off", "start", "end", "discharge", "defer", "rebook")
CLINICAL = {"vitals", "sign_off", "start", "end", "discharge", "defer"}

CHECK_IN = CHECK_IN_FORM
NORMAL = {"systolic": 120, "diastolic": 80, "heart_rate": 72, "spo2": 98, "weight_lb": 170}


@pytest.fixture
def clock():
    yield from stopped_clock(at(TUESDAY, 9, 5))


@pytest.fixture
def infusion(clock):
    """A cleared patient with an escort on file, booked for an infusion at 9:00 today."""
    open_weekdays()
    patient = PatientFactory(escorted=True, cleared=True)
    return AppointmentFactory(
        patient=patient,
        infusion=True,
        start=at(TUESDAY, 9),
    )


def url(step: str, appointment: Appointment) -> str:
    name = "scheduling:visit" if step == "page" else f"scheduling:visit_{step}"
    return reverse(name, kwargs={"appointment_id": appointment.pk})


def status_of(appointment: Appointment) -> str:
    appointment.refresh_from_db()
    return appointment.status


def check_in(client, appointment, **changes):
    return client.post(url("check_in", appointment), {**CHECK_IN, **changes})


def vitals(client, appointment, **values):
    return client.post(url("vitals", appointment), {**NORMAL, **values})


# --- Screens per role ----------------------------------------------------------------------------


def test_front_desk_sees_the_check_in_form_prefilled_and_no_clinical_forms(
    infusion, front_desk, client_for
):
    response = client_for(front_desk).get(url("page", infusion))

    assert response.status_code == 200
    form = response.context["check_in_form"]
    assert form.initial["escort_name"] == "Sam Driver"
    assert "vitals_form" not in response.context
    html = response.content.decode()
    assert 'id="check-in-form"' in html and 'id="vitals-form"' not in html


def test_clinician_sees_no_check_in_form_and_vitals_only_after_check_in(
    infusion, front_desk, clinician_user, client_for
):
    clinician = client_for(clinician_user)
    before = clinician.get(url("page", infusion)).content.decode()
    assert 'id="check-in-form"' not in before and 'id="vitals-form"' not in before

    check_in(client_for(front_desk), infusion)

    after = clinician.get(url("page", infusion)).content.decode()
    assert 'id="vitals-form"' in after and 'id="defer-form"' in after
    assert 'id="start-button"' in after and "disabled" in after
    assert "Take the pre-infusion vital signs." in after
    assert (
        'id="vitals-form"' not in client_for(front_desk).get(url("page", infusion)).content.decode()
    )


def test_check_in_answers_are_prefilled_from_the_patients_check_in(
    infusion, front_desk, client_for
):
    from django.utils import timezone

    from scheduling.models import PreInfusionCheckIn
    from tests.factories import CheckInSubmissionFactory

    PreInfusionCheckIn.objects.create(
        appointment=infusion,
        submission=CheckInSubmissionFactory(
            patient=infusion.patient,
            complete=True,
            status="submitted",
            submitted_at=timezone.now() - dt.timedelta(hours=12),
            answers={
                "new_medicines": "yes",
                "new_medicines_detail": "started sertraline",
                "alcohol_or_drugs_recent": "no",
            },
        ),
    )

    initial = client_for(front_desk).get(url("page", infusion)).context["check_in_form"].initial

    assert initial["new_medicines"] == "yes"
    assert initial["new_medicines_detail"] == "started sertraline"
    assert initial["alcohol_or_drugs"] == "no"


# --- Check-in ------------------------------------------------------------------------------------


def test_an_infusion_needs_an_escort_and_the_input_is_kept(infusion, front_desk, client_for):
    response = check_in(client_for(front_desk), infusion, escort_name="", escort_phone="")

    assert response.status_code == 409
    assert "taking the patient home" in response.content.decode()
    assert response.context["check_in_form"].data["food_as_instructed"] == "yes"
    assert status_of(infusion) == AppointmentStatus.BOOKED


def test_identity_must_be_confirmed(infusion, front_desk, client_for):
    data = {k: v for k, v in CHECK_IN.items() if k != "identity_confirmed"}
    response = client_for(front_desk).post(url("check_in", infusion), data)

    assert response.status_code == 400
    assert response.context["check_in_form"].errors["identity_confirmed"]
    assert status_of(infusion) == AppointmentStatus.BOOKED


def test_alcohol_on_the_day_defers_the_visit_cleanly(infusion, front_desk, client_for):
    client = client_for(front_desk)

    response = check_in(client, infusion, alcohol_or_drugs="yes")

    assert response.status_code == 302
    assert status_of(infusion) == AppointmentStatus.DEFERRED
    page = client.get(url("page", infusion))
    html = page.content.decode()
    assert 'id="deferred"' in html and "A13" in html
    assert "no alcohol or recreational drugs for 24 hours" in html
    assert 'id="check-in-form"' not in html
    assert page.context["rebooking_options"]


# --- The vital-signs gate ------------------------------------------------------------------------


def test_high_blood_pressure_defers_and_offers_rebooking_48_hours_apart(
    infusion, front_desk, clinician_user, client_for, clock
):
    thursday = AppointmentFactory(
        patient=infusion.patient,
        appointment_type=infusion.appointment_type,
        room=infusion.room,
        start=at(TUESDAY + dt.timedelta(days=2), 9),
    )
    assert check_in(client_for(front_desk), infusion).status_code == 302
    clinician = client_for(clinician_user)

    first = vitals(clinician, infusion, systolic=190, diastolic=95)
    assert first.status_code == 302
    page = clinician.get(url("page", infusion))
    assert 'id="repeat-due"' in page.content.decode() and "9:10 a.m." in page.content.decode()

    too_soon = vitals(clinician, infusion, systolic=185, diastolic=96)
    assert too_soon.status_code == 409
    assert too_soon.context["vitals_form"].data["systolic"] == "185"

    clock.shift(dt.timedelta(minutes=5))
    assert vitals(clinician, infusion, systolic=185, diastolic=96).status_code == 302
    visit = Visit.objects.get(appointment=infusion)
    assert visit.gate_outcome == GateOutcome.DEFER
    page = clinician.get(url("page", infusion))
    html = page.content.decode()
    assert 'id="vitals-form"' not in html
    assert "The vital signs say defer" in html and "disabled" in html
    assert "185/96" in page.context["defer_form"].initial["reason"]

    response = clinician.post(url("defer", infusion), {"reason": "BP 185/96 on repeat"})
    assert response.status_code == 302
    assert status_of(infusion) == AppointmentStatus.DEFERRED
    page = clinician.get(url("page", infusion))
    html = page.content.decode()
    assert "primary care doctor about your blood pressure" in html
    assert "BP 185/96 on repeat" in html
    options = [choice.start for choice in page.context["rebooking_options"]]
    assert options
    assert all(abs(start - thursday.start) >= dt.timedelta(hours=48) for start in options)

    rebook = clinician.post(
        url("rebook", infusion), {"start": page.context["rebooking_options"][0].value}
    )
    assert rebook.status_code == 302
    new = Appointment.objects.exclude(pk__in=[infusion.pk, thursday.pk]).get()
    assert new.start == options[0] and new.patient_id == infusion.patient_id
    assert new.appointment_type_id == infusion.appointment_type_id


def test_symptoms_show_the_emergency_instruction(infusion, front_desk, clinician_user, client_for):
    check_in(client_for(front_desk), infusion)
    clinician = client_for(clinician_user)

    vitals(clinician, infusion, symptoms=["chest_pain"])

    html = clinician.get(url("page", infusion)).content.decode()
    assert "Call for help now: get the clinician to the patient; call 911 if severe." in html
    assert Visit.objects.get(appointment=infusion).gate_outcome == GateOutcome.EMERGENCY


def test_a_sign_off_gate_shows_the_sign_off_form_and_then_lets_the_infusion_start(
    infusion, front_desk, clinician_user, client_for, clock
):
    check_in(client_for(front_desk), infusion)
    clinician = client_for(clinician_user)
    vitals(clinician, infusion, systolic=165, diastolic=85)
    clock.shift(dt.timedelta(minutes=5))
    vitals(clinician, infusion, systolic=168, diastolic=85)

    page = clinician.get(url("page", infusion))
    assert "sign_off_form" in page.context
    assert clinician.post(url("sign_off", infusion), {"note": ""}).status_code == 400
    assert clinician.post(url("sign_off", infusion), {"note": "Usual for him"}).status_code == 302

    assert clinician.post(url("start", infusion)).status_code == 302
    assert Visit.objects.get(appointment=infusion).started_at is not None


def test_a_normal_visit_goes_from_arrival_to_discharge(
    infusion, front_desk, clinician_user, client_for, clock
):
    assert check_in(client_for(front_desk), infusion).status_code == 302
    assert status_of(infusion) == AppointmentStatus.CHECKED_IN
    clinician = client_for(clinician_user)

    assert vitals(clinician, infusion).status_code == 302
    page = clinician.get(url("page", infusion))
    assert page.context["start_reasons"] == []
    assert clinician.post(url("start", infusion)).status_code == 302

    # Staff sessions end after 15 idle minutes, so the clock moves in 10-minute steps.
    clock.shift(dt.timedelta(minutes=10))
    assert vitals(clinician, infusion, systolic=150, diastolic=92).status_code == 302
    assert VitalReading.objects.filter(visit__appointment=infusion, phase="during").count() == 1
    clock.shift(dt.timedelta(minutes=10))
    assert 'id="end-button"' in clinician.get(url("page", infusion)).content.decode()
    assert clinician.post(url("end", infusion)).status_code == 302

    incomplete = clinician.post(url("discharge", infusion), {"alert": "on"})
    assert incomplete.status_code == 400
    assert incomplete.context["discharge_form"].errors["escort_present"]
    response = clinician.post(
        url("discharge", infusion),
        {"alert": "on", "vitals_near_baseline": "on", "escort_present": "on"},
    )
    assert response.status_code == 302
    assert status_of(infusion) == AppointmentStatus.COMPLETED

    html = clinician.get(url("page", infusion)).content.decode()
    for event in (
        "Arrived and checked in",
        "Reading",
        "Infusion started",
        "Infusion ended",
        "Discharged",
    ):
        assert event in html
    assert 'id="vitals-form"' not in html and 'id="discharge-form"' not in html


def test_start_is_blocked_with_reasons_when_the_clearance_has_lapsed(
    clock, front_desk, clinician_user, client_for
):
    patient = PatientFactory(escorted=True, cleared=TUESDAY - dt.timedelta(days=1))
    appointment = AppointmentFactory(
        patient=patient,
        infusion=True,
        start=at(TUESDAY, 9),
    )
    check_in(client_for(front_desk), appointment)
    clinician = client_for(clinician_user)
    vitals(clinician, appointment)

    page = clinician.get(url("page", appointment))
    html = page.content.decode()
    assert 'id="start-reasons"' in html and "clearance expired" in html
    assert "disabled" in html

    refused = clinician.post(url("start", appointment))
    assert refused.status_code == 409
    assert "clearance" in refused.content.decode()
    assert Visit.objects.get(appointment=appointment).started_at is None


# --- Permissions ---------------------------------------------------------------------------------


def test_anonymous_visitors_go_to_the_login_page(infusion, client):
    for step in ("page", *STEPS):
        response = (
            client.post(url(step, infusion)) if step != "page" else client.get(url(step, infusion))
        )
        assert response.status_code == 302 and "login" in response["Location"], step


def test_users_without_a_role_are_refused_everything(infusion, no_role_user, client_for):
    client = client_for(no_role_user)
    assert client.get(url("page", infusion)).status_code == 403
    for step in STEPS:
        assert client.post(url(step, infusion)).status_code == 403, step


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("front_desk", {"check_in", "defer", "rebook"}),
        ("admin_user", {"check_in", "defer", "rebook"}),
        ("clinician_user", CLINICAL | {"rebook"}),
    ],
)
def test_each_role_may_post_only_its_own_steps(infusion, persona, allowed, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(url("page", infusion)).status_code == 200
    for step in STEPS:
        status = client.post(url(step, infusion)).status_code
        if step in allowed:
            assert status in (302, 400, 409), (step, status)
        else:
            assert status == 403, (step, status)


def test_front_desk_cannot_record_vitals_even_with_a_valid_reading(
    infusion, front_desk, client_for
):
    client = client_for(front_desk)
    check_in(client, infusion)

    assert vitals(client, infusion).status_code == 403
    assert not VitalReading.objects.exists()


def test_clinician_cannot_check_a_patient_in(infusion, clinician_user, client_for):
    assert check_in(client_for(clinician_user), infusion).status_code == 403
    assert status_of(infusion) == AppointmentStatus.BOOKED


def test_get_is_not_allowed_on_step_endpoints(infusion, clinician_user, client_for):
    client = client_for(clinician_user)
    for step in STEPS:
        assert client.get(url(step, infusion)).status_code == 405, step
