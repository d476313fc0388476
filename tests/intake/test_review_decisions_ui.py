"""Acknowledging and deciding from the chart: the few clicks from queue to clearance, what is
recorded and audited, and what hostile or mistaken input gets (a form error, never a 500 or a
stray row)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from intake.clearance import has_valid_clearance
from intake.models import (
    ClearanceDecision,
    CrisisAlert,
    DecisionKind,
    Flag,
    FlagAcknowledgement,
    IntakeSubmission,
    SubmissionStatus,
)
from propel.formatting import local_date
from propel.models import AuditEvent
from tests.factories import AppointmentFactory, ClearanceDecisionFactory
from tests.intake.review_data import (
    HARD_STOP,
    QUEUE,
    URGENT,
    alert_url,
    chart_url,
    decide,
    decide_url,
    flag_url,
    hidden_inputs,
    sent,
    today_at,
)

pytestmark = pytest.mark.django_db

FIVE_MEGABYTES = "x" * (5 * 1024 * 1024)


def acknowledge_everything(client, patient) -> None:
    for flag in Flag.objects.filter(submission__patient=patient):
        response = client.post(flag_url(patient, flag), {f"flag-{flag.pk}-note": "Seen."})
        assert response.status_code == 302
    for alert in CrisisAlert.objects.filter(patient=patient):
        response = client.post(
            alert_url(patient, alert), {f"alert-{alert.pk}-outcome": "Phoned; safe."}
        )
        assert response.status_code == 302


def errors_of(response, field: str | None = None) -> str:
    """The decision form's errors on `field` (or the whole form), as one plain string."""
    form = response.context["decision_form"]
    errors = form.non_field_errors() if field is None else form.errors.get(field, [])
    return " ".join(errors)


# --- The few clicks -------------------------------------------------------------------------------


def test_from_the_queue_to_a_clearance_the_front_desk_can_see(
    patient, clinician_user, front_desk, client_for
):
    submission = sent(patient, **URGENT, **HARD_STOP)
    AppointmentFactory(patient=patient, start=today_at(12))
    clinician = client_for(clinician_user)

    # The queue links to the chart.
    queue = clinician.get(QUEUE).content.decode()
    (link,) = set(re.findall(r'href="(/staff/patients/\d+/chart/)"', queue))
    chart = clinician.get(link).content.decode()

    # Each acknowledgement form on the chart, as drawn.
    for action, name in re.findall(
        r'action="(/staff/patients/\d+/chart/(?:flags|alerts)/\d+/acknowledge/)".*?'
        r'name="((?:flag|alert)-\d+-(?:note|outcome))"',
        chart,
        flags=re.S,
    ):
        response = clinician.post(action, {name: "Phoned the patient; all explained."}, follow=True)
        assert response.status_code == 200
        assert "acknowledged" in response.content.decode()
    assert not Flag.objects.filter(submission=submission, acknowledgements__isnull=True).exists()
    assert not CrisisAlert.objects.filter(patient=patient, acknowledged_at__isnull=True).exists()

    # Clear with the proposed end date.
    chart = clinician.get(link).content.decode()
    valid_until = re.search(r'name="valid_until" value="([\d-]+)"', chart)[1]
    response = clinician.post(
        decide_url(patient),
        hidden_inputs(chart)
        | {
            "kind": DecisionKind.CLEARED,
            "valid_until": valid_until,
            "override_reason": "Repeat reading in clinic 128/82; GP confirms control.",
        },
        follow=True,
    )

    assert response.status_code == 200
    expected = dt.date.fromisoformat(valid_until)
    assert expected == timezone.localdate() + dt.timedelta(days=settings.CLEARANCE_VALID_DAYS)
    assert "Decision recorded: cleared until" in response.content.decode()
    assert has_valid_clearance(patient.pk, timezone.now())
    label = f"Cleared until {local_date(expected)}"
    assert label in client_for(front_desk).get(reverse("scheduling:today")).content.decode()
    assert patient.pk not in [
        row.patient.pk for row in clinician.get(QUEUE).context["page"].object_list
    ]


def test_acknowledging_a_flag_stores_the_note_audits_it_and_redirects(
    patient, clinician_user, client_for
):
    flag = Flag.objects.get(submission=sent(patient, **HARD_STOP), severity="hard_stop")

    response = client_for(clinician_user).post(
        flag_url(patient, flag), {f"flag-{flag.pk}-note": "Controlled since May."}
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"{chart_url(patient)}#flag-{flag.pk}")
    (acknowledgement,) = FlagAcknowledgement.objects.filter(flag=flag)
    assert (acknowledgement.by, acknowledgement.note) == (clinician_user, "Controlled since May.")
    event = AuditEvent.objects.get(action="flag.acknowledged")
    assert (event.actor, event.patient_id) == (clinician_user, patient.pk)


def test_each_decision_is_recorded_and_audited(clinician_user, client_for):
    client = client_for(clinician_user)
    declined = sent().patient
    asked = sent().patient

    response = decide(client, declined, kind=DecisionKind.DECLINED, reason="Unsafe right now.")
    assert response.status_code == 302
    response = decide(
        client,
        asked,
        kind=DecisionKind.NEEDS_INFORMATION,
        reason="Please tell us which blood pressure medicine you take.",
        sections=["heart"],
    )
    assert response.status_code == 302

    assert ClearanceDecision.objects.get(patient=declined).reason == "Unsafe right now."
    decision = ClearanceDecision.objects.get(patient=asked)
    assert decision.kind == DecisionKind.NEEDS_INFORMATION
    assert IntakeSubmission.objects.filter(patient=asked, status=SubmissionStatus.DRAFT).exists()
    actions = set(AuditEvent.objects.filter(actor=clinician_user).values_list("action", flat=True))
    assert {"clearance.declined", "clearance.needs_information", "chart.viewed"} <= actions


# --- Mistakes and refusals come back as form errors, with what was typed -------------------------


def test_clearing_before_every_flag_is_acknowledged_is_a_form_error_and_keeps_the_input(
    patient, clinician_user, client_for
):
    sent(patient, **HARD_STOP)

    response = decide(
        client_for(clinician_user),
        patient,
        kind=DecisionKind.CLEARED,
        valid_until=(timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        override_reason="My careful override reason.",
    )

    assert response.status_code == 400
    assert "Every flag needs an acknowledgement note before clearing" in errors_of(response)
    assert "My careful override reason." in response.content.decode()
    assert not ClearanceDecision.objects.exists()


def test_a_hard_stop_needs_an_override_reason_and_only_then_is_the_field_shown(
    clinician_user, client_for
):
    client = client_for(clinician_user)
    plain = sent().patient
    assert 'name="override_reason"' not in client.get(chart_url(plain)).content.decode()
    stopped = sent(**HARD_STOP).patient
    acknowledge_everything(client, stopped)
    assert 'name="override_reason"' in client.get(chart_url(stopped)).content.decode()

    response = decide(client, stopped, kind=DecisionKind.CLEARED, valid_until="")

    assert response.status_code == 400
    assert errors_of(response, "override_reason")
    assert errors_of(response, "valid_until")
    assert not ClearanceDecision.objects.exists()


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "after today"), (0, "after today"), (settings.CLEARANCE_MAX_DAYS + 1, "at most")],
)
def test_an_end_date_in_the_past_or_beyond_the_maximum_is_a_field_error(
    days, message, patient, clinician_user, client_for
):
    sent(patient)
    client = client_for(clinician_user)
    acknowledge_everything(client, patient)

    response = decide(
        client,
        patient,
        kind=DecisionKind.CLEARED,
        valid_until=(timezone.localdate() + dt.timedelta(days=days)).isoformat(),
    )

    assert response.status_code == 400
    assert message in errors_of(response, "valid_until")
    assert not ClearanceDecision.objects.exists()


def test_declining_needs_a_reason_and_asking_needs_a_message_and_steps(
    patient, clinician_user, client_for
):
    sent(patient)
    client = client_for(clinician_user)

    declined = decide(client, patient, kind=DecisionKind.DECLINED, reason="  ")
    asked = decide(client, patient, kind=DecisionKind.NEEDS_INFORMATION, reason="")

    assert declined.status_code == asked.status_code == 400
    assert errors_of(declined, "reason")
    assert errors_of(asked, "reason")
    assert errors_of(asked, "sections")
    assert not ClearanceDecision.objects.exists()


def test_a_message_repeating_a_flags_wording_is_refused_on_the_field(
    patient, clinician_user, client_for
):
    submission = sent(patient, **HARD_STOP)
    title = Flag.objects.filter(submission=submission).first().title

    response = decide(
        client_for(clinician_user),
        patient,
        kind=DecisionKind.NEEDS_INFORMATION,
        reason=f"About this: {title}",
        sections=["heart"],
    )

    assert response.status_code == 400
    assert "must not repeat a flag's wording" in errors_of(response, "reason")


# --- Hostile input --------------------------------------------------------------------------------


def test_another_patients_flag_or_alert_on_this_chart_is_404_and_nothing_is_stored(
    patient, other_patient, clinician_user, client_for
):
    sent(patient)
    theirs = sent(other_patient, **URGENT, **HARD_STOP)
    flag = Flag.objects.filter(submission=theirs).first()
    alert = CrisisAlert.objects.get(submission=theirs)
    client = client_for(clinician_user)

    assert client.post(flag_url(patient, flag), {f"flag-{flag.pk}-note": "x"}).status_code == 404
    response = client.post(alert_url(patient, alert), {f"alert-{alert.pk}-outcome": "x"})
    assert response.status_code == 404

    assert not FlagAcknowledgement.objects.exists()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_five_megabytes_of_note_is_a_field_error_not_a_500(patient, clinician_user, client_for):
    flag = Flag.objects.get(submission=sent(patient, **HARD_STOP), severity="hard_stop")
    client = client_for(clinician_user)

    response = client.post(flag_url(patient, flag), {f"flag-{flag.pk}-note": FIVE_MEGABYTES})

    assert response.status_code == 400
    form = dict(response.context["flag_rows"])[flag]
    assert "far too much text" in str(form.errors["note"])
    assert not FlagAcknowledgement.objects.exists()


def test_a_note_over_the_limit_is_a_field_error(patient, clinician_user, client_for):
    flag = Flag.objects.get(submission=sent(patient, **HARD_STOP), severity="hard_stop")

    response = client_for(clinician_user).post(
        flag_url(patient, flag), {f"flag-{flag.pk}-note": "y" * 2001}
    )

    assert response.status_code == 400
    form = dict(response.context["flag_rows"])[flag]
    assert "at most 2000 characters" in str(form.errors["note"])
    assert not FlagAcknowledgement.objects.exists()


def test_five_megabytes_in_a_decision_or_alert_outcome_is_a_400_form_error(
    patient, clinician_user, client_for
):
    submission = sent(patient, **URGENT)
    alert = CrisisAlert.objects.get(submission=submission)
    client = client_for(clinician_user)

    decided = decide(client, patient, kind=DecisionKind.DECLINED, reason=FIVE_MEGABYTES)
    outcome = client.post(alert_url(patient, alert), {f"alert-{alert.pk}-outcome": FIVE_MEGABYTES})

    assert decided.status_code == outcome.status_code == 400
    assert "far too much text" in errors_of(decided)
    assert "far too much text" in outcome.content.decode()
    assert not ClearanceDecision.objects.exists()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_same_decision_posted_twice_is_recorded_once(patient, clinician_user, client_for):
    sent(patient)
    client = client_for(clinician_user)
    page = client.get(chart_url(patient)).content.decode()
    data = hidden_inputs(page) | {"kind": DecisionKind.DECLINED, "reason": "Not suitable."}

    first = client.post(decide_url(patient), data)
    second = client.post(decide_url(patient), data)

    assert first.status_code == 302
    assert second.status_code == 409
    assert "was recorded by Test Staffer" in errors_of(second)
    assert ClearanceDecision.objects.filter(patient=patient).count() == 1


def test_a_round_that_arrived_while_the_page_was_open_is_not_decided_blind(
    patient, clinician_user, client_for
):
    first = sent(patient)
    ClearanceDecisionFactory(
        submission=first,
        needs_information=True,
        reason="More please.",
        decided_by=clinician_user,
        decided_at=timezone.now(),
    )
    client = client_for(clinician_user)
    page = client.get(chart_url(patient)).content.decode()
    sent(patient)  # round 2 arrives

    response = client.post(
        decide_url(patient),
        hidden_inputs(page) | {"kind": DecisionKind.DECLINED, "reason": "Not suitable."},
    )

    assert response.status_code == 409
    assert "A newer screening round arrived" in errors_of(response)
    assert ClearanceDecision.objects.count() == 1
    # The form now carries round 2, so sending it again is a decision on what is shown.
    assert hidden_inputs(response.content.decode())["submission_id"] == str(
        IntakeSubmission.objects.get(patient=patient, round=2).pk
    )


def test_acknowledging_an_alert_twice_names_who_did_it_first(patient, clinician_user, client_for):
    alert = CrisisAlert.objects.get(submission=sent(patient, **URGENT))
    client = client_for(clinician_user)
    data = {f"alert-{alert.pk}-outcome": "Phoned; safe."}

    assert client.post(alert_url(patient, alert), data).status_code == 302
    # The form is no longer drawn, but a stale tab may still send it.
    second = client.post(alert_url(patient, alert), data, follow=True)

    assert second.redirect_chain[0][1] == 302
    assert "already acknowledged this alert" in second.content.decode()
    assert AuditEvent.objects.filter(action="crisis_alert.acknowledged").count() == 1


def test_a_flag_of_an_earlier_round_is_not_acknowledged_from_the_latest_chart(
    patient, clinician_user, client_for
):
    old_flag = Flag.objects.filter(submission=sent(patient, **HARD_STOP)).first()
    sent(patient)

    response = client_for(clinician_user).post(
        flag_url(patient, old_flag), {f"flag-{old_flag.pk}-note": "Seen."}, follow=True
    )

    assert response.redirect_chain[0][1] == 302
    assert "belongs to an earlier round" in response.content.decode()
    assert not FlagAcknowledgement.objects.exists()
