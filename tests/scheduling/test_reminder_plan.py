"""Reminder planning: the pure plan (kinds, channels, due times, DST, quiet hours) and the services
that write it in the booking's transactions (book, move, cancel, no-show, defer, complete)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from scheduling.booking import appointment_book, appointment_move
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BookedVia,
    Reminder,
    ReminderState,
)
from scheduling.reminder_plan import (
    CONSULTATION,
    OTHER,
    TREATMENT,
    ReminderTimes,
    plan_reminders,
    reminders_replan,
)
from scheduling.transitions import appointment_transition
from tests.clinic_time import LA, TUESDAY, at
from tests.factories import SubmittedScreeningFactory
from tests.scheduling.reminder_support import consenting_patient, reminder_clinic
from tests.scheduling.visit_walk import complete_infusion, desk_user

UTC = dt.UTC


def plan(**overrides):
    args = {
        "appointment_kind": CONSULTATION,
        "start": at(dt.date(2027, 1, 8), 10),  # Friday 10:00
        "end": at(dt.date(2027, 1, 8), 11),
        "now": at(dt.date(2027, 1, 4), 10),  # Monday 10:00
        "email_ok": True,
        "sms_ok": True,
        "intake_done": False,
        "tz": LA,
        "times": ReminderTimes(),
    }
    args.update(overrides)
    return plan_reminders(**args)


def keys(result):
    return {(kind, channel) for kind, channel, _ in result}


def due(result, kind, channel):
    return next(when for k, c, when in result if (k, c) == (kind, channel))


# --- The pure plan ------------------------------------------------------------------------------


def test_consultation_gets_confirmation_24h_and_nudge_on_both_channels():
    result = plan()
    assert keys(result) == {
        (kind, channel)
        for kind in ("confirmation", "paperwork_72h", "consultation_24h", "intake_nudge_48h")
        for channel in ("email", "sms")
    }
    now = at(dt.date(2027, 1, 4), 10)
    assert due(result, "confirmation", "email") == now
    assert due(result, "consultation_24h", "email") == at(dt.date(2027, 1, 7), 10)
    assert due(result, "intake_nudge_48h", "sms") == at(dt.date(2027, 1, 6), 10)
    assert due(result, "paperwork_72h", "email") == at(dt.date(2027, 1, 5), 10)
    assert [when for *_, when in result] == sorted(when for *_, when in result)
    assert all(when.tzinfo == UTC for *_, when in result)


def test_no_nudge_once_the_questionnaire_is_submitted():
    assert "intake_nudge_48h" not in {kind for kind, _, _ in plan(intake_done=True)}


def test_treatment_visit_gets_prep_check_in_two_hours_and_follow_up():
    start = at(dt.date(2027, 1, 8), 10)
    result = plan(appointment_kind=TREATMENT, start=start, end=start + dt.timedelta(hours=2))
    assert {kind for kind, _, _ in result} == {
        "confirmation",
        "paperwork_72h",
        "infusion_prep_48h",
        "check_in_link",
        "infusion_2h",
        "follow_up_next_day",
    }
    assert due(result, "infusion_prep_48h", "email") == at(dt.date(2027, 1, 6), 10)
    assert due(result, "paperwork_72h", "sms") == at(dt.date(2027, 1, 5), 10)
    assert due(result, "check_in_link", "email") == at(dt.date(2027, 1, 7), 10)
    assert due(result, "infusion_2h", "sms") == at(dt.date(2027, 1, 8), 8)
    assert due(result, "follow_up_next_day", "email") == at(dt.date(2027, 1, 9), 12)


def test_other_types_get_confirmation_and_a_24h_reminder():
    assert {kind for kind, _, _ in plan(appointment_kind=OTHER)} == {
        "confirmation",
        "consultation_24h",
    }


def test_channels_follow_consent_and_the_confirmation_email_goes_regardless():
    no_email = plan(email_ok=False)
    assert keys(no_email) == {
        ("confirmation", "email"),
        *{
            (k, "sms")
            for k in ("confirmation", "paperwork_72h", "consultation_24h", "intake_nudge_48h")
        },
    }
    no_sms = plan(sms_ok=False)
    assert {channel for _, channel, _ in no_sms} == {"email"}
    assert ("confirmation", "email") not in keys(plan(confirmation_email=False))
    assert "confirmation" not in {kind for kind, _, _ in plan(confirmation=False)}


def test_reminders_whose_time_has_passed_are_not_planned_except_the_confirmation():
    now = at(dt.date(2027, 1, 7), 14)  # 20 h before Friday 10:00
    assert {kind for kind, _, _ in plan(now=now)} == {"confirmation"}


def test_24h_reminder_across_the_spring_dst_change_is_elapsed_time():
    # DST starts Sunday 2027-03-14 02:00 in Los Angeles.
    start = dt.datetime(2027, 3, 15, 10, 0, tzinfo=LA)  # PDT, 17:00 UTC
    result = plan(
        start=start,
        end=start + dt.timedelta(hours=1),
        now=dt.datetime(2027, 3, 1, 10, 0, tzinfo=LA),
    )
    day_before = [when for kind, _, when in result if kind == "consultation_24h"]
    assert day_before == [dt.datetime(2027, 3, 14, 17, 0, tzinfo=UTC)] * 2  # once per channel
    assert day_before[0].astimezone(LA).hour == 10  # 10:00 PDT
    nudge = due(result, "intake_nudge_48h", "email")
    assert nudge == dt.datetime(2027, 3, 13, 17, 0, tzinfo=UTC)
    assert (nudge.astimezone(LA).hour, nudge.astimezone(LA).tzname()) == (9, "PST")


def test_sms_in_quiet_hours_moves_to_8am_and_email_does_not():
    start = at(dt.date(2027, 1, 8), 9, 30)
    result = plan(appointment_kind=TREATMENT, start=start, end=start + dt.timedelta(hours=2))
    assert due(result, "infusion_2h", "email") == at(dt.date(2027, 1, 8), 7, 30)
    assert due(result, "infusion_2h", "sms") == at(dt.date(2027, 1, 8), 8)
    late_night = plan(now=at(dt.date(2027, 1, 4), 23, 15))
    assert due(late_night, "confirmation", "sms") == at(dt.date(2027, 1, 5), 8)
    assert due(late_night, "confirmation", "email") == at(dt.date(2027, 1, 4), 23, 15)


def test_sms_not_planned_when_quiet_hours_last_until_the_visit():
    start = at(dt.date(2027, 1, 8), 8)
    result = plan(appointment_kind=TREATMENT, start=start, end=start + dt.timedelta(hours=2))
    assert ("infusion_2h", "email") in keys(result)
    assert ("infusion_2h", "sms") not in keys(result)


def test_quiet_hour_boundaries():
    edge = plan(now=at(dt.date(2027, 1, 4), 20, 59))
    assert due(edge, "confirmation", "sms") == at(dt.date(2027, 1, 4), 20, 59)
    early = plan(now=at(dt.date(2027, 1, 5), 7, 59))
    assert due(early, "confirmation", "sms") == at(dt.date(2027, 1, 5), 8)


# --- Services in the booking transactions ---------------------------------------------------

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=LA)  # Monday
FRIDAY = dt.date(2027, 1, 8)


@pytest.fixture
def clinic(db):
    with time_machine.travel(NOW, tick=False):
        yield reminder_clinic()


def rows(appointment_id):
    return {(r.kind, r.channel): r for r in Reminder.objects.filter(appointment_id=appointment_id)}


def test_booking_writes_the_plan(clinic):
    patient = consenting_patient()
    appointment = appointment_book(
        patient_id=patient.pk, appointment_type_id=clinic.consultation.pk, start=at(FRIDAY, 10)
    )
    planned = rows(appointment.pk)
    assert set(planned) == {
        (kind, channel)
        for kind in ("confirmation", "paperwork_72h", "consultation_24h", "intake_nudge_48h")
        for channel in ("email", "sms")
    }
    assert {r.state for r in planned.values()} == {ReminderState.PENDING}
    assert planned["consultation_24h", "email"].due_at == at(dt.date(2027, 1, 7), 10)
    assert planned["confirmation", "email"].due_at == NOW


def test_online_booking_plans_its_confirmation_by_email_and_text(clinic):
    patient = consenting_patient()
    appointment = appointment_book(
        patient_id=patient.pk,
        appointment_type_id=clinic.consultation.pk,
        start=at(FRIDAY, 10),
        via=BookedVia.ONLINE,
    )
    assert ("confirmation", "email") in rows(appointment.pk)
    assert ("confirmation", "sms") in rows(appointment.pk)


def test_submitted_screening_means_no_nudge(clinic):
    patient = consenting_patient()
    SubmittedScreeningFactory(patient=patient)
    appointment = appointment_book(
        patient_id=patient.pk, appointment_type_id=clinic.consultation.pk, start=at(FRIDAY, 10)
    )
    assert "intake_nudge_48h" not in {kind for kind, _ in rows(appointment.pk)}


def test_a_failing_booking_leaves_no_reminders(clinic, monkeypatch):
    first = consenting_patient()
    appointment_book(
        patient_id=first.pk,
        appointment_type_id=clinic.consultation.pk,
        start=at(FRIDAY, 10),
        room_id=clinic.room.pk,
    )
    second = consenting_patient()
    with pytest.raises(SchedulingError):
        appointment_book(
            patient_id=second.pk,
            appointment_type_id=clinic.consultation.pk,
            start=at(FRIDAY, 10),
            room_id=clinic.room.pk,
        )
    # A failure after the rows are written rolls them back with the appointment.
    # The booking's audit event is written through scheduling.audit.
    import scheduling.audit

    def boom(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(scheduling.audit, "audit_record", boom)
    with pytest.raises(RuntimeError):
        appointment_book(
            patient_id=second.pk, appointment_type_id=clinic.consultation.pk, start=at(FRIDAY, 14)
        )
    assert not Appointment.objects.filter(patient=second).exists()
    assert not Reminder.objects.filter(appointment__patient=second).exists()


def test_move_replans_pending_rows_and_leaves_sent_ones(clinic):
    patient = consenting_patient()
    appointment = appointment_book(
        patient_id=patient.pk, appointment_type_id=clinic.consultation.pk, start=at(FRIDAY, 10)
    )
    Reminder.objects.filter(appointment=appointment, kind="confirmation").update(
        state=ReminderState.SENT
    )
    appointment_move(appointment_id=appointment.pk, new_start=at(FRIDAY, 15), actor=desk_user())
    planned = rows(appointment.pk)
    assert planned["consultation_24h", "email"].due_at == at(dt.date(2027, 1, 7), 15)
    assert planned["intake_nudge_48h", "sms"].due_at == at(dt.date(2027, 1, 6), 15)
    assert planned["consultation_24h", "sms"].state == ReminderState.PENDING
    assert {planned["confirmation", c].state for c in ("email", "sms")} == {ReminderState.SENT}


def test_move_closer_cancels_reminders_whose_time_has_passed(clinic):
    patient = consenting_patient()
    appointment = appointment_book(
        patient_id=patient.pk, appointment_type_id=clinic.consultation.pk, start=at(FRIDAY, 10)
    )
    # 26 h ahead
    appointment_move(appointment_id=appointment.pk, new_start=at(TUESDAY, 10), actor=desk_user())
    planned = rows(appointment.pk)
    assert planned["consultation_24h", "email"].state == ReminderState.PENDING
    assert planned["intake_nudge_48h", "email"].state == ReminderState.CANCELLED
    assert planned["confirmation", "email"].state == ReminderState.PENDING  # still to go out


@pytest.mark.parametrize(
    "status", [AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, AppointmentStatus.DEFERRED]
)
def test_cancel_no_show_and_defer_cancel_pending_rows(clinic, status):
    patient = consenting_patient()
    appointment = appointment_book(
        patient_id=patient.pk, appointment_type_id=clinic.consultation.pk, start=at(FRIDAY, 10)
    )
    Reminder.objects.filter(appointment=appointment, kind="confirmation").update(
        state=ReminderState.SENT
    )
    # On the visit's day, after its start: a no-show is recorded then, a deferral that day.
    with time_machine.travel(at(FRIDAY, 10, 30), tick=False):
        appointment_transition(appointment_id=appointment.pk, to_status=status, actor=desk_user())
    states = {key: r.state for key, r in rows(appointment.pk).items()}
    assert states["confirmation", "email"] == ReminderState.SENT
    # A visit staff call off gets its notice (scheduling.notices); a no-show gets none.
    notice = states.pop(("cancelled_notice", "email"), None)
    assert (notice is not None) == (status != AppointmentStatus.NO_SHOW)
    assert {s for (k, _), s in states.items() if k != "confirmation"} == {ReminderState.CANCELLED}
    # Nothing comes back for a cancelled appointment.
    assert reminders_replan(appointment_id=appointment.pk) == []


def test_completing_a_visit_keeps_only_the_follow_up(clinic):
    patient = consenting_patient(cleared=True)
    appointment = appointment_book(
        patient_id=patient.pk, appointment_type_id=clinic.infusion.pk, start=at(FRIDAY, 10)
    )
    complete_infusion(appointment, now=at(FRIDAY, 9, 50))
    states = {key: r.state for key, r in rows(appointment.pk).items()}
    assert {s for (k, _), s in states.items() if k == "follow_up_next_day"} == {
        ReminderState.PENDING
    }
    assert {s for (k, _), s in states.items() if k != "follow_up_next_day"} == {
        ReminderState.CANCELLED
    }
