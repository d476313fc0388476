"""The clinician's review services (intake.decisions): acknowledging flags and crisis alerts,
and clearing, declining or asking for more information, with who may do it and what is kept."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from celery import Task
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from intake import decisions as decisions_module
from intake import tasks
from intake.decisions import (
    DecisionError,
    clearance_decide,
    crisis_alert_acknowledge,
    flag_acknowledge,
)
from intake.examples import complete_answers
from intake.links import patient_link_token
from intake.models import (
    ClearanceDecision,
    CrisisAlert,
    DecisionKind,
    FlagAcknowledgement,
    IntakeSubmission,
    SubmissionKind,
    SubmissionStatus,
)
from intake.questions import SECTION_KEYS
from intake.screening import intake_submit
from propel.append_only import AppendOnlyError
from propel.models import AuditEvent
from scheduling.models import Reminder, ReminderKind
from scheduling.reminders.dispatch import dispatch_due, recover_stuck, reminder_send
from tests.append_only import assert_append_only
from tests.clinic_time import LA, stopped_clock
from tests.factories import (
    ClearanceDecisionFactory,
    CrisisAlertFactory,
    FlagFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    SubmittedScreeningFactory,
    UserFactory,
    section_post_data,
)
from tests.patient_links import open_link
from tests.threads import all_at_once, start_and_join

NOW = dt.datetime(2027, 1, 4, 10, 0, tzinfo=LA)  # Monday morning in Sacramento
TODAY = dt.date(2027, 1, 4)
MESSAGE = "Please tell us your two most recent blood pressure readings and the dates."
HEALTH_WORDS = re.compile(
    r"ketamine|blood|pressure|flag|hypertension|score|diagnos|medic|readings", re.IGNORECASE
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    yield from stopped_clock(NOW)


@pytest.fixture
def screening(patient):
    return SubmittedScreeningFactory(patient=patient)


def acknowledge_all(submission, actor):
    for flag in submission.flags.all():
        flag_acknowledge(flag_id=flag.pk, actor=actor, note="Seen; discussed with the patient.")


def clear(submission, actor, **kwargs):
    return clearance_decide(
        submission_id=submission.pk, actor=actor, kind=DecisionKind.CLEARED, **kwargs
    )


# --- Acknowledging flags ---------------------------------------------------------------------


def test_clearing_is_refused_while_a_flag_is_unacknowledged_and_allowed_after_all_are(
    screening, clinician_user
):
    first, second = FlagFactory(submission=screening), FlagFactory(submission=screening)
    flag_acknowledge(flag_id=first.pk, actor=clinician_user, note="Reviewed the evidence.")

    with pytest.raises(DecisionError) as refused:
        clear(screening, clinician_user)
    assert refused.value.code == "unacknowledged"
    assert "1 still to do" in refused.value.message
    assert not ClearanceDecision.objects.exists()

    flag_acknowledge(flag_id=second.pk, actor=clinician_user, note="Fine for infusion.")
    decision = clear(screening, clinician_user)

    assert decision.kind == DecisionKind.CLEARED
    assert decision.valid_until == TODAY + dt.timedelta(days=182)
    assert decision.decided_by == clinician_user
    assert decision.decided_at == NOW
    assert decision.patient_id == screening.patient_id
    event = AuditEvent.objects.get(action="clearance.cleared")
    assert (event.actor, event.patient_id) == (clinician_user, screening.patient_id)
    assert event.detail == {
        "round": 1,
        "submission_id": screening.pk,
        "valid_until": "2027-07-05",
        "override": False,
    }


def test_a_flag_acknowledgement_keeps_who_when_and_the_note_and_is_audited_without_it(
    screening, clinician_user
):
    flag = FlagFactory(submission=screening)

    ack = flag_acknowledge(
        flag_id=flag.pk, actor=clinician_user, note="  BP 128/82 today; controlled.  "
    )

    assert (ack.flag, ack.by, ack.at, ack.note) == (
        flag,
        clinician_user,
        NOW,
        "BP 128/82 today; controlled.",
    )
    event = AuditEvent.objects.get(action="flag.acknowledged")
    assert (event.actor, event.patient_id) == (clinician_user, screening.patient_id)
    assert event.detail == {"flag_id": flag.pk, "submission_id": screening.pk}
    assert "controlled" not in str(event.detail)  # the note itself never reaches the audit log


def test_acknowledging_a_flag_again_adds_to_its_history(screening, clinician_user):
    flag = FlagFactory(submission=screening)
    other = UserFactory(clinician=True)
    flag_acknowledge(flag_id=flag.pk, actor=clinician_user, note="First look.")
    flag_acknowledge(flag_id=flag.pk, actor=other, note="Second opinion: agree.", now=NOW)

    notes = list(flag.acknowledgements.values_list("by", "note"))
    assert notes == [(clinician_user.pk, "First look."), (other.pk, "Second opinion: agree.")]
    assert AuditEvent.objects.filter(action="flag.acknowledged").count() == 2


@pytest.mark.parametrize(("note", "code"), [("", "note_required"), ("   \n ", "note_required")])
def test_a_flag_acknowledgement_needs_a_note(screening, clinician_user, note, code):
    flag = FlagFactory(submission=screening)
    with pytest.raises(DecisionError) as refused:
        flag_acknowledge(flag_id=flag.pk, actor=clinician_user, note=note)
    assert refused.value.code == code
    assert not FlagAcknowledgement.objects.exists()


def test_a_note_longer_than_2000_characters_is_refused(screening, clinician_user):
    flag = FlagFactory(submission=screening)
    with pytest.raises(DecisionError) as refused:
        flag_acknowledge(flag_id=flag.pk, actor=clinician_user, note="x" * 2001)
    assert refused.value.code == "too_long"
    flag_acknowledge(flag_id=flag.pk, actor=clinician_user, note="x" * 2000)


def test_an_unknown_flag_is_not_found(clinician_user):
    with pytest.raises(DecisionError) as refused:
        flag_acknowledge(flag_id=999999, actor=clinician_user, note="Seen.")
    assert refused.value.code == "not_found"


# --- Hard stops ------------------------------------------------------------------------------


def test_a_hard_stop_needs_an_explicit_override_reason_which_is_stored(patient, clinician_user):
    # A real round through the real rules: uncontrolled hypertension is a hard stop.
    draft = IntakeSubmissionFactory(
        patient=patient,
        complete=True,
        answers=complete_answers(bp_diagnosed="yes", bp_treated="yes", bp_controlled="no"),
    )
    screening = intake_submit(submission_id=draft.pk)
    assert screening.flags.filter(severity="hard_stop").exists()
    acknowledge_all(screening, clinician_user)

    for override in ("", "   "):
        with pytest.raises(DecisionError) as refused:
            clear(screening, clinician_user, override_reason=override)
        assert refused.value.code == "override_needed"
    assert not ClearanceDecision.objects.exists()

    reason = "BP re-measured in clinic 124/80 on two visits; cardiology letter on file."
    decision = clear(screening, clinician_user, override_reason=f" {reason} ")

    assert decision.override_reason == reason
    event = AuditEvent.objects.get(action="clearance.cleared")
    assert event.detail["override"] is True
    assert reason not in str(event.detail)


def test_without_a_hard_stop_no_override_reason_is_needed(screening, clinician_user):
    FlagFactory(submission=screening, severity="review")
    FlagFactory(submission=screening, severity="info")
    acknowledge_all(screening, clinician_user)
    assert clear(screening, clinician_user).override_reason == ""


# --- Crisis alerts ---------------------------------------------------------------------------


def test_an_unacknowledged_crisis_alert_blocks_clearing_until_acknowledged(
    screening, clinician_user
):
    flag = FlagFactory(submission=screening, severity="urgent")
    alert = CrisisAlertFactory(submission=screening)
    flag_acknowledge(flag_id=flag.pk, actor=clinician_user, note="Called the patient.")

    with pytest.raises(DecisionError) as refused:
        clear(screening, clinician_user)
    assert refused.value.code == "crisis_open"

    crisis_alert_acknowledge(
        alert_id=alert.pk, actor=clinician_user, outcome="Phoned patient, safe, plan documented."
    )
    assert clear(screening, clinician_user).kind == DecisionKind.CLEARED


def test_an_alert_from_an_earlier_round_still_blocks_clearing(patient, clinician_user):
    earlier = SubmittedScreeningFactory(patient=patient, round=1)
    CrisisAlertFactory(submission=earlier)
    latest = SubmittedScreeningFactory(patient=patient, round=2)
    with pytest.raises(DecisionError) as refused:
        clear(latest, clinician_user)
    assert refused.value.code == "crisis_open"


def test_acknowledging_a_crisis_alert_records_who_when_and_the_outcome(screening, clinician_user):
    alert = CrisisAlertFactory(submission=screening, priority="immediate")
    outcome = "Phoned patient within the hour, safe, safety plan documented."

    result = crisis_alert_acknowledge(alert_id=alert.pk, actor=clinician_user, outcome=outcome)

    alert.refresh_from_db()
    assert result.pk == alert.pk
    assert (alert.acknowledged_by, alert.acknowledged_at, alert.outcome) == (
        clinician_user,
        NOW,
        outcome,
    )
    event = AuditEvent.objects.get(action="crisis_alert.acknowledged")
    assert (event.actor, event.patient_id) == (clinician_user, screening.patient_id)
    assert event.detail == {"priority": "immediate", "submission_id": screening.pk}


def test_a_second_acknowledgement_is_refused_naming_who_and_when(screening, clinician_user):
    clinician_user.first_name, clinician_user.last_name = "Dana", "Reyes"
    clinician_user.save()
    alert = CrisisAlertFactory(submission=screening)
    crisis_alert_acknowledge(alert_id=alert.pk, actor=clinician_user, outcome="Phoned, safe.")
    other = UserFactory(clinician=True)

    with pytest.raises(DecisionError) as refused:
        crisis_alert_acknowledge(alert_id=alert.pk, actor=other, outcome="Also phoned.")

    assert refused.value.code == "already_acknowledged"
    assert (
        refused.value.message
        == "Dana Reyes already acknowledged this alert at Mon, Jan 4, 2027, 10:00 a.m."
    )
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.outcome) == (clinician_user, "Phoned, safe.")
    assert AuditEvent.objects.filter(action="crisis_alert.acknowledged").count() == 1


def test_acknowledging_a_crisis_alert_needs_an_outcome(screening, clinician_user):
    alert = CrisisAlertFactory(submission=screening)
    with pytest.raises(DecisionError) as refused:
        crisis_alert_acknowledge(alert_id=alert.pk, actor=clinician_user, outcome="  ")
    assert refused.value.code == "outcome_required"
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_clinicians_acknowledging_an_alert_at_once_one_wins():
    alert = CrisisAlertFactory()
    clinicians = [UserFactory(clinician=True) for _ in range(2)]

    def attempt(index: int) -> object:
        return crisis_alert_acknowledge(
            alert_id=alert.pk, actor=clinicians[index], outcome=f"Phoned ({index}), safe."
        )

    outcomes, finished = all_at_once(len(clinicians), attempt)

    assert finished
    won = [i for i, o in enumerate(outcomes) if isinstance(o, CrisisAlert)]
    lost = [o for o in outcomes if isinstance(o, DecisionError)]
    assert len(won) == 1, outcomes
    assert [error.code for error in lost] == ["already_acknowledged"]
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinicians[won[0]]
    assert alert.outcome == f"Phoned ({won[0]}), safe."
    assert AuditEvent.objects.filter(action="crisis_alert.acknowledged").count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_control_without_the_conditional_claim_both_clinicians_would_win():
    """The race the claim guards against: read "not acknowledged", then write, lets both win."""
    alert = CrisisAlertFactory()
    clinicians = [UserFactory(clinician=True) for _ in range(2)]
    between_check_and_write = threading.Barrier(len(clinicians))
    won: list[int] = []

    def naive(index: int) -> None:
        try:
            row = CrisisAlert.objects.get(pk=alert.pk)
            if row.acknowledged_at is None:
                between_check_and_write.wait(timeout=10)
                row.acknowledged_at, row.acknowledged_by = NOW, clinicians[index]
                row.save(update_fields=["acknowledged_at", "acknowledged_by"])
                won.append(index)
        finally:
            connection.close()

    start_and_join(naive, len(clinicians), timeout=60)

    assert sorted(won) == [0, 1]


# --- Clearing: dates -------------------------------------------------------------------------


def test_the_default_clearance_length_is_a_setting(screening, clinician_user, settings):
    settings.CLEARANCE_VALID_DAYS = 30
    assert clear(screening, clinician_user).valid_until == dt.date(2027, 2, 3)


@pytest.mark.parametrize("valid_until", [TODAY, TODAY - dt.timedelta(days=1)])
def test_a_clearance_must_end_after_today(screening, clinician_user, valid_until):
    with pytest.raises(DecisionError) as refused:
        clear(screening, clinician_user, valid_until=valid_until)
    assert refused.value.code == "valid_until_past"


def test_a_clearance_can_last_at_most_the_longest_setting(screening, clinician_user, settings):
    settings.CLEARANCE_MAX_DAYS = 365
    with pytest.raises(DecisionError) as refused:
        clear(screening, clinician_user, valid_until=dt.date(2028, 1, 5))
    assert refused.value.code == "valid_until_too_far"
    assert "until Tue, Jan 4, 2028" in refused.value.message
    assert clear(screening, clinician_user, valid_until=dt.date(2028, 1, 4)).valid_until == (
        dt.date(2028, 1, 4)
    )


def test_the_clinic_date_decides_today_not_utc(screening, clinician_user):
    # 20:00 in Sacramento on 4 January is already the 5th in UTC.
    evening = dt.datetime(2027, 1, 4, 20, 0, tzinfo=LA)
    decision = clear(screening, clinician_user, valid_until=dt.date(2027, 1, 5), now=evening)
    assert decision.valid_until == dt.date(2027, 1, 5)


# --- Declining -------------------------------------------------------------------------------


def test_declining_needs_a_reason_and_is_audited(screening, clinician_user):
    FlagFactory(submission=screening)  # unacknowledged flags do not stop a decline
    for reason in ("", "  "):
        with pytest.raises(DecisionError) as refused:
            clearance_decide(
                submission_id=screening.pk,
                actor=clinician_user,
                kind=DecisionKind.DECLINED,
                reason=reason,
            )
        assert refused.value.code == "reason_required"

    decision = clearance_decide(
        submission_id=screening.pk,
        actor=clinician_user,
        kind=DecisionKind.DECLINED,
        reason="Recent myocardial infarction; refer back to cardiology.",
    )

    assert decision.kind == DecisionKind.DECLINED
    assert decision.valid_until is None
    event = AuditEvent.objects.get(action="clearance.declined")
    assert event.detail == {"round": 1, "submission_id": screening.pk}


# --- Needs more information ------------------------------------------------------------------


@pytest.fixture
def eager_information_request():
    """The outbox rows an information request wrote, about whom (the email is sent by
    scheduling's dispatch sweep: tests/scheduling/test_outbox_emails.py)."""

    def rows() -> list[tuple[str, int]]:
        return list(
            Reminder.objects.filter(kind=ReminderKind.INFORMATION_REQUEST).values_list(
                "channel", "patient_id"
            )
        )

    return rows


def send_outbox() -> list[int]:
    """What the beat sweep and a worker do next: claim every due outbox row and send it."""
    claimed = dispatch_due()
    for reminder_id in claimed:
        reminder_send(reminder_id=reminder_id)
    return claimed


def ask(submission, actor, *, sections=("blood_pressure", "heart"), reason=MESSAGE, **kwargs):
    return clearance_decide(
        submission_id=submission.pk,
        actor=actor,
        kind=DecisionKind.NEEDS_INFORMATION,
        reason=reason,
        sections=sections,
        **kwargs,
    )


def test_asking_for_information_reopens_exactly_the_requested_sections_with_answers_kept(
    screening, clinician_user, eager_information_request, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decision = ask(screening, clinician_user, sections=["heart", "blood_pressure"])

    draft = IntakeSubmission.objects.get(patient=screening.patient, status=SubmissionStatus.DRAFT)
    assert draft.kind == SubmissionKind.SCREENING
    assert draft.round == 2
    assert draft.answers == screening.answers
    assert draft.completed_sections == [
        key for key in SECTION_KEYS if key not in {"blood_pressure", "heart"}
    ]
    assert draft.info_request == MESSAGE
    assert decision.reason == MESSAGE
    assert decision.kind == DecisionKind.NEEDS_INFORMATION
    screening.refresh_from_db()
    assert screening.is_submitted  # the decided round is untouched
    event = AuditEvent.objects.get(action="clearance.needs_information")
    assert event.detail == {
        "round": 1,
        "submission_id": screening.pk,
        "sections": ["blood_pressure", "heart"],
        "reopened_round": 2,
    }
    assert MESSAGE not in str(event.detail)
    assert eager_information_request() == [("email", decision.patient_id)]


def test_the_patient_is_emailed_a_neutral_note_with_their_link(
    screening, clinician_user, eager_information_request, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(screening, clinician_user)
    send_outbox()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    patient = screening.patient
    assert message.to == [patient.email]
    assert "ketamine" not in message.subject.lower()
    assert "a little more information" in message.subject
    link = "http://127.0.0.1:8000" + reverse("intake:start", args=[patient_link_token(patient)])
    html = message.alternatives[0].content
    assert link in message.body
    assert link in html
    assert f"Hello {patient.first_name}," in message.body
    assert "needs a little more information" in message.body
    for text in (message.subject, message.body, html):
        assert not HEALTH_WORDS.search(text), HEALTH_WORDS.search(text)
        assert MESSAGE not in text


def test_the_patient_sees_the_request_and_lands_on_the_reopened_sections(
    client, screening, clinician_user
):
    ask(screening, clinician_user)
    link, token = patient_link_token(screening.patient), "me"

    start = open_link(client, reverse("intake:start", kwargs={"token": link}))
    assert start.status_code == 302
    first = reverse("intake:section", kwargs={"token": token, "section_key": "blood_pressure"})
    assert start["Location"] == first

    page = client.get(first)
    assert "Your care team asked:" in page.text
    assert MESSAGE in page.text
    assert "Most people finish in about 15 to 20 minutes" not in page.text
    assert "flag" not in page.text.lower().split("<main", 1)[1]

    answers = screening.answers
    saved = client.post(first, section_post_data("blood_pressure", answers))
    heart = reverse("intake:section", kwargs={"token": token, "section_key": "heart"})
    assert saved["Location"] == heart
    saved = client.post(heart, section_post_data("heart", answers))
    review = reverse("intake:review", kwargs={"token": token})
    assert saved["Location"] == review

    page = client.get(review)
    assert "Your care team asked:" in page.text
    assert MESSAGE in page.text
    sent = client.post(review)
    assert sent.status_code == 302
    assert IntakeSubmission.objects.screenings().submitted().filter(round=2).exists()


def test_a_request_reuses_a_draft_the_patient_already_has(screening, clinician_user):
    draft = IntakeSubmissionFactory(
        patient=screening.patient,
        round=2,
        answers={"sex": "female"},
        completed_sections=["about", "heart", "pain"],
    )

    ask(screening, clinician_user, sections=["heart"])

    draft.refresh_from_db()
    assert IntakeSubmission.objects.filter(status=SubmissionStatus.DRAFT).count() == 1
    assert draft.answers == {"sex": "female"}  # the patient's own work is kept
    assert draft.completed_sections == ["about", "pain"]
    assert draft.info_request == MESSAGE


def test_a_reused_empty_draft_is_prefilled(screening, clinician_user):
    draft = IntakeSubmissionFactory(patient=screening.patient, round=2)
    ask(screening, clinician_user, sections=["pain"])
    draft.refresh_from_db()
    assert draft.answers == screening.answers
    assert "pain" not in draft.completed_sections
    assert len(draft.completed_sections) == len(SECTION_KEYS) - 1


@pytest.mark.parametrize(
    ("reason", "sections", "code"),
    [
        ("", ["heart"], "message_required"),
        ("   ", ["heart"], "message_required"),
        (MESSAGE, [], "sections_required"),
        (MESSAGE, ["heart", "not_a_section"], "unknown_section"),
    ],
)
def test_a_request_needs_a_message_and_known_sections(
    screening, clinician_user, reason, sections, code
):
    with pytest.raises(DecisionError) as refused:
        ask(screening, clinician_user, reason=reason, sections=sections)
    assert refused.value.code == code
    assert not ClearanceDecision.objects.exists()
    assert not IntakeSubmission.objects.filter(status=SubmissionStatus.DRAFT).exists()


def test_a_request_must_not_repeat_a_flags_wording(screening, clinician_user):
    flag = FlagFactory(submission=screening, title="Uncontrolled high blood pressure")
    with pytest.raises(DecisionError) as refused:
        ask(screening, clinician_user, reason=f"About your {flag.title.lower()}: any readings?")
    assert refused.value.code == "flag_wording"
    assert not IntakeSubmission.objects.filter(status=SubmissionStatus.DRAFT).exists()


def test_a_broker_outage_keeps_the_decision_and_the_email_goes_once_it_is_back(
    screening, clinician_user, monkeypatch, django_capture_on_commit_callbacks
):
    def down(self, *args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(Task, "apply_async", down)
        with django_capture_on_commit_callbacks(execute=True):
            decision = ask(screening, clinician_user)
        # The sweep during the outage claims the row and cannot queue its send: nothing is lost.
        with django_capture_on_commit_callbacks(execute=True):
            claimed = dispatch_due()
    assert ClearanceDecision.objects.filter(pk=decision.pk).exists()
    row = Reminder.objects.get(kind=ReminderKind.INFORMATION_REQUEST)
    assert (row.patient_id, row.appointment_id, claimed) == (screening.patient_id, None, [row.pk])
    assert mail.outbox == []
    # Redis is back: once the lost send times out, the sweep sends the email, once.
    later = timezone.now() + dt.timedelta(minutes=10)
    recover_stuck(now=later)
    for _ in range(2):
        for reminder_id in dispatch_due(now=later):
            reminder_send(reminder_id=reminder_id, now=later)
    assert len(mail.outbox) == 1
    link = reverse("intake:start", args=[patient_link_token(screening.patient)])
    assert link in mail.outbox[0].body
    assert not HEALTH_WORDS.search(mail.outbox[0].body)


def test_the_old_task_name_writes_the_row_for_one_release(screening, clinician_user):
    decision = ask(screening, clinician_user)
    Reminder.objects.all().delete()
    tasks.send_information_request.apply(args=[decision.pk])
    assert Reminder.objects.filter(
        kind=ReminderKind.INFORMATION_REQUEST, patient_id=screening.patient_id
    ).exists()


# --- Who may decide, and on which round ------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin_user", "front_desk", "no_role_user"])
def test_only_clinicians_decide(request, screening, persona):
    actor = request.getfixturevalue(persona)
    flag = FlagFactory(submission=screening)
    alert = CrisisAlertFactory(submission=screening)
    attempts = [
        lambda: flag_acknowledge(flag_id=flag.pk, actor=actor, note="Seen."),
        lambda: crisis_alert_acknowledge(alert_id=alert.pk, actor=actor, outcome="Phoned."),
        lambda: clear(screening, actor),
        lambda: clearance_decide(
            submission_id=screening.pk, actor=actor, kind=DecisionKind.DECLINED, reason="No."
        ),
        lambda: ask(screening, actor),
    ]
    for attempt in attempts:
        with pytest.raises(DecisionError) as refused:
            attempt()
        assert refused.value.code == "not_allowed"
        assert refused.value.message == "Only a clinician can make this decision."
    assert not FlagAcknowledgement.objects.exists()
    assert not ClearanceDecision.objects.exists()
    assert CrisisAlert.objects.get().acknowledged_at is None
    assert not AuditEvent.objects.filter(action__startswith="clearance.").exists()


def test_an_inactive_clinician_cannot_decide(screening, clinician_user):
    clinician_user.is_active = False
    clinician_user.save()
    with pytest.raises(DecisionError) as refused:
        clear(screening, clinician_user)
    assert refused.value.code == "not_allowed"


def test_a_superseded_round_cannot_be_decided(patient, clinician_user):
    first = SubmittedScreeningFactory(patient=patient, round=1)
    SubmittedScreeningFactory(patient=patient, round=2)
    for kind, extra in [
        (DecisionKind.CLEARED, {}),
        (DecisionKind.DECLINED, {"reason": "No."}),
        (DecisionKind.NEEDS_INFORMATION, {"reason": MESSAGE, "sections": ["heart"]}),
    ]:
        with pytest.raises(DecisionError) as refused:
            clearance_decide(submission_id=first.pk, actor=clinician_user, kind=kind, **extra)
        assert refused.value.code == "superseded"
        assert "round 2" in refused.value.message
    assert not ClearanceDecision.objects.exists()


def test_a_newer_draft_or_check_in_does_not_supersede_the_round(patient, clinician_user):
    screening = SubmittedScreeningFactory(patient=patient, round=1)
    IntakeSubmissionFactory(patient=patient, round=2)  # a draft
    SubmittedScreeningFactory(patient=patient, round=3, kind=SubmissionKind.CHECK_IN)
    assert clear(screening, clinician_user).submission == screening


def test_a_draft_or_a_check_in_cannot_be_decided(patient, clinician_user):
    draft = IntakeSubmissionFactory(patient=patient, complete=True)
    with pytest.raises(DecisionError) as refused:
        clear(draft, clinician_user)
    assert refused.value.code == "not_submitted"
    check_in = SubmittedScreeningFactory(patient=patient, kind=SubmissionKind.CHECK_IN)
    with pytest.raises(DecisionError) as refused:
        clear(check_in, clinician_user)
    assert refused.value.code == "not_screening"


def test_an_unknown_round_or_decision_is_refused(screening, clinician_user):
    with pytest.raises(DecisionError) as refused:
        clear(IntakeSubmission(pk=999999), clinician_user)
    assert refused.value.code == "not_found"
    with pytest.raises(DecisionError) as refused:
        clearance_decide(submission_id=screening.pk, actor=clinician_user, kind="approved")
    assert refused.value.code == "unknown_kind"


def test_a_later_decision_supersedes_an_earlier_one_and_both_are_kept(screening, clinician_user):
    cleared = clear(screening, clinician_user)
    later = NOW + dt.timedelta(hours=1)
    declined = clearance_decide(
        submission_id=screening.pk,
        actor=clinician_user,
        kind=DecisionKind.DECLINED,
        reason="New information from the oncologist.",
        now=later,
    )
    assert list(ClearanceDecision.objects.all()) == [cleared, declined]


# --- History cannot be rewritten -------------------------------------------------------------


@pytest.fixture
def decision(clinician_user):
    return ClearanceDecisionFactory(decided_by=clinician_user)


def test_a_decision_cannot_be_edited_or_deleted(decision):
    decision.valid_until = dt.date(2030, 1, 1)
    assert_append_only(decision, ClearanceDecision.objects.filter(pk=decision.pk), kind="declined")
    stored = ClearanceDecision.objects.get(pk=decision.pk)
    assert (stored.kind, stored.valid_until) == ("cleared", dt.date(2027, 7, 5))


def test_an_acknowledgement_cannot_be_edited_or_deleted(screening, clinician_user):
    ack = flag_acknowledge(
        flag_id=FlagFactory(submission=screening).pk, actor=clinician_user, note="Seen."
    )
    ack.note = "Rewritten."
    with pytest.raises(AppendOnlyError):
        ack.save()
    with pytest.raises(AppendOnlyError):
        ack.delete()
    with pytest.raises(AppendOnlyError):
        FlagAcknowledgement.objects.filter(pk=ack.pk).update(note="Rewritten.")
    with pytest.raises(AppendOnlyError):
        FlagAcknowledgement.objects.all().delete()
    assert FlagAcknowledgement.objects.get(pk=ack.pk).note == "Seen."


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE intake_clearancedecision SET kind = 'declined', reason = 'x' WHERE id = %s",
        "DELETE FROM intake_clearancedecision WHERE id = %s",
    ],
)
def test_the_database_refuses_raw_changes_to_decisions(decision, sql):
    with pytest.raises(DatabaseError, match=r"append-only|permission denied"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [decision.pk])
    assert ClearanceDecision.objects.get(pk=decision.pk).kind == "cleared"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE intake_flagacknowledgement SET note = 'x' WHERE id = %s",
        "DELETE FROM intake_flagacknowledgement WHERE id = %s",
    ],
)
def test_the_database_refuses_raw_changes_to_acknowledgements(screening, clinician_user, sql):
    ack = flag_acknowledge(
        flag_id=FlagFactory(submission=screening).pk, actor=clinician_user, note="Seen."
    )
    with pytest.raises(DatabaseError, match=r"append-only|permission denied"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [ack.pk])
    assert FlagAcknowledgement.objects.get(pk=ack.pk).note == "Seen."


def test_every_decision_kind_has_an_audit_action():
    assert set(decisions_module.AUDIT_ACTIONS) == set(DecisionKind)


def test_another_patients_round_is_decided_for_that_patient_only(clinician_user):
    mine = SubmittedScreeningFactory(patient=PatientFactory())
    theirs = SubmittedScreeningFactory(patient=PatientFactory())
    decision = clear(mine, clinician_user)
    assert decision.patient_id == mine.patient_id != theirs.patient_id
    assert AuditEvent.objects.get(action="clearance.cleared").patient_id == mine.patient_id
