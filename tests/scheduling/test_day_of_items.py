"""Day-of items (scheduling.visits.items): the patient's answers win over the desk, and what a
clinician must acknowledge, with a reason, before today's infusion may start."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from intake.examples import complete_check_in_answers
from propel.models import AuditEvent
from scheduling.day_of import DESK_NEW_MEDICINES, open_day_of_items
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    PreInfusionCheckIn,
    VisitItemAcknowledgement,
)
from scheduling.visits.arrival import check_in_answers, visit_check_in
from scheduling.visits.common import visit_for
from scheduling.visits.forms import CheckInForm
from scheduling.visits.items import items_context, visit_acknowledge_item
from tests.append_only import assert_append_only
from tests.clinic_time import TUESDAY, at
from tests.factories import (
    AppointmentFactory,
    CheckInSubmissionFactory,
    ClinicianFactory,
    FlagFactory,
    clear_patient,
    open_weekdays,
)
from tests.personas import verified_client
from tests.scheduling.visit_walk import ANSWERS, ESCORT

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

START = at(TUESDAY, 10)
NOW = at(TUESDAY, 9, 50)
A13 = "flag:check_in_alcohol_or_drugs"
MAOI = "flag:med_maoi"


@pytest.fixture
def appointment(patient) -> Appointment:
    open_weekdays()
    clear_patient(patient)
    return AppointmentFactory(
        patient=patient,
        infusion=True,
        clinician=ClinicianFactory(),
        start=START,
    )


def sent_check_in(appointment, *, sent_at=NOW - dt.timedelta(hours=2), flags=(), **answers):
    submission = CheckInSubmissionFactory(
        patient=appointment.patient,
        complete=True,
        answers=complete_check_in_answers(**answers),
        status="submitted",
        submitted_at=sent_at,
    )
    PreInfusionCheckIn.objects.create(appointment=appointment, submission=submission)
    for rule_id, severity in flags:
        FlagFactory(submission=submission, rule_id=rule_id, severity=severity)
    return submission


def check_in(appointment, actor, **changes):
    kwargs = {"identity_confirmed": True, **ESCORT, **ANSWERS, **changes}
    return visit_check_in(appointment_id=appointment.pk, actor=actor, now=NOW, **kwargs)


def open_codes(appointment, now=NOW) -> list[str]:
    appointment = Appointment.objects.select_related("appointment_type").get(pk=appointment.pk)
    visit = getattr(appointment, "visit", None)
    return [item.code for item in open_day_of_items(appointment, visit, now=now)]


def acknowledge(appointment, actor, item, reason="Discussed with the patient; safe today.", **kw):
    return visit_acknowledge_item(
        appointment_id=appointment.pk,
        item=item,
        reason=reason,
        actor=actor,
        now=kw.pop("now", NOW),
        **kw,
    )


# --- The patient's yes wins over the desk ------------------------------------------------------


def test_a_desk_no_over_the_patients_a13_yes_checks_in_but_the_yes_blocks_the_start(
    appointment, front_desk, clinician_user
):
    sent_check_in(
        appointment,
        alcohol_or_drugs_recent="yes",
        flags=[("check_in_alcohol_or_drugs", "hard_stop")],
    )

    visit = check_in(appointment, front_desk, alcohol_or_drugs=False)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN  # not deferred by the patient's yes
    assert visit.alcohol_or_drugs is False  # the desk's answer, kept as the desk's
    assert open_codes(appointment) == [A13]
    differs = AuditEvent.objects.get(action="visit.desk_answer_differs")
    assert differs.detail == {"questions": ["alcohol_or_drugs"]}
    assert differs.patient_id == appointment.patient_id

    acknowledge(appointment, clinician_user, A13)

    assert open_codes(appointment) == []


def test_the_desk_cannot_leave_out_a13_when_the_patient_said_yes(appointment, front_desk):
    sent_check_in(appointment, alcohol_or_drugs_recent="yes")

    with pytest.raises(SchedulingError) as refused:
        check_in(appointment, front_desk, alcohol_or_drugs=None)

    assert refused.value.code == "visit_patient_said_yes"
    assert "ask them again" in refused.value.message
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_the_patients_a13_yes_is_an_item_even_without_a_stored_flag(appointment, front_desk):
    sent_check_in(appointment, alcohol_or_drugs_recent="yes")
    check_in(appointment, front_desk, alcohol_or_drugs=False)
    assert open_codes(appointment) == [A13]


def test_the_desks_own_a13_yes_still_defers(appointment, front_desk):
    sent_check_in(appointment)  # the patient said no
    check_in(appointment, front_desk, alcohol_or_drugs=True)
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.DEFERRED
    assert AuditEvent.objects.filter(action="visit.desk_answer_differs").exists()


def test_a_stale_a13_yes_is_asked_again_and_is_no_item(appointment, front_desk, settings):
    hours = settings.CHECK_IN_ABSTINENCE_HOURS
    sent_check_in(
        appointment,
        sent_at=START - dt.timedelta(hours=hours + 1),
        alcohol_or_drugs_recent="yes",
        flags=[("check_in_alcohol_or_drugs", "hard_stop")],
    )
    assert "alcohol_or_drugs" not in check_in_answers(appointment, NOW)
    check_in(appointment, front_desk)
    assert open_codes(appointment) == []


def test_a_desk_no_over_the_patients_new_medicines_yes_leaves_the_review_item(
    appointment, front_desk
):
    sent_check_in(
        appointment,
        new_medicines="yes",
        new_medicines_detail="started phenelzine",
        flags=[("check_in_new_medicines", "review")],
    )
    visit = check_in(appointment, front_desk, new_medicines=False)
    assert visit.new_medicines is False
    assert open_codes(appointment) == ["flag:check_in_new_medicines"]


def test_a_desk_yes_to_new_medicines_is_a_review_item(appointment, front_desk):
    check_in(appointment, front_desk, new_medicines=True, new_medicines_detail="ibuprofen")
    assert open_codes(appointment) == [DESK_NEW_MEDICINES]


def test_the_desk_repeating_the_patients_medicines_is_one_item(appointment, front_desk):
    sent_check_in(
        appointment,
        new_medicines="yes",
        new_medicines_detail="started sertraline",
        flags=[("check_in_new_medicines", "review")],
    )
    check_in(appointment, front_desk, new_medicines=None)  # taken from the check-in
    assert open_codes(appointment) == ["flag:check_in_new_medicines"]


def test_the_desk_form_says_the_patients_yes_stands_and_does_not_prefill_a13():
    form = CheckInForm(
        initial={"alcohol_or_drugs": "yes", "new_medicines": "yes"},
        patient_answers={"alcohol_or_drugs": True, "new_medicines": True},
    )
    assert "alcohol_or_drugs" not in form.initial
    assert "does not replace the patient's yes" in str(form.fields["alcohol_or_drugs"].help_text)
    assert "does not replace" in str(form.fields["new_medicines"].help_text)
    assert not CheckInForm().fields["alcohol_or_drugs"].help_text


# --- Review-level items (a newly started MAOI) ---------------------------------------------------


def test_a_review_flag_on_the_check_in_is_an_open_item_before_arrival(appointment):
    sent_check_in(appointment, flags=[("med_maoi", "review"), ("check_in_other_changes", "info")])
    appointment = Appointment.objects.select_related("appointment_type").get(pk=appointment.pk)
    items = open_day_of_items(appointment, None, now=NOW)
    assert [(i.code, i.severity) for i in items] == [(MAOI, "review")]


def test_an_unsent_check_in_raises_no_items(appointment):
    submission = CheckInSubmissionFactory(patient=appointment.patient, complete=True)
    PreInfusionCheckIn.objects.create(appointment=appointment, submission=submission)
    FlagFactory(submission=submission, rule_id="med_maoi", severity="review")
    assert open_codes(appointment) == []


def test_items_are_read_in_a_bounded_number_of_queries(
    appointment, front_desk, django_assert_max_num_queries
):
    sent_check_in(appointment, flags=[(f"rule_{n}", "review") for n in range(12)])
    check_in(appointment, front_desk, new_medicines=True, new_medicines_detail="x")
    appointment = Appointment.objects.select_related("appointment_type", "visit").get(
        pk=appointment.pk
    )
    with django_assert_max_num_queries(3):
        items = open_day_of_items(appointment, appointment.visit, now=NOW)
    assert len(items) == 13


# --- Acknowledging ----------------------------------------------------------------------------


def test_acknowledging_needs_a_clinician(appointment, front_desk, admin_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    for actor in (front_desk, admin_user):
        with pytest.raises(SchedulingError) as refused:
            acknowledge(appointment, actor, MAOI)
        assert refused.value.code == "visit_forbidden"
    assert open_codes(appointment) == [MAOI]


def test_acknowledging_needs_a_reason(appointment, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    with pytest.raises(SchedulingError) as refused:
        acknowledge(appointment, clinician_user, MAOI, reason="   ")
    assert refused.value.code == "visit_item_reason_needed"


def test_an_item_is_acknowledged_once_with_an_audit_event(appointment, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    row = acknowledge(appointment, clinician_user, MAOI, reason="BP plan agreed")
    assert (row.item, row.reason, row.by, row.at) == (MAOI, "BP plan agreed", clinician_user, NOW)
    event = AuditEvent.objects.get(action="visit.item_acknowledged")
    assert event.patient_id == appointment.patient_id
    assert event.detail == {"item": MAOI, "severity": "review"}

    with pytest.raises(SchedulingError) as refused:
        acknowledge(appointment, clinician_user, MAOI)
    assert refused.value.code == "visit_item_already_acknowledged"
    assert VisitItemAcknowledgement.objects.count() == 1


def test_only_a_current_item_can_be_acknowledged(appointment, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    with pytest.raises(SchedulingError) as refused:
        acknowledge(appointment, clinician_user, "flag:something_else")
    assert refused.value.code == "visit_item_unknown"


def test_acknowledging_only_on_the_visits_day(appointment, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    with pytest.raises(SchedulingError) as refused:
        acknowledge(appointment, clinician_user, MAOI, now=START - dt.timedelta(days=1))
    assert refused.value.code == "lifecycle_refused"
    assert "only be done on the day of the visit" in refused.value.message


def test_acknowledging_a_deferred_or_started_visit_is_refused(
    appointment, front_desk, clinician_user
):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    check_in(appointment, front_desk)
    visit = visit_for(appointment.pk)
    type(visit).objects.filter(pk=visit.pk).update(started_at=NOW, started_by=clinician_user)
    with pytest.raises(SchedulingError) as refused:
        acknowledge(appointment, clinician_user, MAOI)
    assert refused.value.code == "visit_already_started"


def test_acknowledgements_are_append_only(appointment, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    row = acknowledge(appointment, clinician_user, MAOI)
    row.reason = "changed"
    assert_append_only(row, VisitItemAcknowledgement.objects.filter(pk=row.pk), reason="changed")


# --- The visit screen's section and its POST -----------------------------------------------------


def post_acknowledge(client, appointment, item=MAOI, reason="Safe today", **headers):
    url = reverse("scheduling:visit_item_acknowledge", kwargs={"appointment_id": appointment.pk})
    return client.post(url, {"item": item, "reason": reason}, **headers)


@pytest.fixture
def on_the_day():
    import time_machine

    with time_machine.travel(NOW, tick=False):
        yield


def test_a_clinician_acknowledges_from_the_visit_screen(on_the_day, appointment, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    client = verified_client(clinician_user)

    response = post_acknowledge(client, appointment)

    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:visit", args=[appointment.pk])
    assert VisitItemAcknowledgement.objects.get().reason == "Safe today"
    again = post_acknowledge(client, appointment)
    assert again.status_code == 409
    assert "already been acknowledged" in again.text
    htmx = post_acknowledge(client, appointment, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 409
    assert 'id="day-of-items"' in htmx.text and "<html" not in htmx.text


def test_the_acknowledge_post_needs_a_reason(on_the_day, appointment, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    response = post_acknowledge(verified_client(clinician_user), appointment, reason="")
    assert response.status_code == 400
    assert not VisitItemAcknowledgement.objects.exists()


def test_other_roles_are_refused_the_acknowledge_post(
    on_the_day, appointment, front_desk, admin_user, no_role_user
):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    for user in (front_desk, admin_user, no_role_user):
        assert post_acknowledge(verified_client(user), appointment).status_code == 403
    assert not VisitItemAcknowledgement.objects.exists()


def test_front_desk_sees_only_the_neutral_sentence(appointment, front_desk, clinician_user):
    sent_check_in(appointment, flags=[("med_maoi", "review")])
    appointment = Appointment.objects.select_related("appointment_type").get(pk=appointment.pk)

    def section(user) -> str:
        context = {"appointment": appointment, **items_context(appointment, None, user, NOW)}
        return render_to_string("scheduling/day/_day_of_items.html", context)

    desk = section(front_desk)
    assert "A clinician must review the patient's answers before the infusion." in desk
    assert "Test flag" not in desk and "<form" not in desk
    clinical = section(clinician_user)
    assert "Test flag" in clinical and 'name="reason"' in clinical
