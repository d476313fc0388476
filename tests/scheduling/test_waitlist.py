"""The waitlist (issue 20, item 4): a freed slot is offered in order to the waiting patients it
suits, held for them; the first to accept books it through the booking service, the others are
told it went; an offer no one took expires once and moves on to the next in line."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from scheduling.models import (
    Appointment,
    AppointmentStatus,
    EntryState,
    InviteState,
    OfferState,
    PartOfDay,
    Reminder,
    ReminderKind,
    SlotHold,
    WaitlistInvite,
)
from scheduling.transitions import appointment_transition
from scheduling.waitlist.services import (
    WaitlistError,
    entry_add,
    entry_shift,
    offer_accept,
    offers_expire,
    slot_freed,
)
from tests.clinic_time import at, stopped_clock
from tests.factories import PatientFactory, consultation_at
from tests.scheduling.waitlist_support import offer_to

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2027, 1, 4), 12)  # Monday
FREED = at(dt.date(2027, 1, 5), 15)  # Tuesday 3pm
LATER = at(dt.date(2027, 1, 8), 15)  # Friday 3pm


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


def wait(clinic, patient, **wishes):
    return entry_add(patient_id=patient.pk, appointment_type=clinic.consultation, **wishes)


def free(clinic, start=FREED, now=NOW):
    return offer_to(clinic, start=start, now=now)


def invited(offer):
    return [invite.entry.patient for invite in offer.invites.order_by("entry__position")]


def messages_to(patient, kind):
    return Reminder.objects.filter(patient=patient, kind=kind).count()


def test_the_first_waiting_patients_are_offered_the_slot_in_order_and_it_is_held(online_clinic):
    first, second, third = PatientFactory(), PatientFactory(), PatientFactory()
    for patient in (first, second, third):
        wait(online_clinic, patient)
    offer = free(online_clinic)
    assert offer is not None
    assert invited(offer) == [first, second]  # WAITLIST_OFFER_AT_ONCE = 2
    assert offer.expires_at == NOW + dt.timedelta(hours=2)
    hold = SlotHold.objects.get(key=offer.hold_key)
    assert (hold.start, hold.expires_at) == (FREED, offer.expires_at)
    assert messages_to(first, ReminderKind.WAITLIST_OFFER) == 1
    assert messages_to(third, ReminderKind.WAITLIST_OFFER) == 0


def test_the_front_desk_order_decides(online_clinic):
    first, second = PatientFactory(), PatientFactory()
    wait(online_clinic, first)
    moved = wait(online_clinic, second)
    entry_shift(moved.pk, up=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.WAITLIST_OFFER_AT_ONCE", 1)
        offer = free(online_clinic)
    assert invited(offer) == [second]


@pytest.mark.parametrize(
    ("wishes", "suits"),
    [
        ({}, True),
        ({"weekdays": "2"}, True),  # Tuesday
        ({"weekdays": "135"}, False),
        ({"part_of_day": PartOfDay.MORNING}, False),
        ({"part_of_day": PartOfDay.AFTERNOON}, True),
        ({"earliest_date": dt.date(2027, 1, 6)}, False),
        ({"latest_date": dt.date(2027, 1, 4)}, False),
        ({"latest_date": dt.date(2027, 1, 5)}, True),
    ],
)
def test_only_patients_whose_wishes_the_slot_fits_are_offered_it(online_clinic, wishes, suits):
    wait(online_clinic, PatientFactory(), **wishes)
    assert (free(online_clinic) is not None) is suits


def test_a_time_no_earlier_than_the_visit_already_booked_is_not_offered(online_clinic):
    patient = PatientFactory()
    booked = consultation_at(online_clinic, at(dt.date(2027, 1, 5), 10), patient=patient)
    wait(online_clinic, patient, appointment=booked)
    assert free(online_clinic) is None


def test_an_infusion_is_offered_only_to_a_cleared_patient(db):
    from tests.factories import clear_patient, infusion_clinic

    clinic = infusion_clinic()
    cleared, not_cleared = PatientFactory(), PatientFactory()
    clear_patient(cleared)
    for patient in (not_cleared, cleared):
        entry_add(patient_id=patient.pk, appointment_type=clinic.infusion)
    offer = slot_freed(
        appointment_type_id=clinic.infusion.pk,
        start=FREED,
        room_id=clinic.room.pk,
        clinician_id=clinic.clinician.pk,
        now=NOW,
    )
    assert offer is not None
    assert invited(offer) == [cleared]
    appointment = offer_accept(invite_id=offer.invites.get().pk, patient=cleared, now=NOW)
    assert appointment.appointment_type == clinic.infusion


def test_the_first_to_accept_books_and_the_other_is_told_it_went(online_clinic):
    first, second = PatientFactory(), PatientFactory()
    wait(online_clinic, first)
    wait(online_clinic, second)
    offer = free(online_clinic)
    second_invite = offer.invites.get(entry__patient=second)
    first_invite = offer.invites.get(entry__patient=first)
    appointment = offer_accept(invite_id=second_invite.pk, patient=second, now=NOW)
    assert (appointment.patient, appointment.start) == (second, FREED)
    assert appointment.room == online_clinic.room
    assert not SlotHold.objects.filter(key=offer.hold_key).exists()
    with pytest.raises(WaitlistError) as refused:
        offer_accept(invite_id=first_invite.pk, patient=first, now=NOW)
    assert refused.value.code == "gone"
    assert messages_to(first, ReminderKind.WAITLIST_GONE) == 1
    assert messages_to(second, ReminderKind.WAITLIST_GONE) == 0
    first_invite.refresh_from_db()
    offer.refresh_from_db()
    assert (offer.state, first_invite.state) == (OfferState.TAKEN, InviteState.GONE)
    assert Appointment.objects.filter(start=FREED).count() == 1


def test_accepting_twice_books_once(online_clinic):
    patient = PatientFactory()
    wait(online_clinic, patient)
    invite = free(online_clinic).invites.get()
    once = offer_accept(invite_id=invite.pk, patient=patient, now=NOW)
    again = offer_accept(invite_id=invite.pk, patient=patient, now=NOW)
    assert once == again
    assert Appointment.objects.filter(patient=patient).count() == 1
    assert invite.entry.__class__.objects.get(pk=invite.entry_id).state == EntryState.BOOKED


def test_another_patients_invitation_cannot_be_accepted(online_clinic):
    patient = PatientFactory()
    wait(online_clinic, patient)
    invite = free(online_clinic).invites.get()
    with pytest.raises(WaitlistError):
        offer_accept(invite_id=invite.pk, patient=PatientFactory(), now=NOW)
    assert not Appointment.objects.exists()


def test_accepting_moves_the_visit_wanted_earlier_which_frees_its_time(
    online_clinic, django_capture_on_commit_callbacks
):
    patient, next_in_line = PatientFactory(), PatientFactory()
    booked = consultation_at(online_clinic, LATER, patient=patient)
    wait(online_clinic, patient, appointment=booked)
    invite = free(online_clinic).invites.get()
    wait(online_clinic, next_in_line)
    with django_capture_on_commit_callbacks(execute=True):
        moved = offer_accept(invite_id=invite.pk, patient=patient, now=NOW)
    assert moved.pk == booked.pk and moved.start == FREED
    # The Friday time it left is offered to the next patient in line (the hook on the move).
    friday = WaitlistInvite.objects.get(entry__patient=next_in_line).offer
    assert friday.start == LATER


def test_a_cancellation_offers_its_time_after_commit(
    online_clinic, django_capture_on_commit_callbacks
):
    waiting = PatientFactory()
    wait(online_clinic, waiting)
    visit = consultation_at(online_clinic, FREED, patient=PatientFactory())
    with django_capture_on_commit_callbacks(execute=True):
        appointment_transition(appointment_id=visit.pk, to_status=AppointmentStatus.CANCELLED)
    offer = WaitlistInvite.objects.get(entry__patient=waiting).offer
    assert (offer.start, offer.state) == (FREED, OfferState.OPEN)


def test_an_offer_expires_once_and_moves_on_to_the_next_in_line(online_clinic):
    first, second, third = PatientFactory(), PatientFactory(), PatientFactory()
    for patient in (first, second, third):
        wait(online_clinic, patient)
    offer = free(online_clinic)
    assert offers_expire(now=NOW + dt.timedelta(hours=1, minutes=59)) == []
    later = NOW + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        assert offers_expire(now=later) == [offer.pk]
        assert offers_expire(now=later) == []
    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    assert set(offer.invites.values_list("state", flat=True)) == {InviteState.EXPIRED}
    with pytest.raises(WaitlistError) as refused:
        offer_accept(invite_id=offer.invites.first().pk, patient=first, now=later)
    assert refused.value.code == "expired"
    following = WaitlistInvite.objects.exclude(offer=offer).get()
    assert following.entry.patient == third
    assert following.offer.start == FREED
    assert SlotHold.objects.filter(key=following.offer.hold_key).exists()
    assert not SlotHold.objects.filter(key=offer.hold_key).exists()


def test_a_slot_no_longer_free_is_not_offered(online_clinic):
    wait(online_clinic, PatientFactory())
    consultation_at(online_clinic, FREED, patient=PatientFactory())
    assert free(online_clinic) is None


def test_a_course_session_wanted_on_another_day_is_moved_with_the_courses_rules(db):
    from tests.factories import AppointmentFactory, clear_patient, infusion_clinic

    clinic = infusion_clinic()
    patient = PatientFactory()
    clear_patient(patient)
    session = AppointmentFactory(
        patient=patient,
        appointment_type=clinic.infusion,
        room=clinic.room,
        clinician=clinic.clinician,
        start=LATER,
    )
    entry_add(patient_id=patient.pk, appointment_type=clinic.infusion, appointment=session)
    offer = slot_freed(
        appointment_type_id=clinic.infusion.pk,
        start=FREED,
        room_id=clinic.room.pk,
        clinician_id=clinic.clinician.pk,
        now=NOW,
    )
    moved = offer_accept(invite_id=offer.invites.get().pk, patient=patient, now=NOW)
    assert (moved.pk, moved.start) == (session.pk, FREED)


def test_the_front_desk_changes_a_patients_wishes(online_clinic):
    from scheduling.waitlist.services import entry_update

    entry = wait(online_clinic, PatientFactory(), part_of_day=PartOfDay.MORNING)
    assert free(online_clinic) is None
    entry_update(entry.pk, part_of_day=PartOfDay.ANY, weekdays="22")
    entry.refresh_from_db()
    assert entry.weekdays == "2"
    assert free(online_clinic) is not None


def test_a_patient_removed_from_the_list_can_no_longer_accept(online_clinic):
    from scheduling.waitlist.services import entry_remove

    patient = PatientFactory()
    entry = wait(online_clinic, patient)
    invite = free(online_clinic).invites.get()
    entry_remove(entry.pk)
    with pytest.raises(WaitlistError) as refused:
        offer_accept(invite_id=invite.pk, patient=patient, now=NOW)
    assert refused.value.code == "gone"
    assert not Appointment.objects.exists()
