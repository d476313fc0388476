"""The day of a visit (scheduling.visits): check-in, the vital-signs gate, sign-off, start,
discharge, deferral and rebooking, alerts, and who may do each step."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from intake.models import CrisisAlert
from propel.models import AuditEvent
from scheduling.booking import check_infusion_spacing
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    CourseStatus,
    GateOutcome,
    InfusionCourse,
    PreInfusionCheckIn,
    Visit,
)
from scheduling.visits import (
    BP_NEXT_STEP,
    rebooking_options,
    visit_can_start,
    visit_check_in,
    visit_defer,
    visit_discharge,
    visit_end_infusion,
    visit_for,
    visit_record_vitals,
    visit_sign_off,
    visit_start,
)
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    CheckInSubmissionFactory,
    ClinicianFactory,
    CrisisAlertFactory,
    FlagFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    clear_patient,
    infusion_type,
    open_weekdays,
)
from tests.scheduling.visit_walk import ANSWERS, DISCHARGE_CHECKS, ESCORT, NORMAL

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

START = at(TUESDAY, 10)
NOW = at(TUESDAY, 9, 50)


@pytest.fixture
def clinic(db, patient) -> SimpleNamespace:
    open_weekdays()
    clearance = clear_patient(patient)
    return SimpleNamespace(
        infusion=infusion_type(),
        consultation=AppointmentTypeFactory(),
        infusion_room=RoomFactory(name="Infusion 1", infusion=True),
        consult_room=RoomFactory(name="Consult A"),
        clinician=ClinicianFactory(),
        clearance=clearance,
    )


@pytest.fixture
def visit_appt(clinic, patient) -> Appointment:
    return book(clinic, patient, START)


def book(
    clinic, patient, start: dt.datetime, *, consultation: bool = False, **extra
) -> Appointment:
    return AppointmentFactory(
        patient=patient,
        appointment_type=clinic.consultation if consultation else clinic.infusion,
        room=clinic.consult_room if consultation else clinic.infusion_room,
        clinician=clinic.clinician,
        start=start,
        **extra,
    )


def check_in(appointment, actor, *, now=NOW, **changes):
    kwargs = {"identity_confirmed": True, **ESCORT, **ANSWERS, **changes}
    return visit_check_in(appointment_id=appointment.pk, actor=actor, now=now, **kwargs)


def record(appointment, actor, *, now=NOW, **changes):
    return visit_record_vitals(
        appointment_id=appointment.pk, actor=actor, now=now, **{**NORMAL, **changes}
    )


def ready_to_start(appointment, front_desk, clinician_user) -> None:
    check_in(appointment, front_desk)
    record(appointment, clinician_user)


def fresh(appointment) -> Appointment:
    appointment.refresh_from_db()
    return appointment


def actions(patient_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(patient_id=patient_id)
        .order_by("id")
        .values_list("action", flat=True)
    )


def submitted_check_in(appointment, *, sent_at: dt.datetime, **answers) -> object:
    from intake.examples import complete_check_in_answers

    submission = CheckInSubmissionFactory(
        patient=appointment.patient,
        complete=True,
        answers=complete_check_in_answers(**answers),
        status="submitted",
        submitted_at=sent_at,
    )
    PreInfusionCheckIn.objects.create(appointment=appointment, submission=submission)
    return submission


# --- Check-in -----------------------------------------------------------------------------------


def test_visit_for_creates_once(visit_appt) -> None:
    assert visit_for(visit_appt.pk) == visit_for(visit_appt.pk)
    assert Visit.objects.count() == 1


def test_check_in_moves_the_appointment_and_saves_the_escort_on_the_patient(
    visit_appt, front_desk
) -> None:
    visit = check_in(visit_appt, front_desk)
    assert fresh(visit_appt).status == AppointmentStatus.CHECKED_IN
    assert visit.identity_confirmed_by == front_desk
    assert visit.escort_confirmed_at == NOW
    patient = visit_appt.patient
    patient.refresh_from_db()
    assert (patient.escort_name, str(patient.escort_phone)) == ("Pat Driver", "+19165550123")
    assert "visit.checked_in" in actions(patient.pk)


@pytest.mark.parametrize(
    "escort", [{"escort_name": ""}, {"escort_phone": ""}, {"escort_name": "  "}]
)
def test_infusion_check_in_needs_an_escort(visit_appt, front_desk, escort) -> None:
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, front_desk, **escort)
    assert error.value.code == "visit_escort_needed"
    assert fresh(visit_appt).status == AppointmentStatus.BOOKED


def test_invalid_escort_phone_is_refused(visit_appt, front_desk) -> None:
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, front_desk, escort_phone="123")
    assert error.value.code == "visit_escort_phone"


def test_consultation_check_in_needs_no_escort_or_day_of_answers(
    clinic, patient, front_desk
) -> None:
    consult = book(clinic, patient, START, consultation=True)
    visit_check_in(
        appointment_id=consult.pk,
        actor=front_desk,
        identity_confirmed=True,
        escort_name="",
        escort_phone="",
        alcohol_or_drugs=None,
        food_as_instructed=None,
        new_medicines=None,
        now=NOW,
    )
    assert fresh(consult).status == AppointmentStatus.CHECKED_IN


def test_identity_must_be_confirmed(visit_appt, front_desk) -> None:
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, front_desk, identity_confirmed=False)
    assert error.value.code == "visit_identity"


def test_alcohol_or_drugs_defers_the_visit_instead_of_checking_in(visit_appt, front_desk) -> None:
    visit = check_in(visit_appt, front_desk, alcohol_or_drugs=True)
    assert fresh(visit_appt).status == AppointmentStatus.DEFERRED
    assert visit.appointment.status == AppointmentStatus.DEFERRED
    assert "A13" in visit.deferred_reason
    events = actions(visit_appt.patient_id)
    assert "visit.deferred" in events
    assert "visit.checked_in" not in events
    assert visit_appt.status_changes.filter(to_status=AppointmentStatus.CHECKED_IN).count() == 0


def test_day_of_answers_are_needed_without_a_check_in_round(visit_appt, front_desk) -> None:
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, front_desk, new_medicines=None)
    assert error.value.code == "visit_answer_needed"
    assert "medicine" in error.value.message


def test_answers_come_from_the_submitted_pre_infusion_check_in(visit_appt, front_desk) -> None:
    submitted_check_in(
        visit_appt,
        sent_at=NOW - dt.timedelta(hours=3),
        new_medicines="yes",
        new_medicines_detail="started sertraline 50 mg",
    )
    visit = check_in(visit_appt, front_desk, alcohol_or_drugs=None, new_medicines=None)
    assert visit.alcohol_or_drugs is False
    assert visit.new_medicines is True
    assert visit.new_medicines_detail == "started sertraline 50 mg"
    assert fresh(visit_appt).status == AppointmentStatus.CHECKED_IN


def test_alcohol_yes_in_the_check_in_is_asked_again_not_taken_for_the_desks(
    visit_appt, front_desk
) -> None:
    # The patient's yes neither defers by itself nor becomes the desk's answer: the desk asks
    # again, and the yes stays a day-of item for a clinician (tests/scheduling/test_day_of_items).
    submitted_check_in(
        visit_appt, sent_at=NOW - dt.timedelta(hours=2), alcohol_or_drugs_recent="yes"
    )
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, front_desk, alcohol_or_drugs=None)
    assert error.value.code == "visit_patient_said_yes"
    assert fresh(visit_appt).status == AppointmentStatus.BOOKED
    check_in(visit_appt, front_desk, alcohol_or_drugs=True)
    assert fresh(visit_appt).status == AppointmentStatus.DEFERRED


def test_a_stale_check_in_alcohol_answer_must_be_asked_again(visit_appt, front_desk) -> None:
    hours = settings.CHECK_IN_ABSTINENCE_HOURS
    submitted_check_in(visit_appt, sent_at=NOW - dt.timedelta(hours=hours + 1))
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, front_desk, alcohol_or_drugs=None)
    assert error.value.code == "visit_answer_needed"
    assert "alcohol" in error.value.message


def test_a_visit_checked_in_twice_is_refused(visit_appt, front_desk) -> None:
    check_in(visit_appt, front_desk)
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, front_desk)
    assert error.value.code == "visit_not_booked"


# --- Vital signs --------------------------------------------------------------------------------


def test_a_reading_below_every_flag_line_decides_at_once(
    visit_appt, front_desk, clinician_user
) -> None:
    check_in(visit_appt, front_desk)
    _reading, assessment, repeat_due = record(visit_appt, clinician_user)
    assert repeat_due is False
    assert assessment.outcome == GateOutcome.PROCEED
    assert visit_for(visit_appt.pk).gate_outcome == GateOutcome.PROCEED
    assert "visit.vitals_recorded" in actions(visit_appt.patient_id)


def test_the_repeat_rule_counts_the_lower_reading(visit_appt, front_desk, clinician_user) -> None:
    check_in(visit_appt, front_desk)
    with time_machine.travel(NOW, tick=False) as traveller:
        _first, assessment, repeat_due = visit_record_vitals(
            appointment_id=visit_appt.pk,
            actor=clinician_user,
            **{**NORMAL, "systolic": 165, "diastolic": 95},
        )
        assert repeat_due is True
        assert assessment.outcome == GateOutcome.SIGN_OFF
        assert visit_for(visit_appt.pk).gate_outcome == ""
        traveller.shift(dt.timedelta(minutes=4, seconds=59))
        with pytest.raises(SchedulingError) as error:
            visit_record_vitals(
                appointment_id=visit_appt.pk,
                actor=clinician_user,
                **{**NORMAL, "systolic": 150, "diastolic": 92},
            )
        assert error.value.code == "visit_repeat_too_soon"
        traveller.shift(dt.timedelta(seconds=1))
        _second, assessment, repeat_due = visit_record_vitals(
            appointment_id=visit_appt.pk,
            actor=clinician_user,
            **{**NORMAL, "systolic": 150, "diastolic": 92},
        )
    assert repeat_due is False
    assert assessment.outcome == GateOutcome.PROCEED_WITH_NOTE
    assert visit_for(visit_appt.pk).gate_outcome == GateOutcome.PROCEED_WITH_NOTE


def test_no_more_readings_once_the_gate_is_decided(visit_appt, front_desk, clinician_user) -> None:
    check_in(visit_appt, front_desk)
    record(visit_appt, clinician_user, systolic=170)
    record(visit_appt, clinician_user, now=NOW + dt.timedelta(minutes=5), systolic=168)
    with pytest.raises(SchedulingError) as error:
        record(visit_appt, clinician_user, now=NOW + dt.timedelta(minutes=10))
    assert error.value.code == "visit_gate_decided"
    assert visit_for(visit_appt.pk).gate_outcome == GateOutcome.SIGN_OFF


@pytest.mark.parametrize(
    "values",
    [{"systolic": 400}, {"diastolic": 130, "systolic": 120}, {"spo2": 101}, {"heart_rate": 5}],
)
def test_implausible_values_are_refused_with_a_message(
    visit_appt, front_desk, clinician_user, values
) -> None:
    check_in(visit_appt, front_desk)
    with pytest.raises(SchedulingError) as error:
        record(visit_appt, clinician_user, **values)
    assert error.value.code == "visit_implausible"
    assert visit_for(visit_appt.pk).readings.count() == 0


def test_unknown_symptom_is_refused(visit_appt, front_desk, clinician_user) -> None:
    check_in(visit_appt, front_desk)
    with pytest.raises(SchedulingError) as error:
        record(visit_appt, clinician_user, symptoms=["itchy_nose"])
    assert error.value.code == "visit_unknown_symptom"


def test_vitals_before_check_in_are_refused(visit_appt, clinician_user) -> None:
    with pytest.raises(SchedulingError) as error:
        record(visit_appt, clinician_user)
    assert error.value.code == "visit_not_checked_in"


# --- Alerts -------------------------------------------------------------------------------------


def test_symptoms_email_the_alert_list_without_health_details(
    visit_appt, front_desk, clinician_user, django_capture_on_commit_callbacks
) -> None:
    check_in(visit_appt, front_desk)
    with django_capture_on_commit_callbacks(execute=True):
        _reading, assessment, repeat_due = record(
            visit_appt, clinician_user, systolic=150, symptoms=["chest_pain"]
        )
    assert assessment.outcome == GateOutcome.EMERGENCY
    assert repeat_due is False
    assert visit_for(visit_appt.pk).gate_outcome == GateOutcome.EMERGENCY
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == list(settings.CLINICIAN_ALERT_EMAILS)
    everything = " ".join(
        [message.subject, message.body, *(body for body, _type in message.alternatives)]
    ).lower()
    assert "a patient in the clinic needs a clinician now" in everything
    link = reverse("scheduling:visit", args=[visit_appt.pk])
    assert link in everything
    # The link's id may contain "150" (ids grow over a run); the reading must appear nowhere else.
    without_link = everything.replace(link, "")
    for secret in ("150", "chest", "ketamine", visit_appt.patient.first_name.lower(), "blood"):
        assert secret not in without_link
    assert "visit.alert_sent" in actions(visit_appt.patient_id)


def test_a_normal_reading_sends_no_alert(
    visit_appt, front_desk, clinician_user, django_capture_on_commit_callbacks
) -> None:
    check_in(visit_appt, front_desk)
    with django_capture_on_commit_callbacks(execute=True):
        record(visit_appt, clinician_user)
    assert mail.outbox == []


def test_a_reading_past_the_hard_stop_during_the_infusion_alerts(
    visit_appt, front_desk, clinician_user, django_capture_on_commit_callbacks
) -> None:
    ready_to_start(visit_appt, front_desk, clinician_user)
    visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        record(visit_appt, clinician_user, phase="during", systolic=170, diastolic=105)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        record(visit_appt, clinician_user, phase="during", systolic=185)
    assert len(mail.outbox) == 1
    # The reading itself stays on the visit page (the link's ids may hold the digits).
    assert re.search(r"(?<![/\d])185(?!\d)", mail.outbox[0].body) is None


# --- Sign-off and start -------------------------------------------------------------------------


def test_sign_off_needs_a_clinician_note_and_unblocks_the_start(
    visit_appt, front_desk, clinician_user
) -> None:
    check_in(visit_appt, front_desk)
    record(visit_appt, clinician_user, heart_rate=110)
    record(visit_appt, clinician_user, now=NOW + dt.timedelta(minutes=6), heart_rate=108)
    visit = visit_for(visit_appt.pk)
    assert visit.gate_outcome == GateOutcome.SIGN_OFF
    assert any("sign-off" in reason for reason in visit_can_start(visit, now=NOW))
    with pytest.raises(SchedulingError) as error:
        visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)
    assert error.value.code == "lifecycle_refused"
    assert "sign-off" in error.value.message
    with pytest.raises(SchedulingError) as error:
        visit_sign_off(appointment_id=visit_appt.pk, actor=clinician_user, note="  ")
    assert error.value.code == "visit_note_needed"
    visit = visit_sign_off(
        appointment_id=visit_appt.pk, actor=clinician_user, note="Anxious; rate settling.", now=NOW
    )
    assert visit.signed_off_by == clinician_user
    assert visit.gate_note == "Anxious; rate settling."
    assert visit_can_start(visit, now=NOW) == []
    visit = visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)
    assert visit.started_by == clinician_user


def test_sign_off_is_refused_when_the_gate_does_not_ask_for_it(
    visit_appt, front_desk, clinician_user
) -> None:
    ready_to_start(visit_appt, front_desk, clinician_user)
    with pytest.raises(SchedulingError) as error:
        visit_sign_off(appointment_id=visit_appt.pk, actor=clinician_user, note="fine")
    assert error.value.code == "visit_no_sign_off"


@pytest.mark.parametrize(
    ("values", "text"),
    [({"systolic": 190}, "defer"), ({"symptoms": ["confusion"]}, "emergency")],
)
def test_defer_and_emergency_gates_block_the_start(
    visit_appt, front_desk, clinician_user, values, text
) -> None:
    check_in(visit_appt, front_desk)
    record(visit_appt, clinician_user, **values)
    if "systolic" in values:
        record(visit_appt, clinician_user, now=NOW + dt.timedelta(minutes=5), **values)
    reasons = visit_can_start(visit_for(visit_appt.pk), now=NOW)
    assert any(text in reason for reason in reasons)


def test_the_start_waits_for_check_in_and_vitals(visit_appt, front_desk) -> None:
    reasons = visit_can_start(visit_for(visit_appt.pk), now=NOW)
    assert reasons == ["This appointment is booked: “Start the infusion” is not possible now."]
    check_in(visit_appt, front_desk)
    assert visit_can_start(visit_for(visit_appt.pk), now=NOW) == [
        "Take the pre-infusion vital signs."
    ]


def test_a_lapsed_clearance_blocks_the_start(clinic, front_desk, clinician_user) -> None:
    lapsed = PatientFactory(cleared=TUESDAY - dt.timedelta(days=1))
    appointment = book(clinic, lapsed, START)
    ready_to_start(appointment, front_desk, clinician_user)
    reasons = visit_can_start(visit_for(appointment.pk), now=NOW)
    assert any("clearance" in reason for reason in reasons)
    with pytest.raises(SchedulingError):
        visit_start(appointment_id=appointment.pk, actor=clinician_user, now=NOW)


def test_an_urgent_check_in_item_blocks_the_start_until_its_alert_is_acknowledged(
    visit_appt, front_desk, clinician_user
) -> None:
    submission = submitted_check_in(visit_appt, sent_at=NOW - dt.timedelta(hours=2))
    FlagFactory(submission=submission, severity="urgent", rule_id="phq9_item9")
    alert = CrisisAlertFactory(submission=submission, patient=visit_appt.patient)
    ready_to_start(visit_appt, front_desk, clinician_user)
    reasons = visit_can_start(visit_for(visit_appt.pk), now=NOW)
    assert any("a clinician must resolve it first" in reason for reason in reasons)
    with pytest.raises(SchedulingError):
        visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)
    CrisisAlert.objects.filter(pk=alert.pk).update(
        acknowledged_at=NOW, acknowledged_by=clinician_user
    )
    assert visit_can_start(visit_for(visit_appt.pk), now=NOW) == []
    visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)


def test_any_unacknowledged_crisis_alert_of_the_patient_blocks_the_start(
    visit_appt, front_desk, clinician_user
) -> None:
    CrisisAlertFactory(
        submission__patient=visit_appt.patient, submission__round=2, patient=visit_appt.patient
    )
    ready_to_start(visit_appt, front_desk, clinician_user)
    assert visit_can_start(visit_for(visit_appt.pk), now=NOW)


def test_the_infusion_starts_once(visit_appt, front_desk, clinician_user) -> None:
    ready_to_start(visit_appt, front_desk, clinician_user)
    visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)
    with pytest.raises(SchedulingError) as error:
        visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)
    assert error.value.code == "visit_already_started"


# --- Discharge ----------------------------------------------------------------------------------


def _through_infusion(appointment, front_desk, clinician_user) -> None:
    ready_to_start(appointment, front_desk, clinician_user)
    visit_start(appointment_id=appointment.pk, actor=clinician_user, now=NOW)
    visit_end_infusion(
        appointment_id=appointment.pk, actor=clinician_user, now=NOW + dt.timedelta(minutes=45)
    )


@pytest.mark.parametrize(
    "checks",
    [
        {"alert": False, "vitals_near_baseline": True, "escort_present": True},
        {"alert": True, "vitals_near_baseline": False, "escort_present": True},
        {"alert": True, "vitals_near_baseline": True, "escort_present": False},
    ],
)
def test_discharge_needs_all_three_checks(visit_appt, front_desk, clinician_user, checks) -> None:
    _through_infusion(visit_appt, front_desk, clinician_user)
    with pytest.raises(SchedulingError) as error:
        visit_discharge(appointment_id=visit_appt.pk, actor=clinician_user, **checks)
    assert error.value.code == "visit_discharge_checks"
    assert fresh(visit_appt).status == AppointmentStatus.IN_PROGRESS


def test_discharge_before_the_infusion_ends_is_refused(
    visit_appt, front_desk, clinician_user
) -> None:
    ready_to_start(visit_appt, front_desk, clinician_user)
    visit_start(appointment_id=visit_appt.pk, actor=clinician_user, now=NOW)
    with pytest.raises(SchedulingError) as error:
        visit_discharge(
            appointment_id=visit_appt.pk,
            actor=clinician_user,
            **DISCHARGE_CHECKS,
        )
    assert error.value.code == "visit_not_ended"


def test_discharge_completes_the_appointment_and_the_course(
    clinic, patient, front_desk, clinician_user
) -> None:
    course = InfusionCourse.objects.create(patient=patient, planned_sessions=1, span_weeks=1)
    appointment = book(clinic, patient, START, course=course)
    _through_infusion(appointment, front_desk, clinician_user)
    record(appointment, clinician_user, phase="discharge", now=NOW + dt.timedelta(minutes=90))
    visit = visit_discharge(
        appointment_id=appointment.pk,
        actor=clinician_user,
        **DISCHARGE_CHECKS,
        now=NOW + dt.timedelta(minutes=95),
    )
    assert visit.discharged_by == clinician_user
    assert visit.discharge_escort_present is True
    assert fresh(appointment).status == AppointmentStatus.COMPLETED
    course.refresh_from_db()
    assert course.status == CourseStatus.COMPLETED
    events = actions(patient.pk)
    for action in (
        "visit.checked_in",
        "visit.vitals_recorded",
        "visit.started",
        "visit.infusion_ended",
        "visit.discharged",
        "course.completed",
    ):
        assert action in events


# --- Deferral and rebooking ---------------------------------------------------------------------


def test_deferral_for_blood_pressure_offers_rule_keeping_free_times(
    clinic, front_desk, clinician_user
) -> None:
    patient = PatientFactory(cleared=dt.date(2027, 1, 15))
    thursday = book(clinic, patient, at(dt.date(2027, 1, 7), 10))
    # Another patient takes the only infusion room all Friday morning.
    book(clinic, PatientFactory(), at(dt.date(2027, 1, 8), 9))
    appointment = book(clinic, patient, START)
    check_in(appointment, front_desk)
    record(appointment, clinician_user, systolic=195, diastolic=100)
    record(appointment, clinician_user, systolic=188, now=NOW + dt.timedelta(minutes=5))
    deferral = visit_defer(
        appointment_id=appointment.pk,
        actor=clinician_user,
        reason="BP 188 on repeat",
        now=NOW + dt.timedelta(minutes=6),
    )
    assert fresh(appointment).status == AppointmentStatus.DEFERRED
    assert deferral.visit.deferred_reason == "BP 188 on repeat"
    assert deferral.next_step == str(BP_NEXT_STEP)
    assert "visit.deferred" in actions(patient.pk)
    options = deferral.options
    assert 0 < len(options) <= 5
    assert len({o.astimezone(at(TUESDAY, 0).tzinfo).date() for o in options}) == len(options)
    for option in options:
        assert option > NOW
        assert abs(option - thursday.start) >= dt.timedelta(hours=48)
        assert option.astimezone(at(TUESDAY, 0).tzinfo).date() <= dt.date(2027, 1, 15)
        assert (
            not Appointment.objects.active()
            .overlapping(option, option + clinic.infusion.duration)
            .filter(room=clinic.infusion_room)
            .exists()
        )
        # The booking rule itself agrees (spacing and the weekly cap).
        check_infusion_spacing(clinic.infusion, patient_id=patient.pk, start=option)
    # Nothing this week (Thursday 7 is within 48 h of Tue-Sat; Jan 9-10 is a weekend).
    assert min(options).astimezone(at(TUESDAY, 0).tzinfo).date() >= dt.date(2027, 1, 11)


def test_weekly_cap_is_kept_in_rebooking(clinic, patient, front_desk, clinician_user) -> None:
    # Two treatment visits already in the week of 11 January: nothing more that week.
    book(clinic, patient, at(dt.date(2027, 1, 11), 10))
    book(clinic, patient, at(dt.date(2027, 1, 13), 10))
    appointment = book(clinic, patient, START)
    options = rebooking_options(appointment.pk, now=NOW)
    weeks = {o.astimezone(at(TUESDAY, 0).tzinfo).isocalendar().week for o in options}
    assert options
    assert dt.date(2027, 1, 11).isocalendar().week not in weeks


def test_no_rebooking_options_without_a_clearance(clinic, front_desk) -> None:
    uncleared = PatientFactory()
    appointment = book(clinic, uncleared, START)
    assert rebooking_options(appointment.pk, now=NOW) == []


def test_deferral_needs_a_reason(visit_appt, clinician_user) -> None:
    with pytest.raises(SchedulingError) as error:
        visit_defer(appointment_id=visit_appt.pk, actor=clinician_user, reason=" ")
    assert error.value.code == "visit_reason_needed"


# --- Who may do what ----------------------------------------------------------------------------


def test_front_desk_cannot_do_clinical_steps(visit_appt, front_desk) -> None:
    check_in(visit_appt, front_desk)
    steps = [
        lambda: record(visit_appt, front_desk),
        lambda: visit_sign_off(appointment_id=visit_appt.pk, actor=front_desk, note="x"),
        lambda: visit_start(appointment_id=visit_appt.pk, actor=front_desk),
        lambda: visit_end_infusion(appointment_id=visit_appt.pk, actor=front_desk),
        lambda: visit_discharge(
            appointment_id=visit_appt.pk,
            actor=front_desk,
            **DISCHARGE_CHECKS,
        ),
    ]
    for step in steps:
        with pytest.raises(SchedulingError) as error:
            step()
        assert error.value.code == "visit_forbidden"


def test_admin_may_check_in(visit_appt, admin_user) -> None:
    check_in(visit_appt, admin_user)
    assert fresh(visit_appt).status == AppointmentStatus.CHECKED_IN


def test_clinician_does_the_clinical_steps_but_not_the_desk(visit_appt, clinician_user) -> None:
    with pytest.raises(SchedulingError) as error:
        check_in(visit_appt, clinician_user)
    assert error.value.code == "visit_forbidden"


def test_no_role_is_refused_everywhere(visit_appt, front_desk, no_role_user) -> None:
    with pytest.raises(SchedulingError):
        check_in(visit_appt, no_role_user)
    check_in(visit_appt, front_desk)
    with pytest.raises(SchedulingError):
        record(visit_appt, no_role_user)
    with pytest.raises(SchedulingError):
        visit_start(appointment_id=visit_appt.pk, actor=no_role_user)
    inactive = UserFactory(username="gone", clinician=True, is_active=False)
    with pytest.raises(SchedulingError):
        record(visit_appt, inactive)


def test_front_desk_may_turn_a_patient_away_today_with_a_reason(visit_appt, front_desk) -> None:
    """Deferring is the conservative step (no infusion today): the lifecycle lets any staff role
    take it, with a reason, on the visit's day only."""
    with pytest.raises(SchedulingError) as error:
        visit_defer(
            appointment_id=visit_appt.pk,
            actor=front_desk,
            reason="No escort",
            now=NOW - dt.timedelta(days=1),
        )
    assert error.value.code == "lifecycle_refused"
    assert fresh(visit_appt).status == AppointmentStatus.BOOKED
    visit_defer(appointment_id=visit_appt.pk, actor=front_desk, reason="No escort", now=NOW)
    assert fresh(visit_appt).status == AppointmentStatus.DEFERRED
    change = visit_appt.status_changes.get()
    assert change.by == front_desk and change.reason == "No escort"
    assert AuditEvent.objects.filter(action="visit.deferred", actor=front_desk).exists()
