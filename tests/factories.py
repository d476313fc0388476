"""factory_boy factories with obviously fake, sensible defaults."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import Group, User

from intake.models import Patient
from propel.roles import Role
from scheduling.models import (
    Appointment,
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
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.propel.example")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Staffer{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: Role | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted.value)[0])
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    first_name = factory.Sequence(lambda n: f"Testy{n}")
    last_name = "McFakeface"
    date_of_birth = dt.date(1970, 1, 1)
    email = factory.Sequence(lambda n: f"patient{n}@example.test")
    mobile = "+19165550100"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    name = factory.Sequence(lambda n: f"Room {n}")
    kind = RoomKind.CONSULT


class ClinicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinician
        skip_postgeneration_save = True

    display_name = factory.Sequence(lambda n: f"Dr Example {n}")

    @factory.post_generation
    def weekday_hours(self, create: bool, extracted: object, **kwargs: object) -> None:
        """By default a clinician works Monday-Saturday 9-19 (pass weekday_hours=False for none)."""
        if create and extracted is not False:
            for weekday in range(6):
                WorkingHours.objects.create(
                    clinician=self, weekday=weekday, starts=dt.time(9), ends=dt.time(19)
                )


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType
        django_get_or_create = ("code",)

    code = "consultation"
    name = "Consultation"
    duration_minutes = 60
    room_kind = RoomKind.CONSULT
    self_bookable = True


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
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    room = factory.SubFactory(RoomFactory)
    clinician = factory.SubFactory(ClinicianFactory)
    start = dt.datetime(2027, 1, 5, 17, 0, tzinfo=dt.UTC)  # 09:00 Pacific
    end = factory.LazyAttribute(lambda a: a.start + a.appointment_type.duration)


def open_weekdays(opens: dt.time = dt.time(9), closes: dt.time = dt.time(19)) -> None:
    """The clinic's real hours: Monday to Friday, 9am to 7pm."""
    for weekday in range(5):
        OpeningHoursFactory(weekday=weekday, opens=opens, closes=closes)
