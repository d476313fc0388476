"""Clinic wall-clock times typed by staff, turned into instants.

Twice a year a wall time is not one instant: on the spring-forward night (2:00-2:59 in
Sacramento) it names no instant at all, and on the fall-back night (1:00-1:59) it names two.
`wall_to_instant` is the rule (pure: the zone is an argument); `ClinicTimeForm` is the one way a
staff form applies it. A form pairs each wall time with an `OccurrenceField` named
`<field>_occurrence`: always on the form, asked (and required) only when the time happens twice.
A time that does not exist is an error on the time field naming the jump and the first valid
time. Cleaned values are aware datetimes in UTC, so adding a duration to one adds elapsed time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.forms.fields import BaseTemporalField
from django.utils.translation import gettext_lazy as _

from propel import formatting
from scheduling.slots import clinic_tz

FIRST, SECOND = "first", "second"
OCCURRENCE_SUFFIX = "_occurrence"
# Far enough either side for any real booking; beyond them datetime arithmetic overflows.
MIN_YEAR, MAX_YEAR = 2000, 2100
# What a browser's datetime-local input sends (seconds only when the page asked for them).
LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
# "09:30", "09:30:00", optionally pinned to one occurrence by its UTC offset: "01:30-0700".
_TIME_WITH_OFFSET = re.compile(r"^(\d{1,2}:\d{2}(?::\d{2})?)([+-])(\d{2}):?(\d{2})$")


# --- The rule -----------------------------------------------------------------------------------


class WallTimeError(Exception):
    """A wall time that cannot be turned into one instant as given."""


@dataclass(frozen=True)
class NonexistentTime(WallTimeError):
    """Clocks jump from `jumps_at` straight to `first_valid`; the wall time lies between."""

    jumps_at: dt.datetime
    first_valid: dt.datetime


@dataclass(frozen=True)
class AmbiguousTime(WallTimeError):
    """Clocks go back at `goes_back_at` (wall time before the change); the time happens twice,
    at `first` and then at `second` (both aware, UTC)."""

    first: dt.datetime
    second: dt.datetime
    goes_back_at: dt.datetime


class OffsetMismatch(WallTimeError):
    """The wall time was pinned to a UTC offset it never has in the zone (a tampered value)."""


def _offset_at(instant: dt.datetime, tz: ZoneInfo) -> dt.timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


def _transition(low: dt.datetime, high: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first UTC instant in (low, high] whose offset differs from low's (to the second)."""
    before = _offset_at(low, tz)
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _offset_at(middle, tz) == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def wall_to_instant(
    wall: dt.datetime,
    tz: ZoneInfo,
    *,
    occurrence: str | None = None,
    offset: dt.timedelta | None = None,
) -> dt.datetime:
    """The UTC instant the naive clinic wall time `wall` names in `tz`.

    Raises NonexistentTime inside a spring-forward gap (a round trip wall -> UTC -> wall does
    not come back), and AmbiguousTime in a fall-back hour (fold=0 and fold=1 have different
    offsets) unless `occurrence` (FIRST or SECOND) or `offset` (the UTC offset of the one meant)
    says which; an `offset` the wall time never has raises OffsetMismatch."""
    assert wall.tzinfo is None
    earlier, later = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    first, second = earlier.astimezone(dt.UTC), later.astimezone(dt.UTC)
    if first.astimezone(tz).replace(tzinfo=None) != wall:
        # In a gap fold=0 reads the wall time with the offset before the jump, fold=1 after.
        jump = _transition(second, first, tz)
        raise NonexistentTime(
            jumps_at=(jump + _offset_at(second, tz)).replace(tzinfo=None),
            first_valid=jump.astimezone(tz).replace(tzinfo=None),
        )
    if offset is not None:
        for instant, its_offset in ((first, earlier.utcoffset()), (second, later.utcoffset())):
            if its_offset == offset:
                return instant
        raise OffsetMismatch()
    if earlier.utcoffset() == later.utcoffset():
        return first
    if occurrence == FIRST:
        return first
    if occurrence == SECOND:
        return second
    jump = _transition(first, second, tz)
    raise AmbiguousTime(
        first=first, second=second, goes_back_at=(jump + _offset_at(first, tz)).replace(tzinfo=None)
    )


# --- Fields -------------------------------------------------------------------------------------


def _clock(value: dt.datetime | dt.time) -> str:
    """2:00, 14:30: the style of the clock-change messages."""
    return f"{value.hour}:{value.minute:02d}"


def occurrence_label(instant: dt.datetime, tz: ZoneInfo, which: str) -> str:
    """The wall time with its zone abbreviation and which it is: 1:30 AM PDT (first)."""
    local = instant.astimezone(tz)
    # Django's "T" format is empty for a time that happens twice, so the name comes from Python.
    text = f"{formatting.local_time(local)} {local.tzname()}"
    if which == FIRST:
        return str(_("%(time)s (first)") % {"time": text})
    return str(_("%(time)s (second)") % {"time": text})


class OccurrenceField(forms.ChoiceField):
    """Which of the two instants a wall time that happens twice means. `asked` is set (and the
    choices relabelled with the two times) when the form found the time ambiguous; templates
    show the field only then (scheduling/_occurrence.html)."""

    widget = forms.RadioSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Which one?"))
        kwargs.setdefault("required", False)
        super().__init__(choices=[(FIRST, _("First")), (SECOND, _("Second"))], **kwargs)
        self.asked = False

    def ask(self, twice: AmbiguousTime, tz: ZoneInfo) -> None:
        """Show the question, labelled with the two instants, and require an answer."""
        self.asked = True
        self.required = True
        self.choices = [
            (FIRST, occurrence_label(twice.first, tz, FIRST)),
            (SECOND, occurrence_label(twice.second, tz, SECOND)),
        ]


class WallTimeField(forms.TimeField):
    """A clinic time of day ("09:30"). A value may carry the UTC offset of the occurrence it means
    ("01:30-0700"), as the free-slot lists send, so picking a listed time never needs asking
    which; the cleaned value is then a time whose tzinfo is that fixed offset."""

    def to_python(self, value: Any) -> dt.time | None:
        if isinstance(value, str) and (match := _TIME_WITH_OFFSET.match(value.strip())):
            text, sign, hours, minutes = match.groups()
            parsed = super().to_python(text)
            if parsed is None or int(hours) > 23 or int(minutes) > 59:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
            return parsed.replace(tzinfo=dt.timezone(-offset if sign == "-" else offset))
        return super().to_python(value)


class ClinicDateTimeField(forms.DateTimeField):
    """A datetime-local input read as clinic wall-clock time. `to_python` keeps the value naive;
    ClinicTimeForm turns it into an aware UTC datetime with its `<name>_occurrence` partner.
    (Django's own DateTimeField would refuse both clock-change cases with one vague message.)"""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", LOCAL_INPUT_FORMATS)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo is None else value.astimezone(dt.UTC)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        return BaseTemporalField.to_python(self, value)


def to_local_input(value: dt.datetime) -> str:
    """An aware instant as a datetime-local input's value, in clinic time."""
    return value.astimezone(clinic_tz()).strftime(LOCAL_INPUT)


def time_value(value: dt.datetime) -> str:
    """An aware instant as a WallTimeField value pinned to its occurrence: "01:30-0700".
    (Django's "O" format is empty for a time that happens twice; Python's %z is not.)"""
    return value.astimezone(clinic_tz()).strftime("%H:%M%z")


def zone_abbreviation(value: dt.datetime) -> str:
    """PDT or PST: the clinic zone's abbreviation at an aware instant."""
    return value.astimezone(clinic_tz()).tzname() or ""


def occurrence_value(value: dt.datetime) -> str:
    """FIRST or SECOND: which occurrence of its wall time the aware instant `value` is."""
    return SECOND if value.astimezone(clinic_tz()).fold else FIRST


class ClinicTimeForm(forms.Form):
    """A form taking clinic wall times. Every ClinicDateTimeField `name` is resolved after the
    fields are cleaned, with `name_occurrence` (an OccurrenceField the form must declare);
    forms with a separate date and time call `clinic_instant` from their own clean()."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        for name, field in self.fields.items():
            if not isinstance(field, ClinicDateTimeField):
                continue
            value = cleaned.get(name)
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                instant = self.clinic_instant(value, field=name)
                if instant is not None:
                    cleaned[name] = instant
        return cleaned

    def clinic_instant(self, wall: dt.datetime, *, field: str) -> dt.datetime | None:
        """The UTC instant of clinic wall time `wall` (naive, or a time pinned to a UTC offset
        through `wall.tzinfo`), or None after adding the error to `field` (a time that does not
        exist, out of range) or to `field_occurrence` (happens twice, no choice made)."""
        tz = clinic_tz()
        occurrence_name = field + OCCURRENCE_SUFFIX
        chooser = self.fields[occurrence_name]
        assert isinstance(chooser, OccurrenceField)
        offset = wall.utcoffset()
        wall = wall.replace(tzinfo=None)
        if not MIN_YEAR <= wall.year <= MAX_YEAR:
            self.add_error(
                field,
                _("Choose a date between %(first)s and %(last)s.")
                % {"first": MIN_YEAR, "last": MAX_YEAR},
            )
            return None
        choice = self.cleaned_data.get(occurrence_name) or None
        try:
            instant = wall_to_instant(wall, tz, offset=offset)
        except NonexistentTime as gap:
            self.add_error(
                field,
                _("Clocks go forward at %(jump)s on this date; choose %(valid)s or later.")
                % {"jump": _clock(gap.jumps_at), "valid": _clock(gap.first_valid)},
            )
            return None
        except OffsetMismatch:
            self.add_error(field, _("That time is not on the clinic's clock that day."))
            return None
        except AmbiguousTime as twice:
            # Shown even once answered, so a form re-shown for another reason keeps the choice.
            chooser.ask(twice, tz)
            if choice in (FIRST, SECOND):
                return wall_to_instant(wall, tz, occurrence=choice)
            self.add_error(
                occurrence_name,
                forms.ValidationError(
                    _(
                        "Clocks go back at %(jump)s on this date, so %(time)s happens twice; "
                        "choose which."
                    )
                    % {"jump": _clock(twice.goes_back_at), "time": _clock(wall)},
                    code="ambiguous",
                ),
            )
            return None
        return instant

    def show_instant(self, field: str, instant: dt.datetime) -> None:
        """For an unbound form offering the aware `instant` in `field`: when its wall time happens
        twice, show the question with the instant's own occurrence chosen, so submitting the form
        unchanged means the same instant (a hidden value could silently apply to an edited time)."""
        tz = clinic_tz()
        try:
            wall_to_instant(instant.astimezone(tz).replace(tzinfo=None), tz)
        except AmbiguousTime as twice:
            name = field + OCCURRENCE_SUFFIX
            chooser = self.fields[name]
            assert isinstance(chooser, OccurrenceField)
            chooser.ask(twice, tz)
            self.initial[name] = occurrence_value(instant)


# A native date picker for the staff forms' date fields.
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
