"""Demo data: an obviously fake clinic to click through. Idempotent: running it again tops up what
is missing and resets the demo logins, and never duplicates anything.

Every patient here is invented (example.test addresses, 555-01xx phone numbers).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from typing import Any

import holidays
from django.contrib.auth.models import Group, User
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from demo.stories import seed_stories
from intake.consent import consent_set
from intake.decisions import clearance_decide, flag_acknowledge
from intake.examples import complete_answers
from intake.models import (
    ClearanceDecision,
    ConsentChannel,
    ConsentSource,
    DecisionKind,
    IntakeSubmission,
    OnCallClinician,
    OnCallRole,
    Patient,
)
from intake.questions import SECTION_KEYS
from intake.referrals import ReferralDetails, referral_receive, referral_status_set
from intake.screening import intake_submit, submission_open
from propel.roles import Role
from propel.second_factor import BACKUP_CODE_DIGITS
from scheduling.booking import appointment_book
from scheduling.errors import SchedulingError
from scheduling.fhir.access import fhir_client_with_secret, scope_for
from scheduling.fhir.registry import REGISTRY
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Clinician,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
    RoomKind,
    WorkingHours,
)
from scheduling.slots import clinic_tz, find_slots
from scheduling.transitions import appointment_transition

DEMO_PASSWORD = "propel-demo-password"  # noqa: S105 - printed on purpose, demo only
DEMO_BACKUP_CODES = [str(digit) * BACKUP_CODE_DIGITS for digit in range(1, 10)]
DEMO_EMAIL_DOMAIN = "example.test"
# The EHR's API client (issue 23): printed on start, like the staff password; demo only.
DEMO_FHIR_CLIENT_ID = "propel-demo-ehr"
DEMO_FHIR_SECRET = "propel-demo-fhir-secret"  # noqa: S105 - printed on purpose, demo only

STAFF = [
    # username, role, clinician name shown (None for non-clinicians), weekdays worked
    ("frontdesk", Role.FRONT_DESK, None, ()),
    ("admin", Role.ADMIN, None, ()),
    ("clinician1", Role.CLINICIAN, "Dr. Ada Placeholder (demo)", (0, 1, 2, 3, 4, 5)),
    ("clinician2", Role.CLINICIAN, "Dr. Ben Sample (demo)", (0, 1, 2, 3, 4)),
    ("clinician3", Role.CLINICIAN, "NP Cara Testwell (demo)", (0, 2, 4)),
]
ROOMS = [
    ("Consult Room A", RoomKind.CONSULT),
    ("Consult Room B", RoomKind.CONSULT),
    ("Infusion Suite 1", RoomKind.INFUSION),
    ("Infusion Suite 2", RoomKind.INFUSION),
    ("Infusion Suite 3", RoomKind.INFUSION),
    ("Infusion Suite 4", RoomKind.INFUSION),
]
APPOINTMENT_TYPES = [
    # code, name, minutes, room kind, self-bookable, needs clearance
    ("consultation", "Consultation", 60, RoomKind.CONSULT, True, False),
    ("infusion", "Infusion visit", 120, RoomKind.INFUSION, False, True),
    ("maintenance", "Maintenance infusion", 120, RoomKind.INFUSION, False, True),
    ("follow-up", "Follow-up", 30, RoomKind.CONSULT, False, False),
]
FIRST_NAMES = [
    "Avery",
    "Blake",
    "Casey",
    "Devon",
    "Emery",
    "Finley",
    "Gray",
    "Harper",
    "Indigo",
    "Jules",
]
LAST_NAMES = ["Example", "Sample", "Placeholder"]
PATIENT_COUNT = 30
# One demo patient in this many ticked the box for text reminders.
SMS_CONSENT_EVERY = 3


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    totp_secret: str


def demo_totp_key(username: str) -> str:
    """A fixed 20-byte TOTP key per demo user (hex), so the printed secret survives a re-seed."""
    return hashlib.sha1(f"propel-demo-{username}".encode()).hexdigest()  # noqa: S324


def _base32(hex_key: str) -> str:
    return base64.b32encode(bytes.fromhex(hex_key)).decode()


def seed_staff() -> list[DemoLogin]:
    logins = []
    for username, role, clinician_name, weekdays in STAFF:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@staff.{DEMO_EMAIL_DOMAIN}"}
        )
        user.set_password(DEMO_PASSWORD)
        user.first_name, user.last_name = "Demo", role.value
        user.is_staff = role == Role.ADMIN
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        totp, _ = TOTPDevice.objects.get_or_create(
            user=user, name="Authenticator app", defaults={"key": demo_totp_key(username)}
        )
        if totp.key != demo_totp_key(username) or not totp.confirmed:
            totp.key, totp.confirmed = demo_totp_key(username), True
            totp.save()
        backup, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
        backup.token_set.all().delete()
        StaticToken.objects.bulk_create(
            StaticToken(device=backup, token=code) for code in DEMO_BACKUP_CODES
        )
        if clinician_name:
            clinician, _ = Clinician.objects.update_or_create(
                user=user, defaults={"display_name": clinician_name, "active": True}
            )
            for weekday in weekdays:
                ends = dt.time(13) if weekday == 5 else dt.time(19)
                WorkingHours.objects.get_or_create(
                    clinician=clinician,
                    weekday=weekday,
                    defaults={"starts": dt.time(9), "ends": ends},
                )
        logins.append(DemoLogin(username, role.value, _base32(demo_totp_key(username))))
    return logins


# The crisis rota (intake.crisis): who is texted about a crisis answer, in order, and the admin
# told at every escalation step. Obviously fake 555-01xx numbers.
ON_CALL = [
    ("clinician1", OnCallRole.ROTA, "+19165550191"),
    ("clinician2", OnCallRole.ROTA, "+19165550192"),
    ("clinician3", OnCallRole.ROTA, "+19165550193"),
    ("admin", OnCallRole.ESCALATION, "+19165550199"),
]


def seed_on_call() -> None:
    for order, (username, role, mobile) in enumerate(ON_CALL):
        OnCallClinician.objects.update_or_create(
            user=User.objects.get(username=username),
            role=role,
            defaults={"mobile": mobile, "order": order, "active": True},
        )


def seed_clinic(today: dt.date) -> None:
    for name, kind in ROOMS:
        Room.objects.get_or_create(name=name, defaults={"kind": kind})
    for code, name, minutes, kind, self_bookable, needs_clearance in APPOINTMENT_TYPES:
        AppointmentType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "duration_minutes": minutes,
                "room_kind": kind,
                "self_bookable": self_bookable,
                "needs_clearance": needs_clearance,
            },
        )
    if not OpeningHours.objects.exists():
        OpeningHours.objects.bulk_create(
            OpeningHours(weekday=weekday, opens=dt.time(9), closes=dt.time(19))
            for weekday in range(5)
        )
    federal = holidays.country_holidays("US", years=[today.year, today.year + 1])
    # From tomorrow: the demo is open on the day it is tried, even on a holiday.
    upcoming = sorted((day, name) for day, name in federal.items() if day > today)[:4]
    for day, name in upcoming:
        Closure.objects.get_or_create(start_date=day, end_date=day, defaults={"reason": name})
    if not ExtraOpening.objects.filter(date__gte=today).exists():
        saturday = today + dt.timedelta(days=7 + (5 - today.weekday()) % 7)
        while Closure.objects.filter(start_date__lte=saturday, end_date__gte=saturday).exists():
            saturday += dt.timedelta(days=7)
        ExtraOpening.objects.create(
            date=saturday, opens=dt.time(9), closes=dt.time(13), note="Open Saturday (staff only)"
        )


def seed_patients(rng: random.Random) -> list[Patient]:
    patients = []
    for index in range(PATIENT_COUNT):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]
        patient, _ = Patient.objects.get_or_create(
            email=f"{first.lower()}.{last.lower()}@{DEMO_EMAIL_DOMAIN}",
            defaults={
                "first_name": first,
                "last_name": last,
                "date_of_birth": dt.date(1950 + rng.randrange(50), rng.randrange(1, 13), 15),
                "mobile": f"+1916555{100 + index:04d}",
                # One in four reads Spanish first: their messages and pages are in Spanish and
                # staff see the "ES" badge (an interpreter may be needed).
                "preferred_language": "es" if index % 4 == 1 else "en",
            },
        )
        seed_consents(patient, index)
        patients.append(patient)
    return patients


def seed_consents(patient: Patient, index: int) -> None:
    """The same defaults as a real booking (intake.consent): email reminders on for everyone
    (each of them has an address), texts for the one in three who ticked the box. A channel the
    patient already said something about is left as it is, so running the seed again never undoes
    a choice made in the demo."""
    said = set(patient.consent_events.values_list("channel", flat=True))
    wanted = {ConsentChannel.EMAIL: True, ConsentChannel.SMS: index % SMS_CONSENT_EVERY == 0}
    for channel, given in wanted.items():
        if channel in said or not given:
            continue
        consent_set(
            patient_id=patient.pk,
            channel=channel,
            given=True,
            source=ConsentSource.BOOKING,
            now=patient.created_at,
        )


def seed_appointments(
    *, patients: list[Patient], today: dt.date, now: dt.datetime, rng: random.Random
) -> int:
    """Book consultations and follow-ups over the next three weeks through the real booking
    service, unless the demo patients already have upcoming appointments."""
    if Appointment.objects.active().filter(patient__in=patients, start__gte=now).exists():
        return 0
    booker = User.objects.get(username="frontdesk")
    booked = 0
    plan = [("consultation", patient) for patient in patients] + [
        ("follow-up", patient) for patient in patients[::3]
    ]
    for code, patient in plan:
        appointment_type = AppointmentType.objects.get(code=code)
        slots = find_slots(
            appointment_type=appointment_type,
            start_date=today,
            end_date=today + dt.timedelta(days=21),
            include_extra_openings=True,
            patient_id=patient.pk,
            not_before=now + dt.timedelta(minutes=30),
            step=dt.timedelta(minutes=30),
        )
        if not slots:
            continue
        slot = rng.choice(slots)
        try:
            appointment = appointment_book(
                patient_id=patient.pk,
                appointment_type_id=appointment_type.pk,
                start=slot.start,
                actor=booker,
                now=now,
            )
        except SchedulingError:
            continue
        booked += 1
        if booked % 11 == 0:
            appointment_transition(
                appointment_id=appointment.pk,
                to_status=AppointmentStatus.CANCELLED,
                actor=booker,
                reason="Demo: patient asked to cancel",
                now=now,
            )
    return booked


# Demo screenings: (patient index, changes to the low-risk example, submit?). Invented answers that
# show each kind of flag in the staff pages.
DEMO_SCREENINGS: list[tuple[int, dict[str, Any], bool]] = [
    (0, {}, True),
    (1, {"phq9_2": 2, "phq9_9": 1, "phq9_difficulty": 1}, True),
    (2, {"bp_diagnosed": "yes", "bp_treated": "yes", "bp_controlled": "no"}, True),
    (
        3,
        {
            "takes_medications": "yes",
            "medications": [
                {"name": "Lorazepam", "dose": "1", "unit": "mg", "times_per_day": 2},
                {"name": "Oxycodone", "dose": "10", "unit": "mg", "times_per_day": 3},
            ],
        },
        True,
    ),
    (4, {"breastfeeding": "yes", "gad7_1": 2, "gad7_2": 2}, True),
    (5, {}, False),
]


def seed_screenings(*, patients: list[Patient], now: dt.datetime) -> int:
    """Give a few demo patients a screening round (one left in progress), through the real
    screening services, unless they already have one."""
    submitted = 0
    for index, changes, submit in DEMO_SCREENINGS:
        patient = patients[index]
        if IntakeSubmission.objects.screenings().filter(patient=patient).exists():
            continue
        draft = submission_open(patient_id=patient.pk)
        IntakeSubmission.objects.filter(pk=draft.pk).update(
            answers=complete_answers(**changes, signature_name=str(patient)),
            completed_sections=list(SECTION_KEYS) if submit else list(SECTION_KEYS[:3]),
        )
        if submit:
            intake_submit(submission_id=draft.pk, now=now)
            submitted += 1
    return submitted


def seed_clearances(*, patients: list[Patient], now: dt.datetime, rng: random.Random) -> int:
    """A clinician clears two demo patients (acknowledging their flags first, as the rules
    require) and the front desk books each a first infusion, through the real services."""
    clinician = User.objects.get(username="clinician1")
    booker = User.objects.get(username="frontdesk")
    infusion = AppointmentType.objects.get(code="infusion")
    booked = 0
    for index in (0, 3):
        patient = patients[index]
        if ClearanceDecision.objects.filter(patient=patient).exists():
            continue
        submission = (
            IntakeSubmission.objects.screenings().submitted().filter(patient=patient).first()
        )
        if submission is None:
            continue
        for flag in submission.flags.all():
            flag_acknowledge(
                flag_id=flag.pk, actor=clinician, note="Demo: reviewed at consultation.", now=now
            )
        clearance_decide(
            submission_id=submission.pk, actor=clinician, kind=DecisionKind.CLEARED, now=now
        )
        today = now.astimezone(clinic_tz()).date()
        slots = find_slots(
            appointment_type=infusion,
            start_date=today + dt.timedelta(days=1),
            end_date=today + dt.timedelta(days=7),
            include_extra_openings=False,
            patient_id=patient.pk,
            step=dt.timedelta(hours=1),
        )
        if slots:
            appointment_book(
                patient_id=patient.pk,
                appointment_type_id=infusion.pk,
                start=rng.choice(slots[:8]).start,
                actor=booker,
                now=now,
            )
            booked += 1
    return booked


# Referrals from other offices waiting in the front desk's queue (intake.referrals): obviously fake.
DEMO_REFERRALS = (
    ("Avery", "Referralsample", "Depression: two medicines tried, no lasting response. [DEMO]", 3),
    ("Jordan", "Referralexample", "Cancer pain not controlled by current medicines. [DEMO]", 1),
    ("Casey", "Referraldemo", "PTSD with depression; therapy ongoing. [DEMO]", 0),
)


def seed_referrals(*, now: dt.datetime) -> int:
    """Three referrals sent through the public form, one already called."""
    for index, (first, last, reason, days_ago) in enumerate(DEMO_REFERRALS):
        referral = referral_receive(
            details=ReferralDetails(
                referrer_name=f"Dr. Demo Referrer {index + 1}",
                referrer_practice="Sample Psychiatry (demo)",
                referrer_phone="+19165550190",
                referrer_email=f"office{index + 1}@referrer.example",
                patient_first_name=first,
                patient_last_name=last,
                patient_date_of_birth=dt.date(1970 + 7 * index, 3, 14),
                patient_phone=f"+1916555018{index}",
                patient_email="",
                reason=reason,
            ),
            now=now - dt.timedelta(days=days_ago, hours=2),
        )
        if index == 0:
            referral_status_set(
                referral_id=referral.pk, status="contacted", note="Left a voicemail (demo)", now=now
            )
    return len(DEMO_REFERRALS)


def seed_fhir_client() -> None:
    """The demo EHR's read-only client with every scope the API serves (secret reset each run)."""
    fhir_client_with_secret(
        client_id=DEMO_FHIR_CLIENT_ID,
        name="Demo EHR (demo)",
        scopes=[scope_for(resource_type) for resource_type in REGISTRY],
        secret=DEMO_FHIR_SECRET,
    )


def seed_demo(*, now: dt.datetime) -> tuple[list[DemoLogin], int]:
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    today = now.astimezone(clinic_tz()).date()
    with transaction.atomic():
        logins = seed_staff()
        seed_on_call()
        seed_fhir_client()
        seed_clinic(today)
        patients = seed_patients(rng)
    booked = seed_appointments(patients=patients, today=today, now=now, rng=rng)
    seed_screenings(patients=patients, now=now)
    booked += seed_clearances(patients=patients, now=now, rng=rng)
    seed_stories(patients=patients, now=now)
    seed_referrals(now=now)
    return logins, booked
