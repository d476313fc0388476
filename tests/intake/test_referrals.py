"""intake.referrals: receiving a referral (the row, its letter, the confirmation due), the
confirmation to the referring office (once, after commit or by the sweep, with no patient detail),
status changes and linking a referral to a patient (its letter moves with it)."""

from __future__ import annotations

import datetime as dt
import re
import smtplib

import pytest
import time_machine
from django.core import mail
from fpdf import FPDF

from intake.documents import CleanDocument
from intake.paperwork_models import (
    DocumentKind,
    DocumentSource,
    PatientDocument,
    Referral,
    ReferralStatus,
)
from intake.referrals import (
    MAX_CONFIRMATION_ATTEMPTS,
    ReferralDetails,
    ReferralError,
    age_in_days,
    confirmation_backoff,
    referral_confirmation_send,
    referral_confirmations_send,
    referral_link_patient,
    referral_receive,
    referral_reference_new,
    referral_status_set,
    status_change_allowed,
)
from propel.models import AuditEvent
from tests.eager import eager_tasks
from tests.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 18, 30, tzinfo=dt.UTC)  # Monday 10:30 in Sacramento
DETAILS = ReferralDetails(
    referrer_name="Dr. Ada Example",
    referrer_practice="Example Oncology Group",
    referrer_phone="+19165550100",
    referrer_email="frontdesk@oncology.example",
    patient_first_name="Quinn",
    patient_last_name="Zebulon",
    patient_date_of_birth=dt.date(1971, 8, 23),
    patient_phone="+19165550177",
    patient_email="quinn.zebulon@mail.example",
    reason="Chronic cancer pain, opioids insufficient (fake example).",
)


def pdf_bytes() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Referral letter (fake)")
    return bytes(pdf.output())


def letter() -> CleanDocument:
    return CleanDocument(
        data=pdf_bytes(),
        content_type="application/pdf",
        extension="pdf",
        original_name="letter.pdf",
    )


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents"), "base_url": None},
        },
    }


# --- Pure rules ----------------------------------------------------------------------------------


def test_a_reference_is_short_random_and_easy_to_read_aloud():
    references = {referral_reference_new() for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", reference), reference


def test_status_moves_follow_the_table():
    assert status_change_allowed("new", "contacted")
    assert status_change_allowed("contacted", "booked")
    assert status_change_allowed("booked", "closed")
    assert not status_change_allowed("contacted", "new")
    assert not status_change_allowed("closed", "contacted")
    assert not status_change_allowed("new", "new")


def test_age_counts_clinic_days_not_utc_days():
    # 23:30 on Monday in Sacramento is already Tuesday in UTC: still day 0 on Monday.
    received = dt.datetime(2027, 1, 5, 7, 30, tzinfo=dt.UTC)
    assert age_in_days(received, dt.date(2027, 1, 4)) == 0
    assert age_in_days(received, dt.date(2027, 1, 6)) == 2


def test_confirmation_backoff_doubles_and_is_capped():
    assert [confirmation_backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert confirmation_backoff(20) == dt.timedelta(hours=1)


# --- Receiving -----------------------------------------------------------------------------------


def test_receiving_stores_the_referral_its_letter_and_a_due_confirmation():
    referral = referral_receive(details=DETAILS, letter=letter(), form_key="k" * 32, now=NOW)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.NEW
    assert re.fullmatch(r"\w{4}-\w{4}", referral.reference)  # a random code, not the id
    assert referral.confirmation_due_at == NOW and referral.confirmation_sent_at is None
    document = PatientDocument.objects.get(referral=referral)
    assert document.kind == DocumentKind.REFERRAL and document.source == DocumentSource.REFERRAL
    assert document.patient_id is None
    with document.file.open("rb") as stored:
        assert stored.read().startswith(b"%PDF")
    event = AuditEvent.objects.get(action="referral.received")
    assert event.detail == {"letter": True}
    assert "Zebulon" not in str(event.detail)


def test_a_second_submit_of_the_same_form_finds_the_first_referral():
    first = referral_receive(details=DETAILS, letter=letter(), form_key="k" * 32, now=NOW)
    second = referral_receive(details=DETAILS, letter=letter(), form_key="k" * 32, now=NOW)
    assert first.pk == second.pk
    assert Referral.objects.count() == 1 and PatientDocument.objects.count() == 1


# --- The confirmation ----------------------------------------------------------------------------


def _every_text(message) -> str:
    html = "".join(str(content) for content, _type in message.alternatives)
    return f"{message.subject}\n{message.body}\n{html}"


def test_the_confirmation_names_no_patient_and_gives_the_reference_and_phone(settings):
    referral = referral_receive(details=DETAILS, letter=None, now=NOW)
    assert referral_confirmations_send(now=NOW) == 1
    [message] = mail.outbox
    assert message.to == ["frontdesk@oncology.example"]
    text = _every_text(message)
    assert referral.reference in message.subject and referral.reference in message.body
    assert "(916) 915-9215" in message.body
    for detail in (
        "Quinn",
        "Zebulon",
        "1971",
        "08/23",
        "Aug",
        "quinn.zebulon",
        "555-0177",
        "5550177",
        "cancer",
        "opioid",
        "ketamine",
    ):
        assert detail.lower() not in text.lower(), detail


def test_the_confirmation_is_sent_once_by_the_task_after_commit_and_not_again_by_the_sweep(
    django_capture_on_commit_callbacks,
):
    with (
        time_machine.travel(NOW, tick=False),
        eager_tasks(),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        referral = referral_receive(details=DETAILS)
    assert len(callbacks) == 1 and len(mail.outbox) == 1
    referral.refresh_from_db()
    assert referral.confirmation_sent_at is not None and referral.confirmation_due_at is None
    assert referral_confirmations_send(now=NOW + dt.timedelta(minutes=5)) == 0
    assert referral_confirmation_send(referral_id=referral.pk) is False
    assert len(mail.outbox) == 1


def test_nothing_is_queued_or_sent_when_the_referral_rolls_back(
    django_capture_on_commit_callbacks, monkeypatch
):
    def broken_store(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("intake.referrals.document_store", broken_store)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        referral_receive(details=DETAILS, letter=letter(), now=NOW)
    assert callbacks == [] and Referral.objects.count() == 0


def test_a_mail_error_is_retried_later_then_given_up_and_shown(monkeypatch):
    referral = referral_receive(details=DETAILS, now=NOW)

    def refused(**kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("intake.referrals.send_email", refused)
    assert referral_confirmation_send(referral_id=referral.pk, now=NOW) is False
    referral.refresh_from_db()
    assert referral.confirmation_attempts == 1
    assert referral.confirmation_due_at == NOW + dt.timedelta(minutes=1)
    assert referral.confirmation_error == "SMTPServerDisconnected"
    # Not due again before the back-off.
    assert referral_confirmation_send(referral_id=referral.pk, now=NOW) is False
    assert Referral.objects.get(pk=referral.pk).confirmation_attempts == 1
    later = NOW
    for _ in range(MAX_CONFIRMATION_ATTEMPTS - 1):
        later += dt.timedelta(hours=2)
        referral_confirmations_send(now=later)
    referral.refresh_from_db()
    assert referral.confirmation_attempts == MAX_CONFIRMATION_ATTEMPTS
    assert referral.confirmation_due_at is None and referral.confirmation_sent_at is None
    assert AuditEvent.objects.filter(action="referral.confirmation_failed").count() == 1
    assert referral_confirmations_send(now=later + dt.timedelta(days=1)) == 0


# --- Status and linking --------------------------------------------------------------------------


def test_a_status_change_is_claimed_noted_and_audited(front_desk, rf):
    referral = ReferralFactory()
    request = rf.post("/")
    request.user = front_desk
    with time_machine.travel(NOW, tick=False):
        referral_status_set(
            referral_id=referral.pk, status="contacted", note="Left a voicemail", request=request
        )
    referral.refresh_from_db()
    assert referral.status == "contacted" and referral.handled_by == front_desk
    assert referral.note.endswith("frontdesk: Left a voicemail")
    assert "01/04/2027 10:30" in referral.note
    event = AuditEvent.objects.get(action="referral.status_changed")
    assert event.detail == {"from": "new", "to": "contacted", "note": True}
    assert "voicemail" not in str(event.detail)


def test_closing_needs_a_note_and_a_closed_referral_stays_closed():
    referral = ReferralFactory()
    with pytest.raises(ReferralError) as refused:
        referral_status_set(referral_id=referral.pk, status="closed")
    assert refused.value.code == "note_required"
    referral_status_set(referral_id=referral.pk, status="closed", note="Patient declined")
    with pytest.raises(ReferralError) as refused:
        referral_status_set(referral_id=referral.pk, status="contacted")
    assert refused.value.code == "not_allowed"
    assert Referral.objects.get(pk=referral.pk).status == "closed"


def test_a_change_lost_to_someone_else_is_refused(monkeypatch):
    referral = ReferralFactory()
    real_filter = Referral.objects.filter

    def someone_else_first(*args, **kwargs):
        if "status" in kwargs:  # the claim: meanwhile another desk moved it on
            Referral.objects.exclude(pk=0).filter(pk=referral.pk).update(status="booked")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Referral.objects, "filter", someone_else_first)
    with pytest.raises(ReferralError) as refused:
        referral_status_set(referral_id=referral.pk, status="contacted")
    assert refused.value.code == "changed"


def test_linking_gives_the_patient_the_referrals_letter_and_is_audited(patient, other_patient):
    referral = referral_receive(details=DETAILS, letter=letter(), now=NOW)
    referral_link_patient(referral_id=referral.pk, patient_id=patient.pk)
    document = PatientDocument.objects.get(referral=referral)
    assert document.patient_id == patient.pk
    event = AuditEvent.objects.get(action="referral.linked")
    assert event.patient_id == patient.pk and event.detail == {"documents": 1}
    # Again to the same patient: nothing changes; to another: refused.
    referral_link_patient(referral_id=referral.pk, patient_id=patient.pk)
    assert AuditEvent.objects.filter(action="referral.linked").count() == 1
    with pytest.raises(ReferralError):
        referral_link_patient(referral_id=referral.pk, patient_id=other_patient.pk)
    assert Referral.objects.get(pk=referral.pk).patient_id == patient.pk


def test_a_document_already_the_patients_is_left_alone():
    patient = PatientFactory()
    referral = referral_receive(details=DETAILS, letter=letter(), now=NOW)
    PatientDocument.objects.filter(referral=referral).update(patient=patient)
    other = PatientFactory()
    referral_link_patient(referral_id=referral.pk, patient_id=other.pk)
    assert PatientDocument.objects.get(referral=referral).patient_id == patient.pk


def test_beat_sweeps_the_confirmations_every_minute(settings):
    from propel.tasks_queue import task_by_name

    entry = settings.CELERY_BEAT_SCHEDULE["referral-confirmations"]
    assert entry["schedule"] <= 60
    assert task_by_name(entry["task"]).name == "intake.tasks.referral_confirmations_sweep"


def test_a_reference_already_taken_is_drawn_again(monkeypatch):
    taken = ReferralFactory(reference="AAAA-AAAA")
    drawn = iter(["AAAA-AAAA", "BBBB-BBBB"])
    monkeypatch.setattr("intake.referrals.referral_reference_new", lambda: next(drawn))
    referral = referral_receive(details=DETAILS, now=NOW)
    assert referral.reference == "BBBB-BBBB" and referral.pk != taken.pk


def test_the_demo_referrals_are_obviously_fake_and_waiting_in_the_queue():
    from demo.seed import seed_referrals
    from intake.referrals import referrals_for_queue

    assert seed_referrals(now=NOW) == 3
    queue = list(referrals_for_queue())
    assert len(queue) == 3 and queue[0].status == "contacted"
    assert all("[DEMO]" in r.reason and r.referrer_email.endswith(".example") for r in queue)


# --- Races (each thread on its own connection) ---------------------------------------------------


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_four_submits_of_one_form_at_once_make_one_referral():
    from tests.threads import all_at_once

    with eager_tasks():  # the confirmation's task runs here, not on a broker
        results, finished = all_at_once(
            4, lambda i: referral_receive(details=DETAILS, form_key="r" * 32, now=NOW).pk
        )
    assert finished and len(set(results)) == 1, results
    assert Referral.objects.count() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_the_task_and_the_sweep_at_once_send_one_confirmation():
    from tests.threads import all_at_once

    later = dt.datetime(2100, 1, 4, tzinfo=dt.UTC)
    with eager_tasks():  # queued after commit; not due yet when it runs (due in 2100)
        referral = referral_receive(details=DETAILS, now=later)
    assert mail.outbox == []
    results, finished = all_at_once(
        4, lambda i: referral_confirmation_send(referral_id=referral.pk, now=later)
    )
    assert finished and results.count(True) == 1, results
    assert len(mail.outbox) == 1
