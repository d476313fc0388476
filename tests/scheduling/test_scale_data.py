"""seed_scale: a busy, obviously fake clinic for benchmarks that keeps every rule the services keep.

The clinic it builds on is made here with factories, shaped like seed_demo's (same types, hours,
rooms and staff) plus a closure and an existing booking to keep clear of. `now` is 10 March 2027,
so the window (26 weeks back, 8 ahead) crosses both DST changes (1 Nov 2026, 14 Mar 2027).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from io import StringIO
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import QuerySet
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from demo.management.commands.seed_scale import Command
from demo.scale_data import EMAIL_PREFIX, ScaleSeedError, scale_seed
from intake.answers import effective_answers
from intake.clearance import has_valid_clearance
from intake.eligibility import evaluate
from intake.models import (
    ClearanceDecision,
    CrisisAlert,
    DecisionKind,
    Flag,
    IntakeSubmission,
    Patient,
    SubmissionKind,
    SubmissionStatus,
)
from intake.scoring import score_all
from propel.roles import Role, roles_of
from scheduling.availability import works_during
from scheduling.courses.planner import check_course
from scheduling.courses.services import rules_from_settings
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    BookedVia,
    Clinician,
    CourseStatus,
    InfusionCourse,
    PreInfusionCheckIn,
    Reminder,
    Room,
    RoomKind,
    Visit,
    WorkingHours,
)
from scheduling.reminder_plan import appointment_kind, plan_reminders, reminder_times
from scheduling.slots import clinic_tz, load_calendar, load_clinician_hours
from tests.clinic_time import LA, at
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ClinicianFactory,
    ClosureFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    infusion_type,
    open_weekdays,
)

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2027, 3, 10, 12, 30, tzinfo=LA)
NEW_YEAR = dt.date(2027, 1, 1)


def build_demo_like_clinic() -> SimpleNamespace:
    """What seed_demo leaves that seed_scale reads: hours, types, rooms, staff, a booking."""
    open_weekdays()
    consultation = AppointmentTypeFactory()
    infusion_type()
    infusion_type("maintenance", "Maintenance infusion")
    AppointmentTypeFactory(
        code="follow-up", name="Follow-up", duration_minutes=30, self_bookable=False
    )
    rooms = [RoomFactory(name=f"Consult Room {n}") for n in "AB"]
    rooms += [RoomFactory(name=f"Infusion Suite {n}", kind=RoomKind.INFUSION) for n in range(4)]
    UserFactory(username="frontdesk", front_desk=True)
    clinicians = [
        ClinicianFactory(user=UserFactory(username=f"clinician{n}", clinician=True)) for n in (1, 2)
    ]
    part_time = ClinicianFactory(
        user=UserFactory(username="clinician3", clinician=True), weekday_hours=False
    )
    for weekday in (0, 2, 4):
        WorkingHours.objects.create(
            clinician=part_time, weekday=weekday, starts=dt.time(9), ends=dt.time(19)
        )
    ClosureFactory(start_date=NEW_YEAR)
    existing = AppointmentFactory(
        patient=PatientFactory(),
        appointment_type=consultation,
        room=rooms[0],
        clinician=clinicians[0],
        start=at(dt.date(2027, 3, 11), 10),
    )
    return SimpleNamespace(existing=existing)


def seed(**sizes: int) -> object:
    with time_machine.travel(NOW, tick=False):
        return scale_seed(**{"rooms": 10, "clinicians": 5, "seed": 7, **sizes}, now=NOW)


def scale_appointments() -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(patient__email__startswith=EMAIL_PREFIX)
        .select_related("appointment_type", "patient")
        .order_by("start", "pk")
    )


@pytest.fixture(scope="class")
def scaled(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    """One seeded clinic (300 appointments, 60 patients) shared by the read-only tests of the
    class, rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        clinic = build_demo_like_clinic()
        clinic.summary = seed(appointments=300, patients=60)
        yield clinic
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("scaled")
class TestThreeHundredAppointments:
    def test_counts_match_the_arguments(self, scaled):
        assert Patient.objects.filter(email__startswith=EMAIL_PREFIX).count() == 60
        assert len(list(scale_appointments())) == 300 == scaled.summary.appointments
        assert Room.objects.filter(active=True).count() == 10
        assert Clinician.objects.filter(active=True).count() == 5
        kinds = set(Appointment.objects.values_list("appointment_type__code", flat=True))
        assert kinds == {"consultation", "follow-up", "infusion", "maintenance"}
        statuses = set(scale_appointments().values_list("status", flat=True))
        assert {"booked", "completed", "cancelled", "no_show"} <= statuses

    def test_patients_are_obviously_fake(self):
        patient = Patient.objects.get(email=f"{EMAIL_PREFIX}00042@example.test")
        assert str(patient) == "Scale Patient 00042"
        mobiles = Patient.objects.filter(email__startswith=EMAIL_PREFIX).values_list(
            "mobile", flat=True
        )
        assert all(str(mobile).startswith("+191655501") for mobile in mobiles)

    def test_new_clinicians_get_demo_logins_and_the_clinics_hours(self):
        for username in ("scaleclinician01", "scaleclinician02"):
            user = User.objects.get(username=username)
            assert roles_of(user) == {Role.CLINICIAN}
            assert TOTPDevice.objects.get(user=user).confirmed
            assert StaticToken.objects.filter(device__user=user).count() == 9
            hours = WorkingHours.objects.filter(clinician__user=user)
            assert sorted(hours.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]

    def test_no_room_clinician_or_patient_is_ever_in_two_places(self, scaled):
        # The exclusion constraints already accepted every row; this says the same in Python,
        # the existing booking included.
        active = list(Appointment.objects.filter(status__in=ACTIVE_STATUSES))
        assert scaled.existing in active
        for column in ("room_id", "clinician_id", "patient_id"):
            by_resource = defaultdict(list)
            for appointment in active:
                by_resource[getattr(appointment, column)].append(appointment)
            for appointments in by_resource.values():
                appointments.sort(key=lambda a: a.start)
                for first, second in itertools.pairwise(appointments):
                    assert first.end <= second.start, (column, first.pk, second.pk)

    def test_every_appointment_is_inside_opening_and_working_hours_in_clinic_time(self):
        appointments = list(scale_appointments())
        first = appointments[0].start.astimezone(LA).date()
        last = appointments[-1].start.astimezone(LA).date()
        assert first >= NOW.date() - dt.timedelta(weeks=26)
        assert last <= NOW.date() + dt.timedelta(weeks=8)
        calendar = load_calendar(first, last)
        hours = load_clinician_hours()
        for a in appointments:
            assert a.end - a.start == a.appointment_type.duration
            assert calendar.is_open_for(a.start, a.end, include_extra=False), a.start
            assert works_during(hours[a.clinician_id], a.start, a.end, clinic_tz()), a.pk
            local = a.start.astimezone(LA)
            assert local.date() != NEW_YEAR and local.weekday() < 5
            assert dt.time(9) <= local.time() and a.end.astimezone(LA).time() <= dt.time(19)
        # Both sides of a DST change, at the same wall-clock hours.
        offsets = {a.start.astimezone(LA).utcoffset() for a in appointments}
        assert offsets == {dt.timedelta(hours=-8), dt.timedelta(hours=-7)}

    def test_every_treatment_visit_has_a_clearance_valid_that_day(self):
        treatments = [a for a in scale_appointments() if a.appointment_type.needs_clearance]
        assert treatments
        for a in treatments:
            assert has_valid_clearance(a.patient_id, a.start), a.pk
            decision = ClearanceDecision.objects.get(patient=a.patient_id)
            assert decision.kind == DecisionKind.CLEARED
            assert decision.decided_at < a.created_at  # cleared before it was booked
            assert not Flag.objects.filter(
                submission=decision.submission, acknowledgements__isnull=True
            ).exists()
            assert not CrisisAlert.objects.filter(
                patient=a.patient_id, acknowledged_at__isnull=True
            ).exists()

    def test_courses_keep_the_course_rules(self):
        rules = rules_from_settings()
        courses = list(InfusionCourse.objects.all())
        assert courses
        for course in courses:
            sessions = list(course.sessions.exclude(appointment_type__code="maintenance"))
            assert len(sessions) == course.planned_sessions
            assert rules.min_sessions <= len(sessions) <= rules.max_sessions
            starts = [s.start for s in sessions]
            assert check_course(starts, rules=rules, tz=LA, max_weeks=course.span_weeks) == []
            assert {s.created_at for s in sessions} == {course.created_at}
            assert all(s.appointment_type.code == "infusion" for s in sessions)
            maintenance = list(course.sessions.filter(appointment_type__code="maintenance"))
            if maintenance:
                assert course.status == CourseStatus.COMPLETED
                assert min(m.created_at for m in maintenance) >= max(s.end for s in sessions)

    def test_history_matches_each_appointments_status_and_time(self):
        for a in scale_appointments():
            changes = list(AppointmentStatusChange.objects.filter(appointment=a))
            assert changes[0].from_status == "" and changes[0].at == a.created_at
            assert changes[-1].to_status == a.status
            assert a.created_at < a.start and a.created_at <= NOW
            assert a.sequence == (1 if a.status == AppointmentStatus.CANCELLED else 0)
            if a.end <= NOW:
                assert a.status not in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
            if a.start > NOW:
                assert a.status in (AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED)
            if a.booked_via == BookedVia.ONLINE:
                assert a.appointment_type.self_bookable and a.idempotency_key
                assert a.start - a.created_at >= dt.timedelta(hours=24)

    def test_future_bookings_have_the_reminders_the_planner_plans(self):
        future = [a for a in scale_appointments() if a.start > NOW]
        assert future
        for a in future:
            rows = {(r.kind, r.channel) for r in Reminder.objects.filter(appointment=a)}
            if a.status != AppointmentStatus.BOOKED:
                assert not rows
                continue
            patient = a.patient
            screening = IntakeSubmission.objects.filter(
                patient=patient, kind="screening", submitted_at__lte=a.created_at
            )
            # A course's confirmation goes with its first session (maintenance: its own).
            confirmed = a.course_id is None or a.appointment_type.code == "maintenance"
            earlier = Appointment.objects.filter(course=a.course_id, start__lt=a.start)
            confirmed = confirmed or not earlier.exclude(appointment_type__code="maintenance")
            planned = plan_reminders(
                appointment_kind=appointment_kind(a),
                start=a.start,
                end=a.end,
                now=a.created_at,
                email_ok=patient.consent_email,
                sms_ok=patient.consent_sms,
                intake_done=screening.exists(),
                tz=LA,
                times=reminder_times(),
                confirmation=confirmed,
            )
            assert rows == {(kind, channel) for kind, channel, _ in planned}

    def test_screenings_store_the_real_scores_and_flags(self):
        rounds = IntakeSubmission.objects.filter(
            patient__email__startswith=EMAIL_PREFIX, status=SubmissionStatus.SUBMITTED
        )
        assert rounds.filter(kind=SubmissionKind.SCREENING).count() >= 40
        for submission in rounds.select_related("patient"):
            answers = effective_answers(submission.answers, submission.kind)
            if submission.kind == SubmissionKind.SCREENING:
                assert submission.scores == score_all(answers)
            results = evaluate(
                answers,
                date_of_birth=submission.patient.date_of_birth,
                today=submission.submitted_at.astimezone(LA).date(),
                kind=submission.kind,
            )
            stored = set(submission.flags.values_list("rule_id", flat=True))
            assert stored == {r.rule_id for r in results}

    def test_past_treatment_visits_have_a_check_in_and_vital_signs(self):
        done = [
            a
            for a in scale_appointments()
            if a.appointment_type.needs_clearance and a.status == AppointmentStatus.COMPLETED
        ]
        assert done
        for a in done:
            link = PreInfusionCheckIn.objects.get(appointment=a)
            assert link.submission.kind == SubmissionKind.CHECK_IN
            assert link.submission.submitted_at < a.start
            visit = Visit.objects.get(appointment=a)
            assert visit.gate_outcome == "proceed" and visit.discharged_at is not None
            assert visit.readings.filter(phase="before").exists()

    def test_a_second_run_is_refused(self):
        with pytest.raises(ScaleSeedError, match="already exist"):
            seed(appointments=10, patients=10)
        with pytest.raises(CommandError, match="already exist"):
            call_command("seed_scale", "--appointments", "10", stdout=StringIO())


def snapshot() -> list[tuple]:
    rows = scale_appointments().values_list(
        "patient__last_name",
        "appointment_type__code",
        "start",
        "room__name",
        "clinician__display_name",
        "status",
        "booked_via",
        "created_at",
    )
    decisions = ClearanceDecision.objects.values_list("patient__last_name", "kind", "decided_at")
    return [*rows, *sorted(decisions)]


@pytest.mark.django_db
def test_the_same_seed_makes_the_same_clinic():
    build_demo_like_clinic()
    runs = []
    for seed_value in (3, 3, 4):
        with transaction.atomic():
            seed(appointments=80, patients=20, seed=seed_value)
            runs.append(snapshot())
            transaction.set_rollback(True)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.django_db
def test_a_small_run_works():
    build_demo_like_clinic()
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(
            "seed_scale", "--appointments=10", "--patients=10", "--rooms=12", "--clinicians=8",
            stdout=out,
        )  # fmt: skip
    assert "10 scale patients, 10 appointments" in out.getvalue()
    assert len(out.getvalue().strip().splitlines()) == 1
    assert len(list(scale_appointments())) == 10
    assert Room.objects.count() == 12 and Clinician.objects.count() == 8


def test_the_defaults_are_the_bench_sizes():
    options = Command().create_parser("manage.py", "seed_scale").parse_args([])
    assert (options.appointments, options.patients, options.rooms, options.clinicians) == (
        10_000,
        2_000,
        12,
        8,
    )
    assert options.seed == 1


@pytest.mark.django_db
def test_production_mode_is_refused(settings):
    build_demo_like_clinic()
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_scale", "--appointments=10", "--patients=10", stdout=StringIO())
    assert not Patient.objects.filter(email__startswith=EMAIL_PREFIX).exists()


@pytest.mark.django_db
def test_it_needs_the_demo_clinic_first():
    with pytest.raises(ScaleSeedError, match="seed_demo"):
        seed(appointments=10, patients=10)


@pytest.mark.django_db
def test_a_volume_that_cannot_fit_is_refused_and_nothing_is_kept():
    build_demo_like_clinic()
    with pytest.raises(ScaleSeedError, match="fit"):
        seed(appointments=400, patients=1)
    assert not Patient.objects.filter(email__startswith=EMAIL_PREFIX).exists()
    assert Room.objects.count() == 6
