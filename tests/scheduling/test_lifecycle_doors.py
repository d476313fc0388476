"""Issue 14: no side door. Every URL of the project is classified; every one that can change an
appointment's status or record a step of its visit is walked, as every staff role, on the days
around the visit, against infusions that each miss one gate; none reaches "in progress" or
"completed". The service is walked through every (state, action, party, date) and agrees with the
pure table. A new URL fails `test_every_url_is_classified` until someone says which door it is."""

from __future__ import annotations

import ast
import datetime as dt
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from intake.models import SubmissionStatus
from intake.paperwork_models import DocumentKind
from propel.roles import Role
from scheduling.errors import SchedulingError
from scheduling.lifecycle import ACTION_FOR_STATUS, Party, refusals
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    GateOutcome,
    PreInfusionCheckIn,
    Visit,
    VisitItemAcknowledgement,
    VitalReading,
)
from scheduling.slots import clinic_tz
from scheduling.transitions import appointment_transition, load_facts, paperwork_missing
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    CheckInSubmissionFactory,
    CrisisAlertFactory,
    FlagFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    clear_patient,
    infusion_type,
    open_weekdays,
)
from tests.intake.requirement_factories import RequirementFactory
from tests.personas import verified_client
from tests.scheduling.visit_walk import CHECK_IN_FORM, NORMAL
from tests.test_permission_matrix import _all_url_names

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

S = AppointmentStatus
START = at(TUESDAY, 10)

# URLs through which an appointment's status can change, or a step of its visit be recorded.
# Each goes through scheduling.transitions (the lifecycle's one door).
STATUS_DOORS = {
    "scheduling:appointment_status",
    "scheduling:appointment_cancel",
    "scheduling:appointment_move",
    "scheduling:appointment_new",
    "scheduling:visit_check_in",
    "scheduling:visit_vitals",
    "scheduling:visit_start",
    "scheduling:visit_end",
    "scheduling:visit_discharge",
    "scheduling:visit_defer",
    "scheduling:visit_rebook",
    "scheduling:course_new",
    "scheduling:course_move",
    "scheduling:course_cancel",
    "scheduling:course_maintenance",
    # Cancels the visits on the closed days through the door (tests/scheduling/test_closures.py).
    "scheduling:closure_new",
    "scheduling:book_confirm",
    "scheduling:patient_cancel",
    "scheduling:patient_reschedule",
    "scheduling:patient_reschedule_confirm",
}
# A clinician's decisions that open a gate, each with a reason and audited: they are the designed
# way through, so the adversarial walk leaves them out (tests/scheduling/test_visits.py,
# test_day_of_items.py and tests/intake cover them).
GATE_DECISIONS = {
    "scheduling:visit_sign_off",
    "scheduling:visit_item_acknowledge",
    "intake:chart_decide",
    "intake:chart_flag_acknowledge",
    "intake:chart_alert_acknowledge",
}
# Patients' answers: they can add day-of items (never remove one) and never change a status.
PATIENT_ANSWERS = {
    "scheduling:check_in",
    "intake:check_in_start",
    "intake:check_in_section",
    "intake:check_in_review",
    "intake:start",
    "intake:section",
    "intake:review",
}
# Pages and endpoints that change no appointment and no visit.
NO_STATUS = {
    "intake:about_questions",
    "intake:set_language",
    "intake:documents",
    "intake:forms",
    "intake:requirement_waive",
    "intake:chart",
    "intake:check_in_crisis",
    "intake:check_in_submitted",
    "intake:check_in_summary",
    "intake:crisis",
    "intake:staff_document",
    "intake:staff_document_set_aside",
    "intake:staff_document_upload",
    "intake:email_opt_out",
    # Consent forms (intake.consent_pages): signatures and their PDFs, no appointment.
    "intake:form_sign",
    "intake:form_signed_pdf",
    "intake:staff_consent_paper",
    "intake:staff_signature_pdf",
    "intake:referral",
    "intake:referral_detail",
    "intake:referral_document",
    "intake:referral_queue",
    "intake:referral_sent",
    "intake:review_queue",
    "intake:staff_submission",
    "intake:staff_submissions",
    "intake:submitted",
    "intake:summary",
    "propel:audit_log",
    "propel:backup_codes",
    "propel:healthz",
    "propel:home",
    "propel:login",
    "propel:logout",
    "propel:second_factor",
    "propel:second_factor_enrol",
    "scheduling:appointment",
    "scheduling:appointment_ics",
    "scheduling:appointment_reminders",
    "scheduling:availability",
    "scheduling:book",
    "scheduling:book_check_email",
    "scheduling:book_confirm_link",
    "scheduling:book_details",
    "scheduling:book_hold",
    "scheduling:calendar",
    "scheduling:calendar_week",
    "scheduling:clinician_feed",
    "scheduling:closure",
    # Blocked time never changes a visit: the visits it hits stay booked, to move.
    "scheduling:time_off",
    "scheduling:time_off_new",
    "scheduling:time_off_delete",
    "scheduling:course_detail",
    "scheduling:day_sheet",
    "scheduling:feed_revoke",
    "scheduling:feed_settings",
    "scheduling:link_request",
    "scheduling:link_sent",
    "scheduling:patient",
    "scheduling:patient_contact",
    "scheduling:patient_waitlist",
    "scheduling:patient_home",
    "scheduling:patient_links_revoke",
    "scheduling:patient_new",
    "scheduling:patient_ics",
    "scheduling:reminder_resend",
    "scheduling:reminders",
    "scheduling:report_csv",
    "scheduling:reports",
    "scheduling:waitlist",
    "scheduling:sms_webhook",
    "scheduling:today",
    "scheduling:visit",
    # The FHIR API only reads (scheduling.fhir).
    "fhir:binary",
    "fhir:metadata",
    "fhir:smart_configuration",
    "fhir:read",
    "fhir:search",
    "fhir:token",
    "fhir:unknown",
    # The bulk export writes its own jobs and files, never an appointment (scheduling.fhir.export).
    "fhir:export",
    "fhir:export_file",
    "fhir:export_status",
    "fhir:patient_export",
}


def test_every_url_is_classified():
    found = _all_url_names()
    classified = STATUS_DOORS | GATE_DECISIONS | PATIENT_ANSWERS | NO_STATUS
    new = sorted(found - classified)
    assert not new, (
        f"URLs found: {len(found)}. Not classified (a new side door?): {new}. Add each to "
        "STATUS_DOORS (and walk it below) or to the set that says why it changes no status."
    )
    assert not classified - found, sorted(classified - found)


def test_the_admin_cannot_change_an_appointment_or_a_visit(admin_user):
    client = verified_client(admin_user)
    appointment = AppointmentFactory()
    change = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = client.post(change, {"status": S.COMPLETED})
    assert response.status_code == 403
    assert Appointment.objects.get(pk=appointment.pk).status == S.BOOKED
    for model in (
        Visit,
        VitalReading,
        AppointmentStatusChange,
        VisitItemAcknowledgement,
        PreInfusionCheckIn,
    ):
        assert model not in admin.site._registry, model
    model_admin = admin.site._registry[Appointment]
    request = SimpleNamespace(user=admin_user)
    assert not model_admin.has_change_permission(request, appointment)
    assert not model_admin.has_add_permission(request)


# --- The walk through the pages -------------------------------------------------------------------

CHECK_IN = CHECK_IN_FORM
SIGN_OFF_VITALS = {"systolic": 120, "diastolic": 80, "heart_rate": 110, "spo2": 98}


def _visit_url(name: str, appointment: Appointment) -> str:
    return reverse(name, kwargs={"appointment_id": appointment.pk})


def forward_posts(appointment: Appointment, vitals: dict) -> list[tuple[str, dict]]:
    """Everything staff could post to push an infusion forward, in the order they would."""
    posts = [
        ("scheduling:appointment_status", {"status": S.CHECKED_IN}),
        ("scheduling:appointment_status", {"status": S.IN_PROGRESS}),
        ("scheduling:appointment_status", {"status": S.COMPLETED}),
        ("scheduling:visit_check_in", CHECK_IN),
        ("scheduling:visit_vitals", vitals),
        ("scheduling:visit_start", {}),
        ("scheduling:appointment_status", {"status": S.IN_PROGRESS}),
        ("scheduling:visit_end", {}),
        (
            "scheduling:visit_discharge",
            {"alert": "on", "vitals_near_baseline": "on", "escort_present": "on"},
        ),
        ("scheduling:appointment_status", {"status": S.COMPLETED}),
    ]
    return [(_visit_url(name, appointment), data) for name, data in posts]


def closing_posts(appointment: Appointment) -> list[tuple[str, dict]]:
    posts = [
        ("scheduling:appointment_status", {"status": S.NO_SHOW}),
        ("scheduling:appointment_status", {"status": S.DEFERRED}),
        ("scheduling:visit_defer", {"reason": "Not today"}),
        ("scheduling:appointment_cancel", {"reason": "Patient unwell"}),
    ]
    return [(_visit_url(name, appointment), data) for name, data in posts]


def gate_held(appointment: Appointment, now: dt.datetime) -> list[str]:
    """What was missing when the infusion started (empty: the gate held)."""
    visit = Visit.objects.get(appointment=appointment)
    facts = load_facts(appointment, visit, now=now)
    missing = []
    if visit.started_at is None:
        missing.append("no start recorded")
    elif visit.started_at.astimezone(clinic_tz()).date() != START.date():
        missing.append("started on another day")
    for name in ("clearance", "identity", "escort", "day_of_answers"):
        if not getattr(facts, name):
            missing.append(name)
    if paperwork_missing(appointment, now=now):
        missing.append("paperwork")
    if facts.a13_yes or facts.open_items or facts.urgent_alert:
        missing.append("open item")
    if visit.gate_outcome not in (GateOutcome.PROCEED, GateOutcome.PROCEED_WITH_NOTE) and not (
        visit.gate_outcome == GateOutcome.SIGN_OFF and visit.signed_off_at
    ):
        missing.append("vitals")
    if appointment.status == S.COMPLETED and not (visit.ended_at and visit.discharged_at):
        missing.append("discharge")
    return missing


def world(variant: str) -> Appointment:
    open_weekdays()
    patient = PatientFactory(escorted=True)
    decision = None if variant == "not_cleared" else clear_patient(patient)
    start = START + dt.timedelta(days=7) if variant == "next_week" else START
    appointment = AppointmentFactory(
        patient=patient,
        infusion=True,
        start=start,
    )
    if variant in ("a13_patient_yes", "maoi_review"):
        answers = {"alcohol_or_drugs_recent": "yes" if variant == "a13_patient_yes" else "no"}
        round_ = CheckInSubmissionFactory(
            patient=patient,
            round=2,
            answers=answers,
            status=SubmissionStatus.SUBMITTED,
            submitted_at=START - dt.timedelta(hours=2),
        )
        PreInfusionCheckIn.objects.create(appointment=appointment, submission=round_)
        if variant == "maoi_review":
            FlagFactory(submission=round_, severity="review", rule_id="maoi_started")
    if variant == "no_photo_id":
        RequirementFactory(document_kind=DocumentKind.PHOTO_ID)
    if variant == "crisis":
        CrisisAlertFactory(submission=decision.submission, raised_at=START - dt.timedelta(hours=1))
    return appointment


VARIANTS = (
    "not_cleared",
    "a13_patient_yes",
    "maoi_review",
    "sign_off_vitals",
    "crisis",
    "next_week",
    "no_photo_id",
)
MOMENTS = {
    "day_before": at(TUESDAY - dt.timedelta(days=1), 9, 30),
    "visit_day": at(TUESDAY, 9, 30),
    "day_after": at(TUESDAY + dt.timedelta(days=1), 9, 30),
}


def walk(appointment: Appointment, clients: list[Client], posts, now) -> list[str]:
    """Post everything as every role; after each post, an infusion in progress or completed
    must have passed its gate. Returns the statuses seen."""
    seen = []
    for (path, data), client in itertools.product(posts, clients):
        response = client.post(path, data)
        assert response.status_code < 500, (path, data, response.status_code)
        appointment.refresh_from_db()
        seen.append(appointment.status)
        if appointment.status in (S.IN_PROGRESS, S.COMPLETED):
            assert not gate_held(appointment, now), (path, data, gate_held(appointment, now))
    return seen


@pytest.mark.parametrize("moment", list(MOMENTS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_no_door_takes_an_infusion_past_a_missing_gate(variant, moment):
    now = MOMENTS[moment]
    with time_machine.travel(now, tick=False):
        appointment = world(variant)
        clients = [
            verified_client(UserFactory(role=role))
            for role in (Role.FRONT_DESK, Role.CLINICIAN, Role.ADMIN)
        ]
        vitals = SIGN_OFF_VITALS if variant == "sign_off_vitals" else NORMAL
        seen = walk(appointment, clients, forward_posts(appointment, vitals), now)
        assert S.IN_PROGRESS not in seen and S.COMPLETED not in seen, (variant, moment, seen)
        if moment == "visit_day" and variant != "next_week":
            # The walk got as far as the gate under test: the check-in itself went through.
            assert S.CHECKED_IN in seen, (variant, seen)
        seen = walk(appointment, clients, closing_posts(appointment), now)
        assert S.IN_PROGRESS not in seen and S.COMPLETED not in seen


def test_the_same_doors_take_a_ready_infusion_all_the_way(db):
    """The control: with every gate in place, the walk completes the visit, so the refusals
    above are the gates and not broken doors."""
    now = MOMENTS["visit_day"]
    with time_machine.travel(now, tick=False):
        appointment = world("ready")
        clients = [
            verified_client(UserFactory(role=role))
            for role in (Role.FRONT_DESK, Role.CLINICIAN, Role.ADMIN)
        ]
        seen = walk(appointment, clients, forward_posts(appointment, NORMAL), now)
    assert S.IN_PROGRESS in seen and seen[-1] == S.COMPLETED
    history = list(appointment.status_changes.values_list("to_status", flat=True))
    assert history == [S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED]


def test_a_refusal_on_htmx_is_409_names_the_step_and_links_to_it(front_desk):
    with time_machine.travel(MOMENTS["visit_day"], tick=False):
        appointment = world("ready")
        client = verified_client(front_desk)
        response = client.post(
            _visit_url("scheduling:appointment_status", appointment),
            {"status": S.CHECKED_IN},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 409
    page = response.content.decode()
    visit_url = _visit_url("scheduling:visit", appointment)
    assert f'href="{visit_url}#check-in"' in page
    assert "Confirm the escort" in page and "Ask the day-of questions" in page
    assert Appointment.objects.get(pk=appointment.pk).status == S.BOOKED


def test_a_session_next_week_cannot_be_checked_in_or_completed_today(front_desk):
    with time_machine.travel(MOMENTS["visit_day"], tick=False):
        appointment = world("next_week")
        response = verified_client(front_desk).post(
            _visit_url("scheduling:visit_check_in", appointment), CHECK_IN
        )
    assert response.status_code == 409
    assert "only be done on the day of the visit (Tue, Jan 12, 2027)" in response.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).status == S.BOOKED
    assert not Visit.objects.filter(appointment=appointment, identity_confirmed_at__isnull=False)


# --- The walk through the service -------------------------------------------------------------


def _party_actor(party: Party):
    if party == Party.SYSTEM:
        return None, False
    if party == Party.PATIENT:
        return None, True
    return UserFactory(role=Role(party.value)), False


@pytest.mark.parametrize("status", list(S))
def test_the_service_agrees_with_the_table_for_every_action_party_and_date(status):
    """Every (state, status-changing action, party, date) through appointment_transition: it
    succeeds exactly when the pure table allows it, and a refusal changes nothing."""
    open_weekdays()
    patient = PatientFactory(cleared=True)
    kind = infusion_type()
    room = RoomFactory(infusion=True)
    actors = {party: _party_actor(party) for party in Party}
    for (target, action), party, (moment, now) in itertools.product(
        ACTION_FOR_STATUS.items(), Party, MOMENTS.items()
    ):
        appointment = AppointmentFactory(
            patient=patient, appointment_type=kind, room=room, start=START, status=status
        )
        facts = load_facts(appointment, None, now=now)
        expected = not refusals(action, facts, {party}, now=now, tz=clinic_tz())
        actor, as_patient = actors[party]
        try:
            appointment_transition(
                appointment_id=appointment.pk,
                to_status=target,
                actor=actor,
                as_patient=as_patient,
                now=now,
            )
            done = True
        except SchedulingError as error:
            assert error.code == "lifecycle_refused", error.code
            done = False
        appointment.refresh_from_db()
        assert done == expected, (status, action, party, moment)
        assert appointment.status == (target if done else status)
        if done:
            assert target not in (S.IN_PROGRESS, S.COMPLETED)  # never without a visit's gate
        else:
            assert not appointment.status_changes.exists()
        appointment.delete()  # the next case books the same patient at the same time


def _root_name(node: ast.AST) -> str:
    while isinstance(node, ast.Call | ast.Attribute):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def test_no_code_but_the_lifecycle_service_writes_an_appointments_status():
    """A source scan: `Appointment.objects....update(status=...)`, `.create(status=...)` or an
    assignment to `<appointment>.status` anywhere but the service is a side door. The bench's
    scale data (bulk rows of an invented clinic, never the app's path) is the one exception."""
    root = Path(__file__).resolve().parents[2]
    allowed = {root / "scheduling" / "transitions.py"}
    found = []
    for package in ("propel", "intake", "scheduling", "demo"):
        for path in (root / package).rglob("*.py"):
            if path in allowed or "scale_data" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"update", "create", "bulk_create"}
                    and _root_name(node.func) == "Appointment"
                    and any(k.arg == "status" for k in node.keywords)
                ):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and target.attr == "status"
                            and "appointment" in ast.unparse(target.value).lower()
                        ):
                            found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []
