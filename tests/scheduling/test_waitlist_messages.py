"""Waitlist messages by text (with the patient's consent to texts, after the quiet hours, no
health words, short) and the news that an offer lapsed ("you are still on the list")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from scheduling.models import EntryState, Reminder, ReminderChannel, ReminderKind, WaitlistEntry
from scheduling.reminders.messages import NEVER_IN_SMS_OR_SUBJECT, render_reminder
from scheduling.waitlist.services import entry_add, offer_accept, offers_expire
from tests.clinic_time import at, stopped_clock
from tests.factories import PatientFactory
from tests.scheduling.reminder_support import deliver_due_reminders, sms_lines
from tests.scheduling.waitlist_support import offer_to

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday noon
FREED = at(dt.date(2027, 1, 5), 15)
WAITLIST_KINDS = (
    ReminderKind.WAITLIST_OFFER,
    ReminderKind.WAITLIST_GONE,
    ReminderKind.WAITLIST_LAPSED,
)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def texting(**fields):
    return PatientFactory(consent_sms=True, consent_sms_at=NOW, **fields)


def offer(clinic, *patients, now=NOW):
    return offer_to(clinic, *patients, start=FREED, now=now)


def channels(patient, kind):
    rows = Reminder.objects.filter(patient=patient, kind=kind)
    return sorted(rows.values_list("channel", flat=True))


def test_an_offer_goes_by_text_too_only_to_a_patient_who_agreed_to_texts(online_clinic):
    agreed, declined = texting(), PatientFactory()
    offer(online_clinic, agreed, declined)
    assert channels(agreed, ReminderKind.WAITLIST_OFFER) == ["email", "sms"]
    assert channels(declined, ReminderKind.WAITLIST_OFFER) == ["email"]
    deliver_due_reminders(now=NOW)
    (text,) = sms_lines()
    assert "/p/" in text["body"] and agreed.first_name in text["body"]
    assert len(mail.outbox) == 2


def test_no_text_without_a_mobile(online_clinic):
    patient = texting(mobile="")
    offer(online_clinic, patient)
    assert channels(patient, ReminderKind.WAITLIST_OFFER) == ["email"]


def test_an_offer_text_in_the_quiet_hours_that_would_come_after_the_hold_is_not_planned(
    online_clinic,
):
    late = at(dt.date(2027, 1, 4), 22)  # quiet until 8am; the hold ends at midnight
    patient = texting()
    offer(online_clinic, patient, now=late)
    assert channels(patient, ReminderKind.WAITLIST_OFFER) == ["email"]


def test_a_gone_text_in_the_quiet_hours_waits_for_the_morning(online_clinic):
    late = at(dt.date(2027, 1, 4), 21, 30)
    first, second = PatientFactory(), texting()
    offered = offer(online_clinic, first, second, now=late)
    offer_accept(invite_id=offered.invites.get(entry__patient=first).pk, patient=first, now=late)
    text = Reminder.objects.get(
        patient=second, kind=ReminderKind.WAITLIST_GONE, channel=ReminderChannel.SMS
    )
    assert text.due_at == at(dt.date(2027, 1, 5), 8)


def test_an_expired_offer_tells_each_invited_patient_still_waiting_once(online_clinic):
    waiting, texts, left = PatientFactory(), texting(), PatientFactory()
    offer(online_clinic, waiting, texts)
    entry_add(patient_id=left.pk, appointment_type=online_clinic.consultation)
    later = NOW + dt.timedelta(hours=3)
    assert offers_expire(now=later)
    assert channels(waiting, ReminderKind.WAITLIST_LAPSED) == ["email"]
    assert channels(texts, ReminderKind.WAITLIST_LAPSED) == ["email", "sms"]
    # The third patient, offered the time next, is not told of a lapse.
    assert channels(left, ReminderKind.WAITLIST_LAPSED) == []
    assert offers_expire(now=later) == []
    assert Reminder.objects.filter(kind=ReminderKind.WAITLIST_LAPSED).count() == 3
    deliver_due_reminders(now=later)
    lapsed = [m for m in mail.outbox if "lapsed" in m.subject]
    assert {m.to[0] for m in lapsed} == {waiting.email, texts.email}
    assert "still on our waitlist" in lapsed[0].body


def test_a_patient_who_left_the_list_is_not_told_their_offer_lapsed(online_clinic):
    patient = PatientFactory()
    offer(online_clinic, patient)
    WaitlistEntry.objects.filter(patient=patient).update(state=EntryState.REMOVED)
    offers_expire(now=NOW + dt.timedelta(hours=3))
    assert channels(patient, ReminderKind.WAITLIST_LAPSED) == []


@pytest.mark.parametrize("kind", WAITLIST_KINDS)
def test_each_waitlist_text_is_short_and_names_no_health_word(online_clinic, kind):
    patient = texting(first_name="Alexandrina-Maximiliana")
    row = Reminder.objects.create(
        patient=patient, kind=kind, channel=ReminderChannel.SMS, due_at=NOW
    )
    sms = render_reminder(row, channel=ReminderChannel.SMS).sms
    assert len(sms) <= 320
    assert "Alexandrina-Maximiliana" in sms and "/p/" in sms
    assert not [word for word in NEVER_IN_SMS_OR_SUBJECT if word in sms.lower()]
    assert "STOP" in sms
