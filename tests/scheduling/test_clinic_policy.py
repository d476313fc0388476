"""Clinic policy (scheduling.policy): whether a type needs clearance and the vital-signs gate lines
change only by an admin, with a reason, each change audited with before and after and shown on
the clinicians' pages; the visit gate uses the lines in force."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from propel.models import AuditEvent
from propel.policy_log import POLICY_CHANGED, recent_policy_changes
from scheduling import policy
from scheduling.models import (
    AppointmentType,
    GateOutcome,
    ReadingPhase,
    RoomKind,
    Visit,
    VitalReading,
    VitalsPolicy,
)
from scheduling.policy import PolicyError
from scheduling.visits import gate_assessment, visit_record_vitals
from scheduling.vitals import Reading, VitalThresholds, assess
from tests.clinic_time import at
from tests.factories import AppointmentFactory, infusion_type

pytestmark = pytest.mark.django_db

QUEUE = reverse("intake:review_queue")
TODAY = reverse("scheduling:today")
REASON = "Medical director's memo 2027-01: clearance checked at the consultation instead."
# A reading between the default defer line (SBP > 180) and a raised one (> 190).
HIGH_BP = Reading(systolic=185, diastolic=95, heart_rate=80, spo2=98)


def type_form(kind: AppointmentType, **changes: object) -> dict[str, object]:
    """The admin change form for `kind` as a browser posts it (unticked boxes are left out)."""
    values = {
        "code": kind.code,
        "name": kind.name,
        "duration_minutes": kind.duration_minutes,
        "room_kind": kind.room_kind,
        "needs_clinician": kind.needs_clinician,
        "self_bookable": kind.self_bookable,
        "needs_clearance": kind.needs_clearance,
        "active": kind.active,
        "policy_reason": "",
        **changes,
    }
    return {
        key: ("on" if value is True else value)
        for key, value in values.items()
        if value is not False
    }


def vitals_form(**changes: object) -> dict[str, object]:
    row = policy.vitals_policy()
    values: dict[str, object] = {name: getattr(row, name) for name in policy.VITALS_FIELDS}
    return {**values, "policy_reason": "", **changes}


def type_change_url(kind: AppointmentType) -> str:
    return reverse("admin:scheduling_appointmenttype_change", args=[kind.pk])


def vitals_change_url() -> str:
    return reverse("admin:scheduling_vitalspolicy_change", args=[policy.vitals_policy().pk])


def policy_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=POLICY_CHANGED).order_by("id"))


@pytest.fixture
def infusion(db) -> AppointmentType:
    return infusion_type()


# --- needs_clearance through the real admin --------------------------------------------------


def test_unticking_needs_clearance_without_a_reason_is_refused_and_changes_nothing(
    client_for, admin_user, infusion
):
    response = client_for(admin_user).post(
        type_change_url(infusion), type_form(infusion, needs_clearance=False)
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "policy_reason" in form.errors
    infusion.refresh_from_db()
    assert infusion.needs_clearance is True
    assert policy_events() == []


def test_unticking_needs_clearance_with_a_reason_is_recorded_with_before_and_after(
    client_for, admin_user, infusion
):
    response = client_for(admin_user).post(
        type_change_url(infusion), type_form(infusion, needs_clearance=False, policy_reason=REASON)
    )

    assert response.status_code == 302
    infusion.refresh_from_db()
    assert infusion.needs_clearance is False
    [event] = policy_events()
    assert event.actor == admin_user
    assert event.patient_id is None
    assert event.object_type == "scheduling.appointmenttype"
    assert event.object_id == str(infusion.pk)
    assert event.detail["before"] == {"needs_clearance": True}
    assert event.detail["after"] == {"needs_clearance": False}
    assert event.detail["reason"] == REASON
    assert "Infusion visit" in event.detail["what"]


def test_the_clearance_change_shows_on_the_clinicians_review_queue_and_day_page(
    client_for, admin_user, clinician_user, infusion
):
    client_for(admin_user).post(
        type_change_url(infusion), type_form(infusion, needs_clearance=False, policy_reason=REASON)
    )
    clinician = client_for(clinician_user)

    for page in (QUEUE, TODAY):
        response = clinician.get(page)
        assert response.status_code == 200
        [change] = response.context["policy_changes"]
        assert change.who == (admin_user.get_full_name() or admin_user.get_username())
        assert change.changes == (("needs a clinician's clearance", "yes", "no"),)
        assert change.reason == REASON
        content = response.content.decode()
        assert "Clinic policy changes" in content
        assert "needs a clinician&#x27;s clearance: yes → no" in content


def test_front_desk_does_not_get_the_policy_panel_on_the_day_page(client_for, front_desk):
    response = client_for(front_desk).get(TODAY)
    assert response.status_code == 200
    assert response.context["policy_changes"] is None
    assert "Clinic policy changes" not in response.content.decode()


def test_renaming_a_type_needs_no_reason_and_leaves_its_clearance_alone(
    client_for, admin_user, infusion
):
    response = client_for(admin_user).post(
        type_change_url(infusion), type_form(infusion, name="Infusion (120 min)")
    )

    assert response.status_code == 302
    infusion.refresh_from_db()
    assert infusion.name == "Infusion (120 min)"
    assert infusion.needs_clearance is True
    assert policy_events() == []
    [event] = AuditEvent.objects.filter(action="appointment_type.changed")
    assert event.detail == {
        "before": {"name": "Infusion visit"},
        "after": {"name": "Infusion (120 min)"},
    }


def test_renaming_and_unticking_together_saves_both_and_audits_the_policy_once(
    client_for, admin_user, infusion
):
    client_for(admin_user).post(
        type_change_url(infusion),
        type_form(infusion, name="Infusion B", needs_clearance=False, policy_reason=REASON),
    )

    infusion.refresh_from_db()
    assert (infusion.name, infusion.needs_clearance) == ("Infusion B", False)
    assert len(policy_events()) == 1


def test_a_new_type_records_its_clearance_policy_and_needs_a_reason(client_for, admin_user):
    client = client_for(admin_user)
    values = {
        "code": "infusion-lite",
        "name": "Short infusion",
        "duration_minutes": 60,
        "room_kind": RoomKind.INFUSION,
        "needs_clinician": "on",
        "active": "on",
    }

    refused = client.post(reverse("admin:scheduling_appointmenttype_add"), values)
    assert refused.status_code == 200
    assert "policy_reason" in refused.context["adminform"].form.errors
    assert not AppointmentType.objects.filter(code="infusion-lite").exists()

    added = client.post(
        reverse("admin:scheduling_appointmenttype_add"), {**values, "policy_reason": REASON}
    )
    assert added.status_code == 302
    kind = AppointmentType.objects.get(code="infusion-lite")
    [event] = policy_events()
    assert event.object_id == str(kind.pk)
    assert (event.detail["before"], event.detail["after"]) == (
        {"needs_clearance": None},
        {"needs_clearance": False},
    )


# --- vital-signs lines through the real admin ------------------------------------------------


def test_changing_a_vitals_line_without_a_reason_is_refused(client_for, admin_user):
    response = client_for(admin_user).post(
        vitals_change_url(), vitals_form(defer_above_systolic=190)
    )

    assert response.status_code == 200
    assert "policy_reason" in response.context["adminform"].form.errors
    assert policy.vitals_thresholds().defer_above_systolic == 180
    assert policy_events() == []


def test_inconsistent_vitals_lines_are_refused_beside_the_field(client_for, admin_user):
    # The sign-off line above the defer line would leave no sign-off band.
    response = client_for(admin_user).post(
        vitals_change_url(), vitals_form(sign_off_systolic=185, policy_reason=REASON)
    )

    assert response.status_code == 200
    assert "defer_above_systolic" in response.context["adminform"].form.errors
    assert policy.vitals_thresholds().sign_off_systolic == 160
    assert policy_events() == []


def test_changing_a_vitals_line_with_a_reason_is_recorded_and_shown_to_clinicians(
    client_for, admin_user, clinician_user
):
    response = client_for(admin_user).post(
        vitals_change_url(), vitals_form(defer_above_systolic=190, policy_reason=REASON)
    )

    assert response.status_code == 302
    assert policy.vitals_thresholds().defer_above_systolic == 190
    row = VitalsPolicy.objects.get()
    assert row.updated_by == admin_user
    [event] = policy_events()
    assert event.detail["before"] == {"defer_above_systolic": 180}
    assert event.detail["after"] == {"defer_above_systolic": 190}
    assert event.detail["reason"] == REASON
    [change] = client_for(clinician_user).get(QUEUE).context["policy_changes"]
    assert change.changes == (("defer above systolic", "180", "190"),)


def test_the_vitals_row_cannot_be_added_or_deleted_and_its_list_opens_the_row(
    client_for, admin_user
):
    client = client_for(admin_user)
    row = policy.vitals_policy()

    assert client.get(reverse("admin:scheduling_vitalspolicy_add")).status_code == 403
    delete = reverse("admin:scheduling_vitalspolicy_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    listing = client.get(reverse("admin:scheduling_vitalspolicy_changelist"))
    assert listing.status_code == 302
    assert listing["Location"] == vitals_change_url()
    assert VitalsPolicy.objects.count() == 1


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user"])
def test_other_roles_cannot_reach_the_policy_admin_pages(client_for, persona, request, infusion):
    user = request.getfixturevalue(persona)
    client = client_for(user)

    for url in (type_change_url(infusion), vitals_change_url()):
        assert client.get(url).status_code in (302, 403)
    posted = client.post(
        type_change_url(infusion), type_form(infusion, needs_clearance=False, policy_reason="x")
    )
    assert posted.status_code in (302, 403)
    client.post(vitals_change_url(), vitals_form(defer_above_systolic=200, policy_reason="x"))

    infusion.refresh_from_db()
    assert infusion.needs_clearance is True
    assert policy.vitals_thresholds().defer_above_systolic == 180
    assert policy_events() == []


# --- the services ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["front_desk", "clinician_user"])
def test_only_an_admin_may_call_the_policy_services(persona, request, infusion):
    user = request.getfixturevalue(persona)

    with pytest.raises(PolicyError) as refused:
        policy.appointment_type_policy_change(
            actor=user, type_id=infusion.pk, needs_clearance=False, reason=REASON
        )
    assert refused.value.code == "policy_forbidden"
    with pytest.raises(PolicyError):
        policy.policy_change_vitals(actor=user, changes={"hr_defer_above": 130}, reason=REASON)
    assert policy_events() == []


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_reason_is_refused(admin_user, infusion, reason):
    with pytest.raises(PolicyError) as refused:
        policy.appointment_type_policy_change(
            actor=admin_user, type_id=infusion.pk, needs_clearance=False, reason=reason
        )
    assert refused.value.code == "policy_reason_needed"
    infusion.refresh_from_db()
    assert infusion.needs_clearance is True


def test_setting_the_same_values_again_records_nothing(admin_user, infusion):
    policy.appointment_type_policy_change(
        actor=admin_user, type_id=infusion.pk, needs_clearance=True, reason=REASON
    )
    policy.policy_change_vitals(actor=admin_user, changes={"hr_defer_above": 120}, reason=REASON)
    assert policy_events() == []


def test_vitals_changes_are_checked_against_the_locked_row_as_a_whole(admin_user):
    policy.policy_change_vitals(actor=admin_user, changes={"note_systolic": 150}, reason=REASON)

    # 145 would be fine against the settings' note line (140), not against the changed one.
    with pytest.raises(PolicyError) as refused:
        policy.policy_change_vitals(
            actor=admin_user, changes={"sign_off_systolic": 145}, reason=REASON
        )
    assert refused.value.code == "policy_invalid"
    assert set(refused.value.problems) == {"sign_off_systolic"}
    assert policy.vitals_thresholds().sign_off_systolic == 160


def test_unknown_vitals_fields_are_refused(admin_user):
    with pytest.raises(PolicyError) as refused:
        policy.policy_change_vitals(actor=admin_user, changes={"temperature": 38}, reason=REASON)
    assert refused.value.code == "policy_unknown_field"


DEFAULTS = {name: getattr(VitalThresholds(), name) for name in policy.VITALS_FIELDS}


@pytest.mark.parametrize(
    ("changes", "bad"),
    [
        ({}, set()),
        ({"note_systolic": 160}, {"sign_off_systolic"}),  # note must be below sign-off
        ({"sign_off_systolic": 180}, set()),  # sign-off may equal the defer line
        ({"sign_off_systolic": 181}, {"defer_above_systolic"}),
        ({"note_diastolic": 100}, {"sign_off_diastolic"}),
        ({"sign_off_diastolic": 111}, {"defer_above_diastolic"}),
        ({"hr_defer_below": 100}, {"hr_sign_off_from"}),
        ({"hr_sign_off_from": 121}, {"hr_defer_above"}),
        ({"spo2_defer_below": 95}, {"spo2_sign_off_below"}),
        ({"defer_above_systolic": 251}, {"defer_above_systolic"}),
        ({"spo2_sign_off_below": 101}, {"spo2_sign_off_below"}),
        ({"hr_defer_below": 19}, {"hr_defer_below"}),
        ({"note_systolic": True}, {"note_systolic"}),
        ({"note_systolic": "140"}, {"note_systolic"}),
    ],
)
def test_vitals_problems(changes, bad):
    assert set(policy.vitals_problems({**DEFAULTS, **changes})) == bad


def test_the_plausible_ranges_are_the_settings_bounds():
    """policy.VITALS_RANGES repeats the minimum and maximum that propel/settings.py gives each
    VITALS_* reader (settings cannot import scheduling): this keeps the two from drifting."""
    source = Path(__file__).resolve().parents[2] / "propel" / "settings.py"
    bounds = {}
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "env_int":
            name = node.args[0].value
            keywords = {k.arg: k.value.value for k in node.keywords}
            if name.startswith("VITALS_") and name != "VITALS_REPEAT_MINUTES":
                bounds[name.removeprefix("VITALS_").lower()] = (
                    keywords["minimum"],
                    keywords["maximum"],
                )
    assert bounds == policy.VITALS_RANGES


# --- reading the lines -----------------------------------------------------------------------


def test_the_first_read_copies_the_settings_and_later_reads_cost_one_query(
    settings, django_assert_num_queries
):
    settings.VITALS_DEFER_ABOVE_SYSTOLIC = 175
    assert not VitalsPolicy.objects.exists()

    assert policy.vitals_thresholds().defer_above_systolic == 175
    settings.VITALS_DEFER_ABOVE_SYSTOLIC = 200  # the row, not the setting, is the policy now
    with django_assert_num_queries(1):
        assert policy.vitals_thresholds().defer_above_systolic == 175


def test_raising_the_defer_line_means_a_reading_that_deferred_no_longer_does(admin_user):
    assert assess(HIGH_BP, policy.vitals_thresholds()).outcome == GateOutcome.DEFER

    policy.policy_change_vitals(
        actor=admin_user, changes={"defer_above_systolic": 190}, reason=REASON
    )

    assert assess(HIGH_BP, policy.vitals_thresholds()).outcome == GateOutcome.SIGN_OFF


@pytest.mark.postgres
def test_the_visit_gate_uses_the_lines_in_force(admin_user, clinician_user, patient):
    when = at(dt.date(2027, 1, 5), 10)
    appointment = AppointmentFactory(patient=patient, infusion=True, checked_in=True, start=when)
    visit = Visit.objects.create(appointment=appointment)
    VitalReading.objects.create(
        visit=visit,
        phase=ReadingPhase.BEFORE,
        systolic=185,
        diastolic=95,
        heart_rate=80,
        spo2=98,
        taken_at=when,
        taken_by=clinician_user,
    )
    assert gate_assessment(visit).outcome == GateOutcome.DEFER

    policy.policy_change_vitals(
        actor=admin_user, changes={"defer_above_systolic": 190}, reason=REASON
    )

    assert gate_assessment(visit).outcome == GateOutcome.SIGN_OFF


@pytest.mark.postgres
def test_recording_vitals_assesses_with_the_changed_line(admin_user, clinician_user, patient):
    when = at(dt.date(2027, 1, 5), 10)
    appointment = AppointmentFactory(patient=patient, infusion=True, checked_in=True, start=when)
    policy.policy_change_vitals(
        actor=admin_user, changes={"defer_above_systolic": 190}, reason=REASON
    )

    # 185 is past the first-reading flag line, so a repeat is due; the first reading alone is
    # assessed with the lines in force: sign-off, not defer.
    _reading, assessment, _repeat = visit_record_vitals(
        appointment_id=appointment.pk,
        actor=clinician_user,
        systolic=185,
        diastolic=95,
        heart_rate=80,
        spo2=98,
        now=when - dt.timedelta(minutes=5),
    )
    assert assessment.outcome == GateOutcome.SIGN_OFF


# --- the panel -------------------------------------------------------------------------------


def test_the_panel_shows_the_latest_ten_newest_first_in_one_query(admin_user):
    for value in range(121, 136):
        policy.policy_change_vitals(
            actor=admin_user, changes={"hr_defer_above": value}, reason=f"step {value}"
        )

    with CaptureQueriesContext(connection) as queries:
        changes = recent_policy_changes()

    assert len(queries) == 1
    assert len(changes) == 10
    assert [c.reason for c in changes] == [f"step {v}" for v in range(135, 125, -1)]


def test_the_review_queue_costs_the_same_with_1_or_15_policy_changes(
    client_for, admin_user, clinician_user
):
    client = client_for(clinician_user)
    counts = []
    for steps in (1, 14):
        for _ in range(steps):
            current = policy.vitals_thresholds().hr_defer_above
            policy.policy_change_vitals(
                actor=admin_user, changes={"hr_defer_above": current + 1}, reason=REASON
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(QUEUE).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
