"""Crisis the moment it is answered (issue 14, screening reference §5.3): a saved step with PHQ-9
item 9 above 0 shows crisis resources on the very next page, raises the urgent flag and the
crisis alert in the same transaction and texts the on-call clinician, whether or not the round is
ever sent; immediate alerts escalate along the rota; acknowledging stops it all; outside clinic
hours the clinic's call waits for the opening while the patient is told to call 988 or 911 now."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse

from intake import tasks
from intake.context_processors import CrisisBanner
from intake.crisis import (
    call_hours,
    clinic_open,
    crisis_alerts_escalate,
    crisis_notifications_send,
    next_opening,
    sms_body,
)
from intake.decisions import crisis_alert_acknowledge
from intake.examples import complete_answers, complete_check_in_answers
from intake.links import patient_link_token
from intake.models import (
    CrisisAlert,
    CrisisNotification,
    Flag,
    IntakeSubmission,
    NotificationState,
    OnCallClinician,
    OnCallRole,
)
from intake.questions import CHECK_IN, SECTION_KEYS
from intake.screening import intake_submit
from propel.roles import roles_of
from tests.eager import run_when_queued
from tests.factories import (
    CheckInSubmissionFactory,
    IntakeSubmissionFactory,
    PatientFactory,
    UserFactory,
    section_post_data,
)
from tests.patient_links import open_link

pytestmark = pytest.mark.django_db

PACIFIC = "America/Los_Angeles"
IN_HOURS = dt.datetime(2027, 1, 5, 18, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Sacramento
AT_NIGHT = dt.datetime(2027, 1, 6, 6, 0, tzinfo=dt.UTC)  # Tuesday 22:00 in Sacramento
NEXT_OPENING = dt.datetime(2027, 1, 6, 17, 0, tzinfo=dt.UTC)  # Wednesday 9:00
ROTA_NUMBERS = ["+19165550101", "+19165550102", "+19165550103"]
ADMIN_NUMBER = "+19165550109"
CRISIS_SENTENCE = "call or text 988 (Suicide &amp; Crisis Lifeline; Veterans press 1)"
FORBIDDEN_IN_SMS = re.compile(r"ketamine|phq|suicid|harm|depress|988|item", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _alert_emails(settings):
    settings.CLINICIAN_ALERT_EMAILS = ["on-call@clinic.example"]


@pytest.fixture
def rota(db):
    clinicians = [UserFactory(clinician=True) for _ in ROTA_NUMBERS]
    for order, (user, number) in enumerate(zip(clinicians, ROTA_NUMBERS, strict=True)):
        OnCallClinician.objects.create(user=user, mobile=number, order=order)
    return clinicians


@pytest.fixture
def escalation_admin(admin_user):
    OnCallClinician.objects.create(user=admin_user, mobile=ADMIN_NUMBER, role=OnCallRole.ESCALATION)
    return admin_user


@pytest.fixture
def eager(monkeypatch):
    """Run the tasks queued after commit in-process, as a worker would."""
    run_when_queued(monkeypatch, tasks.send_crisis_alert)
    run_when_queued(monkeypatch, tasks.send_crisis_notifications)


def texts() -> list[dict]:
    path = Path(django_settings.SMS_FILE_PATH) / "messages.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def draft_at_phq9(patient) -> IntakeSubmission:
    """A screening draft with steps 1-4 done: the next step is 5 of 14, the PHQ-9."""
    return IntakeSubmissionFactory(
        patient=patient,
        answers={k: v for k, v in complete_answers().items() if not k.startswith("phq9")},
        completed_sections=list(SECTION_KEYS[:4]),
    )


def save_phq9(client, patient, capture, *, item9: int, kind: str = "screening", round_=1):
    token = patient_link_token(patient)
    if kind == CHECK_IN:
        url = reverse(
            "intake:check_in_section",
            kwargs={"token": token, "round": round_, "section_key": "phq9"},
        )
        data = section_post_data("phq9", complete_check_in_answers(phq9_9=item9), CHECK_IN)
    else:
        url = reverse("intake:section", kwargs={"token": token, "section_key": "phq9"})
        data = section_post_data("phq9", complete_answers(phq9_9=item9))
    with capture(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302
    return response


def main_of(page) -> str:
    return page.text.split('<main id="main"', 1)[1]


# --- The step save -----------------------------------------------------------------------------


def test_step_5_of_14_with_item_9_at_1_shows_crisis_page_alerts_and_texts_without_submitting(
    client, patient, rota, eager, django_capture_on_commit_callbacks
):
    submission = draft_at_phq9(patient)
    assert SECTION_KEYS.index("phq9") == 4 and len(SECTION_KEYS) == 14

    with time_machine.travel(IN_HOURS, tick=False):
        response = save_phq9(client, patient, django_capture_on_commit_callbacks, item9=1)
        page = client.get(response["Location"])

    assert response["Location"].endswith("/intake/help-now/")
    main = main_of(page)
    assert main.index("Help is available right now") < main.index("Continue with")
    assert CRISIS_SENTENCE in main
    for link in ('href="tel:988"', 'href="sms:988"', 'href="tel:911"'):
        assert link in main
    assert django_settings.CLINIC_PHONE in main
    assert "closed" not in main
    assert re.search(r'href="/p/[^"]+/intake/gad7/"', main)  # on to step 6 afterwards

    submission.refresh_from_db()
    assert not submission.is_submitted
    alert = CrisisAlert.objects.get(submission=submission)
    assert alert.priority == "urgent"
    assert alert.raised_at == IN_HOURS
    assert Flag.objects.filter(
        submission=submission, rule_id="phq9_item9_positive", severity="urgent"
    ).exists()
    notification = CrisisNotification.objects.get(alert=alert)
    assert (notification.channel, notification.to, notification.step) == ("sms", ROTA_NUMBERS[0], 0)
    assert notification.state == NotificationState.SENT
    assert notification.user == rota[0]
    [text] = texts()
    assert text["to"] == ROTA_NUMBERS[0]
    assert text["body"].startswith("A patient needs a clinician today.")
    assert f"/staff/patients/{patient.pk}/chart/" in text["body"]
    assert not FORBIDDEN_IN_SMS.search(text["body"])
    assert patient.first_name not in text["body"] and patient.last_name not in text["body"]
    assert len(mail.outbox) == 1  # the on-call email list too


def test_the_alert_commits_with_the_answer_even_when_the_broker_is_down(
    client, patient, rota, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.send_crisis_alert, "delay", down)
    monkeypatch.setattr(tasks.send_crisis_notifications, "delay", down)
    draft_at_phq9(patient)

    with time_machine.travel(IN_HOURS, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=2)
    assert texts() == []
    assert CrisisNotification.objects.get().state == NotificationState.PENDING

    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=1), tick=False):
        tasks.crisis_alerts_sweep()

    assert [t["to"] for t in texts()] == [ROTA_NUMBERS[0]]
    assert texts()[0]["body"].startswith("A patient needs a clinician now.")


def test_a_later_zero_keeps_the_alert_and_submit_raises_no_second_one(
    client, patient, rota, eager, django_capture_on_commit_callbacks
):
    submission = draft_at_phq9(patient)
    with time_machine.travel(IN_HOURS, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=1)
        response = save_phq9(client, patient, django_capture_on_commit_callbacks, item9=0)
    assert "help-now" not in response["Location"]
    alert = CrisisAlert.objects.get(submission=submission)
    assert Flag.objects.filter(submission=submission, severity="urgent").count() == 1

    submission.answers = complete_answers(phq9_9=0)
    submission.completed_sections = list(SECTION_KEYS)
    submission.save()
    with django_capture_on_commit_callbacks(execute=True):
        intake_submit(submission_id=submission.pk, now=IN_HOURS + dt.timedelta(minutes=5))

    assert list(CrisisAlert.objects.filter(patient=patient)) == [alert]
    alert.refresh_from_db()
    assert alert.priority == "urgent" and alert.raised_at == IN_HOURS
    assert Flag.objects.filter(submission=submission, rule_id="phq9_item9_positive").count() == 1
    assert len(texts()) == 1  # no second call
    sent = open_link(
        client,
        reverse("intake:submitted", kwargs={"token": patient_link_token(patient), "round": 1}),
    )
    assert CRISIS_SENTENCE in sent.text  # never an all-clear after a positive answer


def test_submitting_a_positive_round_keeps_one_alert_and_rises_only(
    client, patient, rota, eager, django_capture_on_commit_callbacks
):
    submission = draft_at_phq9(patient)
    with time_machine.travel(IN_HOURS, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=1)
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=3)
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=1)
    alert = CrisisAlert.objects.get(submission=submission)
    assert alert.priority == "immediate"  # raised, never lowered
    assert alert.immediate_since == IN_HOURS
    # The rise texts the on-call clinician again, now saying "now".
    assert [t["body"].split(".")[0] for t in texts()] == [
        "A patient needs a clinician today",
        "A patient needs a clinician now",
    ]

    submission.refresh_from_db()
    submission.answers = complete_answers(phq9_9=1)
    submission.completed_sections = list(SECTION_KEYS)
    submission.save()
    with django_capture_on_commit_callbacks(execute=True):
        intake_submit(submission_id=submission.pk, now=IN_HOURS)
    assert CrisisAlert.objects.filter(patient=patient).count() == 1
    alert.refresh_from_db()
    assert alert.priority == "immediate"
    assert len(mail.outbox) == 1


# --- Escalation --------------------------------------------------------------------------------


def test_an_unacknowledged_immediate_alert_escalates_once_per_step(
    client, patient, rota, escalation_admin, client_for, eager, django_capture_on_commit_callbacks
):
    draft_at_phq9(patient)
    with time_machine.travel(IN_HOURS, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=2)
    alert = CrisisAlert.objects.get()
    assert alert.priority == "immediate"

    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=14), tick=False):
        tasks.crisis_alerts_sweep()
    assert [t["to"] for t in texts()] == [ROTA_NUMBERS[0]]

    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=15), tick=False):
        tasks.crisis_alerts_sweep()
        tasks.crisis_alerts_sweep()

    step1 = CrisisNotification.objects.filter(alert=alert, step=1)
    assert sorted((n.channel, n.to) for n in step1) == sorted(
        [
            ("sms", ROTA_NUMBERS[1]),
            ("email", rota[1].email),
            ("sms", ADMIN_NUMBER),
            ("email", escalation_admin.email),
        ]
    )
    assert all(n.state == NotificationState.SENT for n in step1)
    assert [t["to"] for t in texts()] == [ROTA_NUMBERS[0], ROTA_NUMBERS[1], ADMIN_NUMBER]
    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=16), tick=False):
        chart = client_for(rota[0]).get(reverse("intake:chart", args=[patient.pk]))
    assert chart.status_code == 200
    assert "First call · Text message" in chart.text
    assert chart.text.count("Escalation 1 ·") == 4  # who, when, channel, step: on the chart
    escalation_mail = [m for m in mail.outbox if m.to != ["on-call@clinic.example"]]
    assert sorted(m.to[0] for m in escalation_mail) == sorted(
        [rota[1].email, escalation_admin.email]
    )

    # The next step, 15 minutes later, goes to the third clinician; then the rota is done.
    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=30), tick=False):
        tasks.crisis_alerts_sweep()
    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=120), tick=False):
        tasks.crisis_alerts_sweep()
    assert [t["to"] for t in texts()] == [
        ROTA_NUMBERS[0],
        ROTA_NUMBERS[1],
        ADMIN_NUMBER,
        ROTA_NUMBERS[2],
        ADMIN_NUMBER,
    ]


def test_an_urgent_alert_does_not_escalate(
    client, patient, rota, escalation_admin, eager, django_capture_on_commit_callbacks
):
    draft_at_phq9(patient)
    with time_machine.travel(IN_HOURS, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=1)
    assert crisis_alerts_escalate(now=IN_HOURS + dt.timedelta(hours=3)) == 0
    assert len(texts()) == 1


def test_acknowledging_stops_escalation_and_removes_the_banner(
    client,
    patient,
    rota,
    escalation_admin,
    clinician_user,
    client_for,
    eager,
    django_capture_on_commit_callbacks,
):
    draft_at_phq9(patient)
    with time_machine.travel(IN_HOURS, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=3)
    alert = CrisisAlert.objects.get()
    review = reverse("intake:review_queue")
    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=5), tick=False):
        staff = client_for(clinician_user)
        assert 'id="crisis-banner"' in staff.get(review).text
        crisis_alert_acknowledge(
            alert_id=alert.pk, actor=clinician_user, outcome="Phoned; safety plan in place."
        )

    with time_machine.travel(IN_HOURS + dt.timedelta(minutes=16), tick=False):
        tasks.crisis_alerts_sweep()
        page = staff.get(review)

    assert not CrisisNotification.objects.filter(step__gt=0).exists()
    assert len(texts()) == 1
    assert 'id="crisis-banner"' not in page.text


# --- The banner --------------------------------------------------------------------------------


def test_the_banner_shows_on_clinician_and_admin_pages_and_never_to_front_desk(
    client,
    patient,
    rota,
    front_desk,
    clinician_user,
    admin_user,
    client_for,
    eager,
    django_capture_on_commit_callbacks,
):
    draft_at_phq9(patient)
    with time_machine.travel(IN_HOURS, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=2)
    chart = reverse("intake:chart", args=[patient.pk])

    for user, url in (
        (clinician_user, reverse("scheduling:today")),
        (clinician_user, reverse("intake:review_queue")),
        (admin_user, reverse("propel:audit_log")),
    ):
        page = client_for(user).get(url)
        assert page.status_code == 200, url
        assert 'id="crisis-banner"' in page.text, (user, url)
        assert f'href="{chart}"' in page.text
        assert "Open the chart (immediate)" in page.text

    desk = client_for(front_desk).get(reverse("scheduling:today"))
    assert desk.status_code == 200
    assert 'id="crisis-banner"' not in desk.text
    assert "crisis alert" not in desk.text
    assert (
        open_link(
            client, reverse("intake:start", kwargs={"token": patient_link_token(patient)})
        ).status_code
        == 302
    )


def test_the_banner_costs_one_query_however_many_alerts(clinician_user, django_assert_num_queries):
    for priority in ("urgent", "immediate", "urgent"):
        submission = IntakeSubmissionFactory(patient=PatientFactory())
        CrisisAlert.objects.create(
            submission=submission,
            patient=submission.patient,
            priority=priority,
            raised_at=IN_HOURS,
        )
    clinician_user.is_verified = lambda: True  # what django_otp's middleware sets
    roles_of(clinician_user)  # read once per request, by every staff page already
    banner = CrisisBanner(clinician_user)

    with django_assert_num_queries(1):
        assert len(banner.alerts) == 3
        assert banner.immediate
        assert banner.first["priority"] == "immediate"


# --- Outside clinic hours ----------------------------------------------------------------------


def test_at_night_the_call_waits_for_the_opening_and_the_patient_is_told_988_911_now(
    client, patient, rota, eager, django_capture_on_commit_callbacks
):
    draft_at_phq9(patient)
    with time_machine.travel(AT_NIGHT, tick=False):
        response = save_phq9(client, patient, django_capture_on_commit_callbacks, item9=2)
        page = client.get(response["Location"])
        tasks.crisis_alerts_sweep()

    main = main_of(page)
    assert main.index(CRISIS_SENTENCE) < main.index("Our clinic is closed right now")
    assert "call or text 988 now, or call 911" in main
    assert "Wed, Jan 6, 2027 at 9:00 a.m." in main
    alert = CrisisAlert.objects.get()
    assert alert.call_due_at == NEXT_OPENING
    call = CrisisNotification.objects.get(alert=alert)
    assert call.state == NotificationState.PENDING and call.due_at == NEXT_OPENING
    assert texts() == []  # queued for the clinic's first call
    assert len(mail.outbox) == 1  # the email list and the banner are not held back

    # No escalation overnight: the clock starts at the opening.
    with time_machine.travel(NEXT_OPENING - dt.timedelta(minutes=1), tick=False):
        tasks.crisis_alerts_sweep()
    assert texts() == []
    with time_machine.travel(NEXT_OPENING, tick=False):
        tasks.crisis_alerts_sweep()
    assert [t["to"] for t in texts()] == [ROTA_NUMBERS[0]]
    with time_machine.travel(NEXT_OPENING + dt.timedelta(minutes=15), tick=False):
        tasks.crisis_alerts_sweep()
    assert [t["to"] for t in texts()] == [ROTA_NUMBERS[0], ROTA_NUMBERS[1]]


def test_an_alert_acknowledged_overnight_is_not_texted_in_the_morning(
    client, patient, rota, clinician_user, eager, django_capture_on_commit_callbacks
):
    draft_at_phq9(patient)
    with time_machine.travel(AT_NIGHT, tick=False):
        save_phq9(client, patient, django_capture_on_commit_callbacks, item9=1)
    crisis_alert_acknowledge(
        alert_id=CrisisAlert.objects.get().pk, actor=clinician_user, outcome="Called back."
    )
    assert crisis_notifications_send(now=NEXT_OPENING) == 0
    assert CrisisNotification.objects.get().state == NotificationState.CANCELLED
    assert texts() == []


@pytest.mark.parametrize(
    ("local", "is_open", "opens"),
    [
        ("2027-01-05 10:00", True, "2027-01-05 10:00"),
        ("2027-01-05 08:59", False, "2027-01-05 09:00"),
        ("2027-01-05 19:00", False, "2027-01-06 09:00"),
        ("2027-01-08 20:00", False, "2027-01-11 09:00"),  # Friday night -> Monday
        ("2027-01-09 10:00", False, "2027-01-11 09:00"),  # Saturday (by appointment only)
        ("2027-03-13 23:00", False, "2027-03-15 09:00"),  # across the spring DST change
        ("2027-11-07 01:30", False, "2027-11-08 09:00"),  # the autumn DST day
    ],
)
def test_clinic_hours_in_wall_clock_time(local, is_open, opens):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(PACIFIC)
    now = dt.datetime.fromisoformat(local).replace(tzinfo=zone)
    expected = dt.datetime.fromisoformat(opens).replace(tzinfo=zone)
    hours = call_hours()
    assert clinic_open(now, hours) is is_open
    assert next_opening(now, hours) == expected
    assert next_opening(now, hours).utcoffset() == expected.utcoffset()


# --- The check-in round ------------------------------------------------------------------------


def test_a_check_in_phq9_step_with_item_9_raises_the_alert_and_shows_the_crisis_page(
    client, patient, rota, eager, django_capture_on_commit_callbacks
):
    check_in = CheckInSubmissionFactory(patient=patient)
    with time_machine.travel(IN_HOURS, tick=False):
        response = save_phq9(
            client, patient, django_capture_on_commit_callbacks, item9=2, kind=CHECK_IN
        )
        page = client.get(response["Location"])

    assert response["Location"].endswith(f"/check-in/round/{check_in.round}/help-now/")
    main = main_of(page)
    assert CRISIS_SENTENCE in main
    assert "Continue with the questions before your visit" in main
    alert = CrisisAlert.objects.get(submission=check_in)
    assert alert.priority == "immediate"
    assert Flag.objects.filter(submission=check_in, severity="urgent").exists()
    assert [t["to"] for t in texts()] == [ROTA_NUMBERS[0]]


def test_the_crisis_page_needs_a_positive_stored_answer(client, patient):
    IntakeSubmissionFactory(patient=patient, answers=complete_answers(phq9_9=0))
    token = patient_link_token(patient)
    response = open_link(client, reverse("intake:crisis", kwargs={"token": token}))
    assert response.status_code == 302
    assert "help-now" not in response["Location"]


def test_sms_wording_names_nothing_but_urgency_and_the_chart():
    assert sms_body(priority="urgent", patient_id=7) == (
        f"A patient needs a clinician today. Open Propel: {django_settings.SITE_URL}"
        "/staff/patients/7/chart/"
    )
    assert sms_body(priority="immediate", patient_id=7).startswith(
        "A patient needs a clinician now."
    )
