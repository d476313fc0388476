"""Forms of the course planner and the course page. They validate and normalise what staff typed
(clinic wall times as aware UTC datetimes through scheduling.time_fields, weekdays as a frozenset
of ints); the rules that decide whether a course can be booked live in scheduling.courses.services,
whose errors the views turn into form errors."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scheduling.courses.services import end_reason_refusal
from scheduling.models import CourseEndReason, Weekday
from scheduling.notices import notice_reason_field
from scheduling.slots import clinic_tz
from scheduling.time_fields import (
    OCCURRENCE_SUFFIX,
    ClinicDateTimeField,
    ClinicTimeForm,
    OccurrenceField,
    occurrence_value,
)
from scheduling.time_fields import to_local_input as to_local_input  # the views import it here

if TYPE_CHECKING:
    from scheduling.courses.conflicts import CourseConflict

END_NOTE_MAX_LENGTH = 1000

# An alternative's button value names the UTC instant, not the clinic wall time: on the fall-back
# night a wall time happens twice, and the button must mean the one that was offered.
CHOICE_FORMAT = "%Y-%m-%dT%H:%MZ"


def choice_value(index: int, start: dt.datetime) -> str:
    """An alternative's button value: "<index>|<UTC instant>" (CHOICE_FORMAT)."""
    return f"{index}|{start.astimezone(dt.UTC).strftime(CHOICE_FORMAT)}"


def parse_choice(value: str, size: int) -> tuple[int, dt.datetime] | None:
    """An alternative's button value (choice_value) as (index, aware UTC instant), or None if
    malformed."""
    index_text, _sep, when = value.partition("|")
    try:
        index = int(index_text)
        instant = dt.datetime.strptime(when, CHOICE_FORMAT)
    except ValueError:
        return None
    if not 0 <= index < size:
        return None
    return index, instant.replace(tzinfo=dt.UTC)


PLAN_WEEKDAYS = [
    (str(day.value), day.label)
    for day in (
        Weekday.MONDAY,
        Weekday.TUESDAY,
        Weekday.WEDNESDAY,
        Weekday.THURSDAY,
        Weekday.FRIDAY,
        Weekday.SATURDAY,
    )
]


class CoursePlanForm(forms.Form):
    sessions = forms.IntegerField(label=_("Number of infusions"), initial=6)
    weeks = forms.IntegerField(label=_("Over how many weeks"), initial=6)
    weekdays = forms.MultipleChoiceField(
        label=_("Preferred weekdays"),
        choices=PLAN_WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
        initial=["0", "2", "4"],
        help_text=_("Saturdays only when the clinic has opened one."),
    )
    window_from = forms.TimeField(
        label=_("Earliest start"),
        initial=dt.time(9),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    window_to = forms.TimeField(
        label=_("Latest start"),
        initial=dt.time(17),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Clinic time (Pacific)."),
    )
    start_date = forms.DateField(
        label=_("First possible date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, today: dt.date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        # Bounds from settings, read per form so a changed setting applies at once.
        for name, low, high in (
            ("sessions", settings.COURSE_MIN_SESSIONS, settings.COURSE_MAX_SESSIONS),
            ("weeks", settings.COURSE_MIN_WEEKS, settings.COURSE_MAX_WEEKS),
        ):
            field = cast(forms.IntegerField, self.fields[name])
            field.min_value, field.max_value = low, high
            field.validators = [
                MinValueValidator(low),
                MaxValueValidator(high),
            ]
            field.widget.attrs.update({"min": low, "max": high})
            field.help_text = _("Between %(low)s and %(high)s.") % {"low": low, "high": high}
        tomorrow = self.today + dt.timedelta(days=1)
        self.fields["start_date"].initial = tomorrow
        self.fields["start_date"].widget.attrs["min"] = tomorrow.isoformat()

    def clean_weekdays(self) -> frozenset[int]:
        return frozenset(int(day) for day in self.cleaned_data["weekdays"])

    def clean_start_date(self) -> dt.date:
        start_date = self.cleaned_data["start_date"]
        if start_date <= self.today:
            raise forms.ValidationError(_("Choose tomorrow or a later date."))
        if start_date > self.today + dt.timedelta(days=366):
            raise forms.ValidationError(_("Choose a date within the next year."))
        return start_date

    def proposal(self) -> dict[str, Any]:
        """The valid plan as scheduling.courses.services.course_propose's arguments."""
        plan = self.cleaned_data
        return {
            name: plan[name] for name in ("sessions", "weeks", "start_date", "weekdays", "window")
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data (the stubs allow None)
        earliest, latest = data.get("window_from"), data.get("window_to")
        if earliest is not None and latest is not None:
            if earliest > latest:
                self.add_error("window_to", _("The latest start must not be before the earliest."))
            else:
                data["window"] = (earliest, latest)
        return data


class CourseSessionsForm(ClinicTimeForm):
    """The proposed sessions, one datetime-local input each (`start_0`, `start_1`, ...), each with
    its `start_<i>_occurrence` for a time that happens twice; staff may change any before booking.
    `count` says how many the page holds."""

    count = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, count: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            try:
                count = int(self.data.get("count", ""))
            except (TypeError, ValueError):
                count = 0
        # Never more fields than a course may have, whatever the request claims.
        self.size = max(0, min(count, settings.COURSE_MAX_SESSIONS))
        self.fields["count"].initial = self.size
        for index in range(self.size):
            name = f"start_{index}"
            self.fields[name] = ClinicDateTimeField(
                label=_("Session %(number)s") % {"number": index + 1}
            )
            self.fields[name + OCCURRENCE_SUFFIX] = OccurrenceField()

    @classmethod
    def proposed(cls, starts: list[dt.datetime]) -> CourseSessionsForm:
        form = cls(
            count=len(starts),
            initial={f"start_{i}": to_local_input(start) for i, start in enumerate(starts)},
        )
        for index, start in enumerate(starts):
            form.show_instant(f"start_{index}", start)
        return form

    @classmethod
    def from_post(cls, data: QueryDict) -> CourseSessionsForm:
        """The list as submitted (perhaps edited), or with one session replaced by the
        alternative its `choose` button names."""
        form = cls(data)
        choice = data.get("choose")
        if choice:
            parsed = parse_choice(choice, form.size)
            if parsed is not None:
                form = cls(form.replaced(*parsed))
        return form

    def conflict(self, conflict: CourseConflict) -> dict[str, Any]:
        """What the page shows of a CourseConflict for the valid sessions: the row, its number,
        the message and the alternatives as choose-button values."""
        starts = self.cleaned_data["starts"]
        # The service numbers sessions in time order; the page keeps staff's order, so find the
        # row by its start (edited lists may be out of order).
        index = next(
            (i for i, start in enumerate(starts) if start == conflict.start), conflict.index
        )
        return {
            "index": index,
            "number": index + 1,
            "message": conflict.message,
            "alternatives": [
                {"value": choice_value(index, start), "start": start}
                for start in conflict.alternatives
            ],
        }

    def clean_count(self) -> int:
        count = self.cleaned_data["count"]
        low, high = settings.COURSE_MIN_SESSIONS, settings.COURSE_MAX_SESSIONS
        if not low <= count <= high:
            raise forms.ValidationError(
                _("A course has between %(low)s and %(high)s sessions.")
                % {"low": low, "high": high}
            )
        return count

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            data["starts"] = [data[f"start_{index}"] for index in range(self.size)]
        return data

    def rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        """(index, the session's input, its occurrence question) for each session."""
        return [
            (index, self[f"start_{index}"], self[f"start_{index}{OCCURRENCE_SUFFIX}"])
            for index in range(self.size)
        ]

    def replaced(self, index: int, start: dt.datetime) -> dict[str, Any]:
        """The submitted data with session `index` set to `start`. An instant (UTC) keeps which
        occurrence it is in the hour that happens twice; a clinic wall time (e.g. parsed from a
        button's value) carries no trustworthy fold, so the form asks again rather than guess."""
        data = cast(QueryDict, self.data).copy()  # bound by from_post
        data[f"start_{index}"] = to_local_input(start)
        occurrence = f"start_{index}{OCCURRENCE_SUFFIX}"
        if start.tzinfo is clinic_tz():
            data.pop(occurrence, None)
        else:
            data[occurrence] = occurrence_value(start)
        return data


class SessionMoveForm(ClinicTimeForm):
    appointment_id = forms.IntegerField(widget=forms.HiddenInput)
    new_start = ClinicDateTimeField(label=_("New time"))
    new_start_occurrence = OccurrenceField()
    notice_reason = notice_reason_field()


class CourseEndForm(forms.Form):
    """Ending a course early: why (CourseEndReason), a note ("other" needs one), and the reason
    the patient's message gives for the cancelled sessions."""

    end_reason = forms.ChoiceField(
        label=_("Why is the course ending?"),
        choices=[("", _("Choose a reason")), *CourseEndReason.choices],
    )
    end_note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=END_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when the reason is Other. Seen by clinicians and admin only."),
    )
    notice_reason = notice_reason_field()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "end_reason" in cleaned and "end_note" in cleaned:
            refusal = end_reason_refusal(cleaned["end_reason"], cleaned["end_note"])
            if refusal is not None:
                field = "end_note" if refusal.code == "course_end_note" else "end_reason"
                self.add_error(field, refusal.message)
        return cleaned


class MaintenanceForm(ClinicTimeForm):
    start = ClinicDateTimeField(label=_("Maintenance infusion at"))
    start_occurrence = OccurrenceField()
