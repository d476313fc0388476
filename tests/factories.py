"""factory_boy factories with obviously fake, sensible defaults."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import factory
from django.contrib.auth.models import Group, User
from django.urls import reverse

from intake.answers import section_entries
from intake.examples import complete_answers, complete_check_in_answers
from intake.links import patient_link_token
from intake.models import IntakeSubmission, Patient
from intake.questions import CHECK_IN_SECTION_KEYS, SCREENING, SECTION_KEYS
from propel.roles import Role
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

TEST_PASSWORD = "correct horse battery staple 42"


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user; `role=Role.X` or the traits `front_desk`, `clinician`, `admin` give a role."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.propel.example")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Staffer{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)
    role = None

    class Params:
        front_desk = factory.Trait(role=Role.FRONT_DESK)
        clinician = factory.Trait(role=Role.CLINICIAN)
        admin = factory.Trait(role=Role.ADMIN)

    @classmethod
    def _create(cls, model_class, *args, role: Role | None = None, **kwargs) -> User:
        # The role is a group, added once the user exists (a trait cannot reach a post-generation
        # hook, so it is taken here).
        user = super()._create(model_class, *args, **kwargs)
        if role:
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        return user

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results=None) -> None:
        if create:
            instance.save()  # the password, set after the user was created


class PatientFactory(factory.django.DjangoModelFactory):
    """A patient; `escorted=True` has an escort on file, `cleared=True` (or `cleared=<date>`) a
    clinician's clearance for infusions (see `clear_patient`)."""

    class Meta:
        model = Patient
        skip_postgeneration_save = True

    first_name = factory.Sequence(lambda n: f"Testy{n}")
    last_name = "McFakeface"
    date_of_birth = dt.date(1970, 1, 1)
    email = factory.Sequence(lambda n: f"patient{n}@example.test")
    mobile = "+19165550100"

    class Params:
        escorted = factory.Trait(escort_name="Sam Driver", escort_phone="+19165550111")

    @factory.post_generation
    def cleared(self, create: bool, extracted: bool | dt.date, **kwargs: object) -> None:
        if create and extracted:
            clear_patient(self, **({} if extracted is True else {"valid_until": extracted}))


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    name = factory.Sequence(lambda n: f"Room {n}")
    kind = RoomKind.CONSULT

    class Params:
        infusion = factory.Trait(kind=RoomKind.INFUSION)


class ClinicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinician
        skip_postgeneration_save = True

    display_name = factory.Sequence(lambda n: f"Dr Example {n}")

    @factory.post_generation
    def weekday_hours(self, create: bool, extracted: object, **kwargs: object) -> None:
        """By default a clinician works Monday-Saturday 9-19 (pass weekday_hours=False for none)."""
        if create and extracted is not False:
            WorkingHours.objects.bulk_create(
                WorkingHours(clinician=self, weekday=weekday, starts=dt.time(9), ends=dt.time(19))
                for weekday in range(6)
            )


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    """The self-bookable consultation; `infusion=True` is the staff-booked infusion visit that
    needs a clearance (`maintenance=True` the same as "Maintenance infusion")."""

    class Meta:
        model = AppointmentType
        django_get_or_create = ("code",)

    code = "consultation"
    name = "Consultation"
    duration_minutes = 60
    room_kind = RoomKind.CONSULT
    self_bookable = True

    class Params:
        infusion = factory.Trait(
            code="infusion",
            name="Infusion visit",
            duration_minutes=120,
            room_kind=RoomKind.INFUSION,
            self_bookable=False,
            needs_clearance=True,
        )
        maintenance = factory.Trait(infusion=True, code="maintenance", name="Maintenance infusion")


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    weekday = 0
    opens = dt.time(9)
    closes = dt.time(19)


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    start_date = dt.date(2027, 1, 1)
    end_date = factory.SelfAttribute("start_date")
    reason = "New Year's Day"


class ExtraOpeningFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExtraOpening

    date = dt.date(2027, 1, 9)
    opens = dt.time(9)
    closes = dt.time(13)
    note = "Open Saturday"


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A consultation; `infusion=True` an infusion visit in an infusion room, `checked_in=True`
    with the patient checked in."""

    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    room = factory.SubFactory(RoomFactory)
    clinician = factory.SubFactory(ClinicianFactory)
    start = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)  # 09:00 Pacific
    end = factory.LazyAttribute(lambda a: a.start + a.appointment_type.duration)

    class Params:
        infusion = factory.Trait(
            appointment_type=factory.SubFactory(AppointmentTypeFactory, infusion=True),
            room=factory.SubFactory(RoomFactory, infusion=True),
        )
        checked_in = factory.Trait(status=AppointmentStatus.CHECKED_IN)


def open_weekdays(opens: dt.time = dt.time(9), closes: dt.time = dt.time(19)) -> None:
    """The clinic's real hours: Monday to Friday, 9am to 7pm."""
    for weekday in range(5):
        OpeningHoursFactory(weekday=weekday, opens=opens, closes=closes)


def consult_clinic() -> SimpleNamespace:
    """A small clinic open Monday to Friday 9-7 with the self-bookable consultation, one consult
    room ("Consult A") and one clinician ("Dr Example")."""
    open_weekdays()
    return SimpleNamespace(
        consultation=AppointmentTypeFactory(),
        room=RoomFactory(name="Consult A"),
        clinician=ClinicianFactory(display_name="Dr Example"),
    )


# --- Screening rounds -------------------------------------------------------------------------


class IntakeSubmissionFactory(factory.django.DjangoModelFactory):
    """A draft round with no answers; `complete=True` gives every step answered (low risk)."""

    class Meta:
        model = IntakeSubmission

    patient = factory.SubFactory(PatientFactory)
    round = 1
    answers = factory.LazyFunction(dict)
    completed_sections = factory.LazyFunction(list)

    class Params:
        complete = factory.Trait(
            answers=factory.LazyFunction(complete_answers),
            completed_sections=factory.LazyFunction(lambda: list(SECTION_KEYS)),
        )


class CheckInSubmissionFactory(IntakeSubmissionFactory):
    """A draft pre-infusion check-in round; `complete=True` gives every step answered (nothing
    changed, no alcohol)."""

    kind = "check_in"

    class Params:
        complete = factory.Trait(
            answers=factory.LazyFunction(complete_check_in_answers),
            completed_sections=factory.LazyFunction(lambda: list(CHECK_IN_SECTION_KEYS)),
        )


def section_post_data(section_key: str, answers: dict, kind: str = SCREENING) -> dict:
    """The form data a browser sends for one questionnaire step with these (stored) answers."""
    data: dict = {}
    for entry in section_entries(section_key, kind):
        if entry.key not in answers:
            continue
        value = answers[entry.key]
        if entry.kind == "medications":
            data["medications-rows"] = str(max(3, len(value)))
            for index, row in enumerate(value):
                for part in ("name", "dose", "unit", "times_per_day"):
                    if row.get(part) is not None:
                        data[f"medications-{index}-{part}"] = str(row[part])
        elif value is True:
            data[entry.key] = "on"
        elif value is False:
            continue
        elif isinstance(value, list):
            data[entry.key] = [str(v) for v in value]
        else:
            data[entry.key] = str(value)
    return data


def check_in_step_url(patient: Patient, submission: IntakeSubmission, section_key: str) -> str:
    """One step of the patient's pre-visit check-in round, by a signed link made now (a link made
    at another time may have expired by then)."""
    return reverse(
        "intake:check_in_section",
        kwargs={
            "token": patient_link_token(patient),
            "round": submission.round,
            "section_key": section_key,
        },
    )


# --- Online booking -----------------------------------------------------------------------------


class SlotHoldFactory(factory.django.DjangoModelFactory):
    """A live hold on a 60-minute consultation at Tuesday 5 January 2027, 10:00 Pacific."""

    class Meta:
        model = "scheduling.SlotHold"

    key = factory.Sequence(lambda n: f"test-hold-key-{n:08d}")
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    start = dt.datetime(2027, 1, 5, 18, 0, tzinfo=dt.UTC)
    end = factory.LazyAttribute(lambda h: h.start + h.appointment_type.duration)
    room = factory.SubFactory(RoomFactory)
    clinician = factory.SubFactory(ClinicianFactory)
    expires_at = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


# --- Clinician review (intake.decisions) --------------------------------------------------------


class SubmittedScreeningFactory(IntakeSubmissionFactory):
    """A complete screening round, sent on Monday 4 January 2027 (no flags unless added)."""

    answers = factory.LazyFunction(complete_answers)
    completed_sections = factory.LazyFunction(lambda: list(SECTION_KEYS))
    status = "submitted"
    submitted_at = dt.datetime(2027, 1, 4, 18, 0, tzinfo=dt.UTC)


class FlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "intake.Flag"

    submission = factory.SubFactory(SubmittedScreeningFactory)
    rule_id = factory.Sequence(lambda n: f"test_rule_{n}")
    severity = "review"
    title = factory.Sequence(lambda n: f"Test flag {n} needs a clinician's judgement")
    evidence = factory.LazyFunction(list)
    source = "Test source"


class CrisisAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "intake.CrisisAlert"

    submission = factory.SubFactory(SubmittedScreeningFactory)
    patient = factory.SelfAttribute("submission.patient")
    priority = "urgent"
    raised_at = factory.SelfAttribute("submission.submitted_at")


class ClearanceDecisionFactory(factory.django.DjangoModelFactory):
    """A clearance until 5 July 2027 of a sent round, by a clinician, decided on 4 January 2027;
    `declined=True` or `needs_information=True` the other decisions (no date, a reason)."""

    class Meta:
        model = "intake.ClearanceDecision"

    submission = factory.SubFactory(SubmittedScreeningFactory)
    patient = factory.SelfAttribute("submission.patient")
    kind = "cleared"
    valid_until = dt.date(2027, 7, 5)
    decided_by = factory.SubFactory(UserFactory, role=Role.CLINICIAN)
    decided_at = dt.datetime(2027, 1, 4, 20, 0, tzinfo=dt.UTC)

    class Params:
        declined = factory.Trait(kind="declined", valid_until=None, reason="Not suitable now.")
        needs_information = factory.Trait(
            kind="needs_information", valid_until=None, reason="Please tell us more."
        )


# --- Infusion courses (scheduling.courses.services) ---------------------------------------------


def infusion_type(code: str = "infusion", name: str = "Infusion visit") -> AppointmentType:
    """A 120-minute, staff-booked infusion in an infusion room that needs a clearance."""
    return AppointmentTypeFactory(infusion=True, code=code, name=name)


def consultation_at(clinic: SimpleNamespace, start: dt.datetime, **fields: object) -> Appointment:
    """The clinic's consultation (see `consult_clinic`) at `start`, in its room, with its
    clinician; `fields` set the rest (patient, status, ...)."""
    return AppointmentFactory(
        appointment_type=clinic.consultation,
        room=clinic.room,
        clinician=clinic.clinician,
        start=start,
        **fields,
    )


def infusion_clinic(
    *, room_name: str | None = None, clinician_name: str | None = None
) -> SimpleNamespace:
    """A clinic open Monday to Friday 9-7 with the infusion visit (`infusion_type`), one infusion
    room and one clinician (named as given, else the factories' names)."""
    open_weekdays()
    room = RoomFactory(infusion=True, **({"name": room_name} if room_name else {}))
    clinician = ClinicianFactory(**({"display_name": clinician_name} if clinician_name else {}))
    return SimpleNamespace(infusion=infusion_type(), room=room, clinician=clinician)


def clear_patient(patient: Patient, *, valid_until: dt.date = dt.date(2027, 7, 5)) -> object:
    """Clear `patient` for infusions until `valid_until` (decided 4 January 2027)."""
    return ClearanceDecisionFactory(
        submission=SubmittedScreeningFactory(patient=patient), valid_until=valid_until
    )


class ReferralFactory(factory.django.DjangoModelFactory):
    """A referral from a (fake) referring office, received 2027-01-04 17:00 UTC, new."""

    class Meta:
        model = "intake.Referral"

    referrer_name = "Dr. Test Referrer"
    referrer_practice = factory.Sequence(lambda n: f"Example Psychiatry {n}")
    referrer_phone = "+19165550100"
    referrer_email = factory.Sequence(lambda n: f"office{n}@referrer.example")
    patient_first_name = "Rowan"
    patient_last_name = factory.Sequence(lambda n: f"Referred{n}")
    patient_date_of_birth = dt.date(1979, 5, 17)
    patient_phone = "+19165550142"
    patient_email = ""
    reason = "Treatment-resistant depression; two SSRIs tried (fake example text)."
    received_at = dt.datetime(2027, 1, 4, 17, 0, tzinfo=dt.UTC)
    reference = factory.Sequence(lambda n: f"TST-{n:05d}"[:9])
