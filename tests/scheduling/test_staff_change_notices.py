"""Issue 17, item 3: every move or cancel made by staff plans exactly one notice to the patient, in
the change's own transaction, from every door (the calendar's pages, the course page, the visit
screen's deferral, the lifecycle and booking services themselves); a patient's own change still
plans exactly one; a reason is picked from a list, never typed."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.urls import reverse

from scheduling import booking
from scheduling.courses.forms import to_local_input
from scheduling.courses.services import course_book, course_propose
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    NoticeReason,
    Reminder,
    ReminderKind,
    RoomKind,
)
from scheduling.notices import ChangeNotice
from scheduling.online.changes import online_consultation_cancel, online_consultation_reschedule
from scheduling.reminders.messages import render_reminder
from scheduling.transitions import appointment_transition
from tests.clinic_time import THURSDAY, TUESDAY, WEDNESDAY, at, stopped_clock
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClearanceDecisionFactory,
    ClinicianFactory,
    PatientFactory,
    RoomFactory,
    SubmittedScreeningFactory,
    consult_clinic,
    consultation_at,
    open_weekdays,
)
from tests.scheduling.visit_walk import CHECK_IN_FORM

pytestmark = pytest.mark.django_db

NOTICES = (ReminderKind.RESCHEDULED_NOTICE, ReminderKind.CANCELLED_NOTICE)


@pytest.fixture(autouse=True)
def clock():
    yield from stopped_clock(at(TUESDAY, 7))


@pytest.fixture
def clinic(db) -> SimpleNamespace:
    return consult_clinic()


@pytest.fixture
def visit(clinic) -> Appointment:
    patient = PatientFactory(first_name="Robin", email="robin@example.com")
    return consultation_at(clinic, at(WEDNESDAY, 10), patient=patient)


@pytest.fixture
def desk(client_for, front_desk):
    return client_for(front_desk)


def notices(appointment: Appointment) -> list[Reminder]:
    return list(
        Reminder.objects.filter(appointment=appointment, kind__in=NOTICES).order_by("sequence")
    )


def staff_cancel(appointment: Appointment, actor, history: str = "", **notice) -> Appointment:
    """Cancel through the lifecycle door as `actor` (`history`: the status history's words);
    `notice` builds the ChangeNotice."""
    return appointment_transition(
        appointment_id=appointment.pk,
        to_status=AppointmentStatus.CANCELLED,
        actor=actor,
        reason=history,
        notice=ChangeNotice(**notice),
    )


# --- The doors themselves -------------------------------------------------------------------------


def test_a_staff_move_plans_one_notice_with_the_old_time(visit, front_desk):
    old = visit.start
    booking.appointment_move(appointment_id=visit.pk, new_start=at(THURSDAY, 11), actor=front_desk)

    [notice] = notices(visit)
    visit.refresh_from_db()
    assert notice.kind == ReminderKind.RESCHEDULED_NOTICE
    assert notice.sequence == visit.sequence == 1
    assert notice.previous_start == old
    assert notice.reason == "" and notice.batch is None


def test_a_second_move_of_the_same_visit_plans_a_second_notice(visit, front_desk):
    booking.appointment_move(appointment_id=visit.pk, new_start=at(THURSDAY, 11), actor=front_desk)
    booking.appointment_move(appointment_id=visit.pk, new_start=at(THURSDAY, 14), actor=front_desk)

    first, second = notices(visit)
    assert (first.sequence, second.sequence) == (1, 2)
    assert second.previous_start == at(THURSDAY, 11)


def test_the_same_move_sent_twice_plans_one_notice(visit, front_desk):
    for _ in range(2):
        booking.appointment_move(
            appointment_id=visit.pk, new_start=at(THURSDAY, 11), actor=front_desk
        )

    assert len(notices(visit)) == 1
    visit.refresh_from_db()
    assert visit.sequence == 1


def test_a_staff_cancel_plans_one_notice(visit, front_desk):
    staff_cancel(visit, front_desk, "Patient phoned", reason=NoticeReason.PATIENT_REQUEST)

    [notice] = notices(visit)
    assert notice.kind == ReminderKind.CANCELLED_NOTICE
    assert notice.sequence == 1 and notice.previous_start is None
    assert notice.reason == NoticeReason.PATIENT_REQUEST


def test_a_change_by_a_command_or_task_tells_the_patient_too(visit):
    appointment_transition(appointment_id=visit.pk, to_status=AppointmentStatus.CANCELLED)

    assert len(notices(visit)) == 1


def test_a_silent_change_plans_nothing(visit, front_desk):
    staff_cancel(visit, front_desk, send=False)

    assert notices(visit) == []


def test_a_no_show_or_check_in_is_not_announced(visit, front_desk, clock):
    clock.move_to(at(WEDNESDAY, 10, 30))
    appointment_transition(
        appointment_id=visit.pk, to_status=AppointmentStatus.NO_SHOW, actor=front_desk
    )

    assert notices(visit) == []


def test_a_patient_without_email_gets_no_row_and_the_change_still_happens(clinic, front_desk):
    visit = consultation_at(clinic, at(WEDNESDAY, 10), patient=PatientFactory(email=""))
    appointment_transition(
        appointment_id=visit.pk, to_status=AppointmentStatus.CANCELLED, actor=front_desk
    )

    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CANCELLED and notices(visit) == []


def test_a_patient_with_no_email_who_agreed_to_texts_gets_the_notice_by_text(clinic, front_desk):
    patient = PatientFactory(
        first_name="Sam",
        email="",
        consent_email=False,
        consent_email_at=None,
        consent_sms=True,
        consent_sms_at=at(TUESDAY, 6),
    )
    visit = consultation_at(clinic, at(WEDNESDAY, 10), patient=patient)
    staff_cancel(visit, front_desk, reason=NoticeReason.CLINICIAN_UNAVAILABLE)

    [notice] = notices(visit)
    assert (notice.kind, notice.channel) == (ReminderKind.CANCELLED_NOTICE, "sms")
    sms = render_reminder(notice, channel="sms").sms
    assert "Sam" in sms and "cancelled" in sms and "10:00 a.m." in sms


@pytest.mark.parametrize("reason", ["Patient is depressed", "closed ", "CLOSURE"])
def test_a_reason_is_never_free_text(reason):
    with pytest.raises(ValueError):
        ChangeNotice(reason=reason)


# --- A patient's own change: exactly one notice, as before ----------------------------------------


@pytest.fixture
def own_visit(clinic) -> Appointment:
    return consultation_at(clinic, at(TUESDAY, 10) + dt.timedelta(days=7), patient=PatientFactory())


def test_a_patients_own_cancel_plans_exactly_one_notice(own_visit):
    online_consultation_cancel(patient_id=own_visit.patient_id, appointment_id=own_visit.pk)

    [notice] = notices(own_visit)
    assert notice.kind == ReminderKind.CANCELLED_NOTICE and notice.reason == ""


def test_a_patients_own_reschedule_plans_exactly_one_notice(own_visit):
    new = online_consultation_reschedule(
        patient_id=own_visit.patient_id,
        appointment_id=own_visit.pk,
        start=own_visit.start + dt.timedelta(days=1),
        idempotency_key="reschedule-once",
    )

    assert notices(own_visit) == []
    [notice] = notices(new)
    assert notice.kind == ReminderKind.RESCHEDULED_NOTICE and notice.previous_start is None


# --- The calendar's pages -------------------------------------------------------------------------


def test_the_calendar_move_page_plans_one_notice_with_the_reason_picked(visit, desk):
    url = reverse("scheduling:appointment_move", args=[visit.pk])
    data = {
        "date": THURSDAY.isoformat(),
        "time": "11:00",
        "notice_reason": NoticeReason.CLINICIAN_UNAVAILABLE,
    }

    assert desk.post(url, data).status_code == 302
    again = desk.post(url, data)  # the same form sent twice

    assert again.status_code == 302
    [notice] = notices(visit)
    assert notice.reason == NoticeReason.CLINICIAN_UNAVAILABLE
    assert notice.previous_start == at(WEDNESDAY, 10)


def test_the_calendar_move_page_offers_the_reasons(visit, desk):
    page = desk.get(
        reverse("scheduling:appointment_move", args=[visit.pk]), {"date": THURSDAY.isoformat()}
    )

    html = page.content.decode()
    assert 'name="notice_reason"' in html and "your clinician is not available then" in html


def test_the_calendar_cancel_page_plans_one_notice_even_sent_twice(visit, desk):
    url = reverse("scheduling:appointment_cancel", args=[visit.pk])
    data = {"reason": "Phoned in", "notice_reason": NoticeReason.SCHEDULE_CHANGE}

    assert desk.post(url, data).status_code == 302
    assert desk.post(url, data).status_code == 409  # already cancelled: refused, nothing new

    [notice] = notices(visit)
    assert notice.kind == ReminderKind.CANCELLED_NOTICE
    assert notice.reason == NoticeReason.SCHEDULE_CHANGE


@pytest.mark.parametrize("reason", ["the patient's blood pressure", "other"])
def test_a_typed_reason_is_a_form_error_and_changes_nothing(visit, desk, reason):
    response = desk.post(
        reverse("scheduling:appointment_cancel", args=[visit.pk]),
        {"reason": "Phoned in", "notice_reason": reason},
    )

    assert response.status_code == 400
    assert response.context["cancel_form"].errors["notice_reason"]
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED and notices(visit) == []


# --- The course page ------------------------------------------------------------------------------


@pytest.fixture
def course(front_desk):
    open_weekdays()
    kind = dict(
        duration_minutes=120, room_kind=RoomKind.INFUSION, self_bookable=False, needs_clearance=True
    )
    AppointmentTypeFactory(code="infusion", name="Infusion visit", **kind)
    RoomFactory(name="Infusion 1", kind=RoomKind.INFUSION)
    ClinicianFactory(display_name="Dr Course")
    patient = PatientFactory(first_name="Casey", email="casey@example.com")
    ClearanceDecisionFactory(submission=SubmittedScreeningFactory(patient=patient))
    starts = course_propose(
        patient_id=patient.pk,
        sessions=6,
        weeks=6,
        start_date=dt.date(2027, 1, 11),
        weekdays=[0, 3],
        window=(dt.time(9), dt.time(12)),
    )
    return course_book(patient_id=patient.pk, starts=starts, actor=front_desk)


def test_moving_a_course_session_plans_one_notice(course, desk):
    session = course.sessions.order_by("start")[2]
    later = session.start + dt.timedelta(hours=2)
    response = desk.post(
        reverse("scheduling:course_move", args=[course.pk]),
        {
            "appointment_id": str(session.pk),
            "new_start": to_local_input(later),
            "notice_reason": NoticeReason.ROOM_UNAVAILABLE,
        },
    )

    assert response.status_code == 302
    [notice] = notices(session)
    assert notice.sequence == 1 and notice.reason == NoticeReason.ROOM_UNAVAILABLE
    assert notice.previous_start == session.start
    others = Reminder.objects.filter(appointment__course=course, kind__in=NOTICES)
    assert others.count() == 1


def test_cancelling_a_course_plans_one_notice_per_session_in_one_batch(course, desk):
    url = reverse("scheduling:course_cancel", args=[course.pk])
    data = {"end_reason": "moved_away", "notice_reason": NoticeReason.PATIENT_REQUEST}

    assert desk.post(url, data).status_code == 302
    desk.post(url, data)  # sent twice: the course is no longer active

    rows = Reminder.objects.filter(appointment__course=course, kind__in=NOTICES)
    assert rows.count() == course.sessions.count() == 6
    assert {row.kind for row in rows} == {ReminderKind.CANCELLED_NOTICE}
    assert {row.sequence for row in rows} == {1}
    assert len({row.batch for row in rows}) == 1 and rows[0].batch is not None
    assert {row.reason for row in rows} == {NoticeReason.PATIENT_REQUEST}


# --- The visit screen's deferral ------------------------------------------------------------------


@pytest.fixture
def today_visit(clock) -> Appointment:
    """A cleared, escorted patient's infusion at 9:00 today; the clock at 9:05."""
    clock.move_to(at(TUESDAY, 9, 5))
    open_weekdays()
    patient = PatientFactory(escorted=True, cleared=True, email="dana@example.com")
    return AppointmentFactory(patient=patient, infusion=True, start=at(TUESDAY, 9))


def test_deferring_a_visit_plans_one_notice_without_the_clinical_reason(
    today_visit, front_desk, clinician_user, client_for
):
    check_in = reverse("scheduling:visit_check_in", args=[today_visit.pk])
    assert client_for(front_desk).post(check_in, CHECK_IN_FORM).status_code == 302

    response = client_for(clinician_user).post(
        reverse("scheduling:visit_defer", args=[today_visit.pk]),
        {"reason": "Blood pressure too high", "notice_reason": NoticeReason.SCHEDULE_CHANGE},
    )

    assert response.status_code == 302
    today_visit.refresh_from_db()
    assert today_visit.status == AppointmentStatus.DEFERRED
    [notice] = notices(today_visit)
    assert notice.kind == ReminderKind.CANCELLED_NOTICE
    assert notice.sequence == today_visit.sequence == 1
    assert notice.reason == NoticeReason.SCHEDULE_CHANGE
    message = render_reminder(notice)
    assert "Blood pressure" not in message.text and "blood pressure" not in message.html
    [(_name, ics, _type)] = message.attachments
    assert b"STATUS:CANCELLED" in ics and b"SEQUENCE:1" in ics  # the entry leaves their calendar


def test_the_desk_deferring_for_alcohol_tells_the_patient_once(today_visit, front_desk, client_for):
    response = client_for(front_desk).post(
        reverse("scheduling:visit_check_in", args=[today_visit.pk]),
        {**CHECK_IN_FORM, "alcohol_or_drugs": "yes"},
    )

    assert response.status_code == 302
    [notice] = notices(today_visit)
    assert notice.kind == ReminderKind.CANCELLED_NOTICE and notice.reason == ""
