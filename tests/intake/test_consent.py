"""intake.consent: every consent given or withdrawn is recorded once, with its time and source,
on the patient and in the append-only history; the defaults; the backfill the migration runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from intake.consent import consent_backfill, consent_preferences_set, consent_set
from intake.models import ConsentChannel, ConsentEvent, ConsentSource, Patient
from propel.append_only import AppendOnlyError
from propel.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2027, 1, 4, 18, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)


def events(patient: Patient) -> list[tuple[str, bool, str, dt.datetime]]:
    return [
        (e.channel, e.given, e.source, e.at)
        for e in ConsentEvent.objects.filter(patient=patient).order_by("at", "id")
    ]


def test_a_new_patient_gets_email_reminders_and_no_texts_by_default():
    patient = PatientFactory()
    assert patient.consent_email is True and patient.consent_email_at is not None
    assert patient.consent_sms is False and patient.consent_sms_at is None


def test_an_opt_out_is_recorded_with_its_time_and_source_and_audited():
    patient = PatientFactory()
    assert consent_set(
        patient_id=patient.pk,
        channel=ConsentChannel.EMAIL,
        given=False,
        source=ConsentSource.EMAIL_LINK,
        now=T0,
    )
    patient.refresh_from_db()
    assert (patient.consent_email, patient.consent_email_at) == (False, T0)
    assert events(patient) == [("email", False, "email_link", T0)]
    audit = AuditEvent.objects.get(action="patient.email_opt_out")
    assert (audit.patient_id, audit.detail) == (patient.pk, {"source": "email_link"})


def test_saying_the_same_again_records_nothing_more():
    patient = PatientFactory()
    for now in (T0, T1):
        consent_set(
            patient_id=patient.pk,
            channel=ConsentChannel.EMAIL,
            given=False,
            source=ConsentSource.EMAIL_LINK,
            now=now,
        )
    patient.refresh_from_db()
    assert patient.consent_email_at == T0
    assert events(patient) == [("email", False, "email_link", T0)]


def test_the_first_word_is_recorded_even_when_it_matches_the_default():
    patient = PatientFactory()
    assert consent_set(
        patient_id=patient.pk,
        channel=ConsentChannel.EMAIL,
        given=True,
        source=ConsentSource.BOOKING,
        now=T0,
    )
    assert events(patient) == [("email", True, "booking", T0)]


def test_texts_need_a_mobile_on_file():
    patient = PatientFactory(mobile="")
    with pytest.raises(ValueError, match="mobile"):
        consent_set(
            patient_id=patient.pk,
            channel=ConsentChannel.SMS,
            given=True,
            source=ConsentSource.MANAGE_PAGE,
        )
    assert not ConsentEvent.objects.exists()


def test_both_boxes_at_once_record_only_the_channels_that_changed():
    patient = PatientFactory()
    changed = consent_preferences_set(
        patient_id=patient.pk, email=True, sms=True, source=ConsentSource.MANAGE_PAGE, now=T0
    )
    assert changed == ["sms"]
    patient.refresh_from_db()
    assert (patient.consent_sms, patient.consent_sms_at) == (True, T0)
    assert events(patient) == [("sms", True, "manage_page", T0)]


def test_the_history_is_append_only():
    patient = PatientFactory()
    consent_set(
        patient_id=patient.pk,
        channel=ConsentChannel.SMS,
        given=True,
        source=ConsentSource.STAFF,
        now=T0,
    )
    event = ConsentEvent.objects.get()
    event.given = False
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.all().delete()


def test_the_history_is_append_only_in_the_database_too():
    patient = PatientFactory()
    consent_set(
        patient_id=patient.pk,
        channel=ConsentChannel.SMS,
        given=True,
        source=ConsentSource.STAFF,
        now=T0,
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE intake_consentevent SET given = false")


def test_a_patient_cannot_be_on_without_a_time():
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(consent_email=True, consent_email_at=None)


class TestBackfill:
    """The function intake migration 0006 runs with its historical models."""

    def run(self) -> int:
        return consent_backfill(patient_model=Patient, event_model=ConsentEvent, now=T1)

    def test_turns_on_patients_left_off_by_the_old_unticked_box(self):
        old = PatientFactory(consent_email=False, consent_email_at=None)
        assert self.run() == 1
        old.refresh_from_db()
        assert (old.consent_email, old.consent_email_at) == (True, T1)
        assert events(old) == [("email", True, "backfill", T1)]

    def test_keeps_a_recorded_opt_out_and_skips_patients_already_on(self):
        withdrew = PatientFactory()
        consent_set(
            patient_id=withdrew.pk,
            channel=ConsentChannel.EMAIL,
            given=False,
            source=ConsentSource.EMAIL_LINK,
            now=T0,
        )
        timed_off = PatientFactory(consent_email=False, consent_email_at=T0)
        already = PatientFactory(consent_email_at=T0)
        no_address = PatientFactory(email="", consent_email=False, consent_email_at=None)
        assert self.run() == 0
        for patient, expected in (
            (withdrew, (False, T0)),
            (timed_off, (False, T0)),
            (already, (True, T0)),
            (no_address, (False, None)),
        ):
            patient.refresh_from_db()
            assert (patient.consent_email, patient.consent_email_at) == expected
        assert not ConsentEvent.objects.filter(source=ConsentSource.BACKFILL).exists()

    def test_is_idempotent(self):
        PatientFactory(consent_email=False, consent_email_at=None)
        assert (self.run(), self.run()) == (1, 0)
        assert ConsentEvent.objects.count() == 1
