"""The clinic's resources and hours: rooms, clinicians and their working hours, appointment types,
opening hours, closures and extra openings."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class RoomKind(models.TextChoices):
    CONSULT = "consult", _("Consult room")
    INFUSION = "infusion", _("Infusion room")


def _opens_before_closes(prefix: str, start: str, end: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(**{f"{start}__lt": models.F(end)}), name=f"{prefix}_start_before_end"
    )


class Room(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=RoomKind.choices)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Clinician(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clinician",
    )
    display_name = models.CharField(_("name shown"), max_length=120)
    active = models.BooleanField(_("in practice"), default=True)
    # Bumped to revoke every calendar-feed link handed out for this clinician.
    feed_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class WorkingHours(models.Model):
    """A clinician's weekly hours; availability keeps them inside the clinic's opening hours."""

    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))

    class Meta:
        ordering = ["clinician", "weekday", "starts"]
        constraints = [_opens_before_closes("working_hours", "starts", "ends")]
        verbose_name_plural = _("working hours")

    def __str__(self) -> str:
        return (
            f"{self.clinician} {self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"
        )


class AppointmentType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    duration_minutes = models.PositiveSmallIntegerField(_("length in minutes"))
    room_kind = models.CharField(_("room needed"), max_length=16, choices=RoomKind.choices)
    needs_clinician = models.BooleanField(_("needs a clinician"), default=True)
    self_bookable = models.BooleanField(_("patients may book online"), default=False)
    needs_clearance = models.BooleanField(_("needs a clinician's clearance"), default=False)
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="appointment_type_sane_duration",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.duration_minutes)


class OpeningHours(models.Model):
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [_opens_before_closes("opening_hours", "opens", "closes")]
        verbose_name_plural = _("opening hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Closure(models.Model):
    """Whole days the clinic is closed (holidays, training days), inclusive of both ends."""

    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=120)

    class Meta:
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__lte=models.F("end_date")),
                name="closure_start_not_after_end",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.start_date:%Y-%m-%d})"


class ExtraOpening(models.Model):
    """Hours outside the weekly pattern (an open Saturday). Only staff may book into them."""

    date = models.DateField(_("date"))
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        ordering = ["date", "opens"]
        constraints = [_opens_before_closes("extra_opening", "opens", "closes")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.opens:%H:%M}-{self.closes:%H:%M}"
