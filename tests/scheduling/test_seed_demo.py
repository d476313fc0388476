"""seed_demo builds an obviously fake, rule-abiding clinic and is safe to run again."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django_otp.plugins.otp_static.models import StaticToken

from intake.clearance import has_valid_clearance
from intake.consent import consent_set
from intake.models import (
    ClearanceDecision,
    ConsentEvent,
    ConsentSource,
    CrisisAlert,
    DecisionKind,
    Flag,
    IntakeSubmission,
    Patient,
    SubmissionStatus,
)
from propel.models import AuditEvent
from propel.roles import Role, roles_of
from scheduling.models import Appointment, Closure, ExtraOpening, OpeningHours, Room, RoomKind

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def seed() -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            Patient,
            Appointment,
            Room,
            Closure,
            ExtraOpening,
            OpeningHours,
            IntakeSubmission,
        )
    }


def test_seed_builds_the_clinic_the_design_describes():
    output = seed()
    assert Room.objects.filter(kind=RoomKind.CONSULT).count() == 2
    assert Room.objects.filter(kind=RoomKind.INFUSION).count() == 4
    assert sorted(OpeningHours.objects.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4]
    assert Patient.objects.count() == 30
    assert Closure.objects.filter(reason__icontains="Martin Luther King").exists()
    saturday = ExtraOpening.objects.get()
    assert saturday.date.weekday() == 5 and saturday.date > NOW.date()
    roles = {user.username: roles_of(user) for user in User.objects.all()}
    assert roles["frontdesk"] == {Role.FRONT_DESK}
    assert roles["admin"] == {Role.ADMIN}
    assert sum(Role.CLINICIAN in r for r in roles.values()) == 3
    assert "propel-demo-password" in output and "1111111111" in output


def test_demo_patients_are_obviously_fake():
    seed()
    assert all(
        email.endswith("@example.test") for email in Patient.objects.values_list("email", flat=True)
    )
    assert all("555" in str(mobile) for mobile in Patient.objects.values_list("mobile", flat=True))


def test_appointments_go_through_the_booking_service_and_obey_the_rules():
    seed()
    appointments = list(Appointment.objects.active())
    assert len(appointments) > 20
    assert (
        AuditEvent.objects.filter(action="appointment.booked").count()
        == Appointment.objects.count()
    )
    for first in appointments:
        for second in appointments:
            if first.pk < second.pk and first.start < second.end and second.start < first.end:
                assert first.room_id != second.room_id
                assert first.clinician_id != second.clinician_id
                assert first.patient_id != second.patient_id


def test_running_it_again_adds_nothing_and_resets_the_backup_codes():
    seed()
    before = counts()
    StaticToken.objects.filter(token="1111111111").delete()  # as if used
    seed()
    assert counts() == before
    assert StaticToken.objects.filter(token="1111111111").count() == 5


def test_seed_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(SystemExit):
        call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    assert not Patient.objects.exists()


def test_demo_screenings_show_each_kind_of_flag_through_the_real_services():
    seed()
    # Five from DEMO_SCREENINGS, four low-risk ones of the patients further along (demo.stories).
    assert IntakeSubmission.objects.filter(status=SubmissionStatus.SUBMITTED).count() == 5 + 4
    assert IntakeSubmission.objects.filter(status=SubmissionStatus.DRAFT).count() == 1
    severities = set(Flag.objects.values_list("severity", flat=True))
    assert {"urgent", "hard_stop", "review", "info"} <= severities
    assert CrisisAlert.objects.count() == 1
    assert AuditEvent.objects.filter(action="intake.submitted").count() == 5 + 4


def test_demo_clears_two_patients_and_books_their_first_infusions():
    seed()
    cleared = ClearanceDecision.objects.filter(kind=DecisionKind.CLEARED)
    assert cleared.count() == 2 + 4  # and the four further along (demo.stories)
    first_two = list(cleared.order_by("pk").values_list("patient", flat=True)[:2])
    first_infusions = Appointment.objects.filter(
        appointment_type__code="infusion", course=None, patient__in=first_two
    )
    assert first_infusions.count() == 2
    infusions = Appointment.objects.filter(appointment_type__code="infusion")
    assert all(has_valid_clearance(a.patient_id, a.start) for a in infusions)


def test_demo_has_a_crisis_rota_with_fake_numbers_and_an_admin_escalation_contact():
    from intake.models import OnCallClinician, OnCallRole

    seed()
    seed()
    rota = list(OnCallClinician.objects.filter(role=OnCallRole.ROTA).order_by("order"))
    assert [entry.user.username for entry in rota] == ["clinician1", "clinician2", "clinician3"]
    escalation = OnCallClinician.objects.get(role=OnCallRole.ESCALATION)
    assert escalation.user.username == "admin"
    for entry in [*rota, escalation]:
        assert str(entry.mobile).startswith("+191655501")


def test_demo_patients_follow_the_consent_defaults_and_get_reminders():
    seed()
    patients = Patient.objects.all()
    assert patients and all(p.email and p.consent_email for p in patients)
    texted = [p for p in patients if p.consent_sms]
    assert 0 < len(texted) < len(patients)
    events = ConsentEvent.objects.filter(source=ConsentSource.BOOKING)
    assert events.filter(channel="email", given=True).count() == len(patients)
    assert events.filter(channel="sms", given=True).count() == len(texted)
    # Every booking far enough ahead for its reminders has them planned by email.
    upcoming = Appointment.objects.filter(status="booked", start__gt=NOW + dt.timedelta(days=2))
    with_reminders = upcoming.filter(
        reminders__channel="email", reminders__kind__in=["consultation_24h", "infusion_prep_48h"]
    ).distinct()
    assert upcoming.exists() and with_reminders.count() == upcoming.count()
    # Running it again undoes no choice made in the demo.
    first = patients[0]
    consent_set(patient_id=first.pk, channel="email", given=False, source="email_link")
    seed()
    first.refresh_from_db()
    assert first.consent_email is False
