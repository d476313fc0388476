"""Staff time off and blocked time (scheduling.time_off): availability never offers a blocked
clinician or room, bookings, moves and courses refuse one with the blocked span, the staff page
lists the visits it would hit before saving and never cancels them, in clinic time (DST-correct)
and a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from scheduling.booking import appointment_book, appointment_move
from scheduling.courses.services import CourseConflict, course_book
from scheduling.errors import SchedulingError
from scheduling.holds import slot_hold_create
from scheduling.models import AppointmentStatus, BlockedReason, BlockedTime
from scheduling.slots import find_slots, staff_slots
from scheduling.time_off import time_off_blocks, time_off_hits, time_off_save
from tests.clinic_time import LA, MONDAY, TUESDAY, at, stopped_clock
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    clear_patient,
    consult_clinic,
    consultation_at,
    infusion_clinic,
)
from tests.personas import verified_client
from tests.scheduling.time_off_support import block

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 8)


@pytest.fixture(autouse=True)
def frozen():
    yield from stopped_clock(NOW)


@pytest.fixture
def clinic():
    return consult_clinic()


def hours(slots) -> list[str]:
    return [slot.start.astimezone(LA).strftime("%a %H:%M") for slot in slots]


def tuesday(clinic, **kwargs) -> list[str]:
    return hours(
        find_slots(
            appointment_type=clinic.consultation,
            start_date=TUESDAY,
            end_date=TUESDAY,
            include_extra_openings=False,
            step=dt.timedelta(hours=1),
            **kwargs,
        )
    )


# --- Availability ------------------------------------------------------------------------------


def test_a_clinicians_time_off_removes_their_slots(clinic):
    block(at(TUESDAY, 11, 30), at(TUESDAY, 14), clinician=clinic.clinician)
    starts = tuesday(clinic)
    assert "Tue 11:00" not in starts  # would end inside the time off
    assert {"Tue 12:00", "Tue 13:00"}.isdisjoint(starts)
    assert {"Tue 10:00", "Tue 14:00"} <= set(starts)


def test_a_blocked_room_is_not_offered_but_another_room_is(clinic):
    other = RoomFactory(name="Consult B")
    block(at(TUESDAY, 9), at(TUESDAY, 19), room=clinic.room, reason=BlockedReason.MAINTENANCE)
    slots = find_slots(
        appointment_type=clinic.consultation,
        start_date=TUESDAY,
        end_date=TUESDAY,
        include_extra_openings=False,
    )
    assert slots and all(slot.room_ids == (other.pk,) for slot in slots)
    other.delete()
    assert tuesday(clinic) == []


def test_staff_free_slots_skip_time_off_too(clinic):
    block(at(TUESDAY, 9), at(TUESDAY, 12), clinician=clinic.clinician)
    slots = staff_slots(clinic.consultation, TUESDAY, TUESDAY, now=NOW)
    starts = [slot.start for slot in slots]
    assert starts[0] == at(TUESDAY, 12)


def test_another_clinicians_time_off_changes_nothing(clinic):
    before = tuesday(clinic)
    block(at(TUESDAY, 9), at(TUESDAY, 19), clinician=ClinicianFactory())
    assert tuesday(clinic) == before


def test_the_public_slot_picker_does_not_offer_blocked_time(client, clinic):
    block(at(TUESDAY, 9), at(dt.date(2027, 1, 8), 19), clinician=clinic.clinician)
    response = client.get(reverse("scheduling:book"))
    assert response.status_code == 200
    assert "2027-01-05T" not in response.content.decode()
    assert "2027-01-11T" in response.content.decode()  # the next Monday is offered


# --- Bookings, moves and courses --------------------------------------------------------------


def book(clinic, start, **kwargs):
    return appointment_book(
        patient_id=PatientFactory().pk,
        appointment_type_id=clinic.consultation.pk,
        start=start,
        **kwargs,
    )


def test_booking_a_named_clinician_on_time_off_is_refused_naming_them_and_the_span(clinic):
    block(at(TUESDAY, 12), at(TUESDAY, 14), clinician=clinic.clinician, reason="training")
    with pytest.raises(SchedulingError) as refused:
        book(clinic, at(TUESDAY, 13), clinician_id=clinic.clinician.pk)
    assert refused.value.code == "clinician_blocked"
    assert refused.value.message == (
        "Dr Example is off at that time "
        "(training, Tue, Jan 5, 2027, 12:00 p.m. to Tue, Jan 5, 2027, 2:00 p.m.)."
    )


def test_booking_any_clinician_when_the_only_one_is_off_names_them(clinic):
    block(at(TUESDAY, 12), at(TUESDAY, 14), clinician=clinic.clinician)
    with pytest.raises(SchedulingError) as refused:
        book(clinic, at(TUESDAY, 11, 30))
    assert refused.value.code == "clinician_blocked"
    assert "Dr Example" in refused.value.message


def test_booking_any_clinician_takes_one_not_off(clinic):
    block(at(TUESDAY, 12), at(TUESDAY, 14), clinician=clinic.clinician)
    other = ClinicianFactory(display_name="Dr Other")
    assert book(clinic, at(TUESDAY, 12)).clinician == other


def test_booking_a_blocked_room_is_refused_naming_it(clinic):
    block(at(TUESDAY, 9), at(TUESDAY, 19), room=clinic.room, reason="maintenance", note="Paint")
    with pytest.raises(SchedulingError) as refused:
        book(clinic, at(TUESDAY, 10), room_id=clinic.room.pk)
    assert refused.value.code == "room_blocked"
    assert refused.value.message.startswith("Consult A is blocked at that time (maintenance, ")


def test_time_off_ending_when_a_visit_starts_does_not_block_it(clinic):
    block(at(TUESDAY, 9), at(TUESDAY, 10), clinician=clinic.clinician)
    assert book(clinic, at(TUESDAY, 10), clinician_id=clinic.clinician.pk).start == at(TUESDAY, 10)


def test_moving_a_visit_into_time_off_is_refused(clinic):
    appointment = book(clinic, at(TUESDAY, 10))
    block(at(TUESDAY, 15), at(TUESDAY, 17), clinician=clinic.clinician)
    with pytest.raises(SchedulingError) as refused:
        appointment_move(
            appointment_id=appointment.pk,
            new_start=at(TUESDAY, 15),
            actor=UserFactory(front_desk=True),
        )
    assert refused.value.code == "clinician_blocked"
    appointment.refresh_from_db()
    assert appointment.start == at(TUESDAY, 10)


def test_a_course_with_a_session_in_time_off_books_nothing_and_names_it():
    clinic = infusion_clinic(room_name="Infusion Suite 1", clinician_name="Dr Example")
    patient = PatientFactory()
    clear_patient(patient)
    tuesdays = [TUESDAY + dt.timedelta(weeks=n) for n in range(4)]
    block(at(tuesdays[2], 0), at(tuesdays[2] + dt.timedelta(days=1), 0), clinician=clinic.clinician)
    with pytest.raises(CourseConflict) as refused:
        course_book(
            patient_id=patient.pk,
            starts=[at(day, 10) for day in tuesdays],
            actor=UserFactory(front_desk=True),
            now=NOW,
        )
    assert refused.value.index == 2
    assert "Dr Example is off at that time" in refused.value.message
    assert not patient.appointments.exists()


# --- Clinic time and DST -------------------------------------------------------------------------


def test_time_off_over_the_spring_forward_night_is_23_hours_and_blocks_monday_morning(clinic):
    desk = verified_client(UserFactory(front_desk=True))
    response = desk.post(
        reverse("scheduling:time_off_new"),
        {
            "clinician": clinic.clinician.pk,
            "start": "2027-03-14T00:00",
            "end": "2027-03-15T10:00",
            "reason": "vacation",
        },
    )
    assert response.status_code == 302
    row = BlockedTime.objects.get()
    assert row.start == dt.datetime(2027, 3, 14, 8, 0, tzinfo=dt.UTC)  # PST midnight
    assert row.end == dt.datetime(2027, 3, 15, 17, 0, tzinfo=dt.UTC)  # 10:00 PDT
    assert row.end - row.start == dt.timedelta(hours=33)
    monday = hours(
        find_slots(
            appointment_type=clinic.consultation,
            start_date=dt.date(2027, 3, 15),
            end_date=dt.date(2027, 3, 15),
            include_extra_openings=False,
            step=dt.timedelta(hours=1),
        )
    )
    assert monday[0] == "Mon 10:00"


def test_a_time_that_does_not_exist_is_refused_and_one_that_happens_twice_is_asked(clinic):
    desk = verified_client(UserFactory(front_desk=True))
    data = {"clinician": clinic.clinician.pk, "reason": "sick", "end": "2027-11-08T09:00"}
    gap = desk.post(reverse("scheduling:time_off_new"), {**data, "start": "2027-03-14T02:30"})
    assert gap.status_code == 400
    assert "Clocks go forward" in gap.content.decode()
    twice = desk.post(reverse("scheduling:time_off_new"), {**data, "start": "2027-11-07T01:30"})
    assert twice.status_code == 400
    assert "happens twice" in twice.content.decode()
    second = desk.post(
        reverse("scheduling:time_off_new"),
        {**data, "start": "2027-11-07T01:30", "start_occurrence": "second"},
    )
    assert second.status_code == 302
    assert BlockedTime.objects.get().start == dt.datetime(2027, 11, 7, 9, 30, tzinfo=dt.UTC)


# --- The staff page: visits hit listed first, never cancelled ----------------------------------


def form(clinic, start="2027-01-05T09:00", end="2027-01-05T13:00", **extra):
    return {
        "clinician": clinic.clinician.pk,
        "start": start,
        "end": end,
        "reason": "training",
        "note": "CPR course",
        **extra,
    }


def test_blocking_time_over_visits_lists_them_first_and_saves_nothing(clinic):
    visits = [
        consultation_at(clinic, at(TUESDAY, 10)),
        consultation_at(clinic, at(TUESDAY, 12)),
    ]
    consultation_at(clinic, at(TUESDAY, 15))  # after the span
    desk = verified_client(UserFactory(front_desk=True))
    response = desk.post(reverse("scheduling:time_off_new"), form(clinic))
    assert response.status_code == 200
    page = response.content.decode()
    assert "These 2 visits would be affected" in page
    assert page.count('class="time-off-visit"') == 2
    for visit in visits:
        assert f'name="visit" value="{visit.pk}"' in page
    assert not BlockedTime.objects.exists()


def test_confirming_saves_the_block_and_leaves_the_visits_booked(clinic):
    visit = consultation_at(clinic, at(TUESDAY, 10))
    desk = verified_client(UserFactory(front_desk=True))
    response = desk.post(
        reverse("scheduling:time_off_new"), form(clinic, step="confirm", visit=[visit.pk])
    )
    assert response.status_code == 302
    row = BlockedTime.objects.get()
    assert (row.clinician, row.reason, row.note) == (clinic.clinician, "training", "CPR course")
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED


def test_a_visit_booked_since_the_list_was_shown_refuses_the_confirm(clinic):
    shown = consultation_at(clinic, at(TUESDAY, 10))
    consultation_at(clinic, at(TUESDAY, 12))  # booked meanwhile
    desk = verified_client(UserFactory(front_desk=True))
    response = desk.post(
        reverse("scheduling:time_off_new"), form(clinic, step="confirm", visit=[shown.pk])
    )
    assert response.status_code == 409
    assert "changed since the list was shown" in response.content.decode()
    assert "These 2 visits would be affected" in response.content.decode()
    assert not BlockedTime.objects.exists()


def test_time_off_with_no_visits_is_saved_at_once_and_listed(clinic):
    desk = verified_client(UserFactory(front_desk=True))
    assert desk.post(reverse("scheduling:time_off_new"), form(clinic)).status_code == 302
    page = desk.get(reverse("scheduling:time_off")).content.decode()
    assert "Dr Example" in page and "Training" in page and "CPR course" in page


def test_the_form_needs_exactly_one_of_clinician_and_room_and_an_end_after_the_start(clinic):
    desk = verified_client(UserFactory(front_desk=True))
    both = desk.post(reverse("scheduling:time_off_new"), form(clinic, room=clinic.room.pk))
    assert both.status_code == 400
    backwards = desk.post(reverse("scheduling:time_off_new"), form(clinic, end="2027-01-05T08:00"))
    assert backwards.status_code == 400
    assert "The end must be after the start" in backwards.content.decode()
    junk = desk.post(reverse("scheduling:time_off_new"), {"clinician": "x", "start": "soon"})
    assert junk.status_code == 400
    assert not BlockedTime.objects.exists()


def test_the_service_refuses_a_span_without_a_resource_or_backwards(clinic):
    for kwargs, code in (
        ({"clinician_id": None, "room_id": None}, "time_off_resource"),
        (
            {"clinician_id": clinic.clinician.pk, "room_id": None, "end": at(TUESDAY, 8)},
            "time_off_dates",
        ),
    ):
        with pytest.raises(SchedulingError) as refused:
            time_off_save(
                **{"start": at(TUESDAY, 9), "end": at(TUESDAY, 10), **kwargs},
                reason="sick",
                note="",
                actor=None,
                confirmed_ids=[],
            )
        assert refused.value.code == code


def test_time_off_hits_only_the_resources_active_visits(clinic):
    mine = consultation_at(clinic, at(TUESDAY, 10))
    consultation_at(clinic, at(TUESDAY, 11), status=AppointmentStatus.CANCELLED)
    hits = time_off_hits(
        clinician_id=clinic.clinician.pk, room_id=None, start=at(TUESDAY, 9), end=at(TUESDAY, 19)
    )
    assert hits == [mine]
    assert (
        time_off_hits(
            clinician_id=ClinicianFactory().pk,
            room_id=None,
            start=at(TUESDAY, 9),
            end=at(TUESDAY, 19),
        )
        == []
    )


# --- Who may change it -------------------------------------------------------------------------


def test_clinicians_see_the_list_but_cannot_add_or_remove(clinic):
    row = block(at(TUESDAY, 9), at(TUESDAY, 10), clinician=clinic.clinician)
    clinician = verified_client(UserFactory(clinician=True))
    page = clinician.get(reverse("scheduling:time_off"))
    assert page.status_code == 200
    assert "Dr Example" in page.content.decode()
    assert "time-off-add" not in page.content.decode()
    assert clinician.get(reverse("scheduling:time_off_new")).status_code == 403
    assert clinician.post(reverse("scheduling:time_off_new"), form(clinic)).status_code == 403
    delete = reverse("scheduling:time_off_delete", kwargs={"block_id": row.pk})
    assert clinician.post(delete).status_code == 403
    assert BlockedTime.objects.count() == 1


def test_front_desk_removes_blocked_time_and_the_slots_come_back(clinic):
    row = block(at(TUESDAY, 9), at(TUESDAY, 19), clinician=clinic.clinician)
    assert tuesday(clinic) == []
    desk = verified_client(UserFactory(front_desk=True))
    delete = reverse("scheduling:time_off_delete", kwargs={"block_id": row.pk})
    assert desk.post(delete).status_code == 302
    assert "Tue 09:00" in tuesday(clinic)
    again = desk.post(delete, follow=True)
    assert "could not be found" in again.content.decode()


# --- The calendar's read, and queries ----------------------------------------------------------


def test_time_off_blocks_gives_the_spans_of_a_window(clinic):
    block(at(TUESDAY, 9), at(TUESDAY, 10), clinician=clinic.clinician, note="Dentist")
    block(at(TUESDAY, 12), at(TUESDAY, 13), room=clinic.room, reason="maintenance")
    block(at(MONDAY, 9), at(MONDAY, 10), clinician=clinic.clinician)  # outside the window
    spans = time_off_blocks(at(TUESDAY, 0), at(TUESDAY + dt.timedelta(days=1), 0))
    assert [(s.label, s.clinician_id, s.room_id) for s in spans] == [
        ("Vacation: Dentist", clinic.clinician.pk, None),
        ("Maintenance", None, clinic.room.pk),
    ]
    assert spans[0].start == at(TUESDAY, 9) and spans[0].end == at(TUESDAY, 10)


def test_the_list_and_the_calendar_read_run_fixed_queries(clinic, django_assert_max_num_queries):
    desk = verified_client(UserFactory(front_desk=True))
    block(at(TUESDAY, 9), at(TUESDAY, 10), clinician=clinic.clinician)
    with django_assert_max_num_queries(20) as few:
        assert desk.get(reverse("scheduling:time_off")).status_code == 200
    for day in range(1, 8):
        when = at(TUESDAY + dt.timedelta(days=day), 9)
        block(when, when + dt.timedelta(hours=1), room=RoomFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert desk.get(reverse("scheduling:time_off")).status_code == 200
    with django_assert_max_num_queries(1):
        time_off_blocks(at(MONDAY, 0), at(MONDAY + dt.timedelta(days=14), 0))


def test_the_confirm_page_runs_the_same_queries_for_one_visit_or_many(
    clinic, django_assert_max_num_queries
):
    desk = verified_client(UserFactory(front_desk=True))
    consultation_at(clinic, at(TUESDAY, 9))
    with django_assert_max_num_queries(25) as few:
        assert desk.post(reverse("scheduling:time_off_new"), form(clinic)).status_code == 200
    for hour in (10, 11, 12):
        consultation_at(clinic, at(TUESDAY, hour))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert desk.post(reverse("scheduling:time_off_new"), form(clinic)).status_code == 200


def test_an_online_hold_on_the_only_clinicians_time_off_is_refused(clinic):
    block(at(TUESDAY, 9), at(TUESDAY, 19), clinician=clinic.clinician)
    with pytest.raises(SchedulingError) as refused:
        slot_hold_create(
            appointment_type_id=clinic.consultation.pk, start=at(TUESDAY, 15), minutes=10
        )
    assert refused.value.code == "clinician_blocked"
