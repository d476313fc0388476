"""Forms behind the staff calendar and appointment pages. They validate and normalise; the
services in scheduling.booking decide whether a time is free."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from intake.models import Patient
from scheduling.models import AppointmentStatus, AppointmentType, Clinician, NoticeReason, Room
from scheduling.notices import ChangeNotice, notice_reason_field
from scheduling.phones import possible_phone
from scheduling.slots import clinic_tz
from scheduling.time_fields import (
    DATE_INPUT,
    MAX_YEAR,
    MIN_YEAR,
    ClinicTimeForm,
    OccurrenceField,
    WallTimeField,
)

PATIENT_RESULTS = 20


class ResourceIds(TypedDict):
    """A booking form's room and clinician, as the booking services take them."""

    room_id: int | None
    clinician_id: int | None


class CalendarDateForm(forms.Form):
    date = forms.DateField(label=_("Date"), required=False, widget=DATE_INPUT)
    by = forms.ChoiceField(
        label=_("Columns"),
        required=False,
        choices=[("", _("Rooms")), ("clinician", _("Clinicians"))],
    )


class WeekForm(forms.Form):
    date = forms.DateField(label=_("Week of"), required=False, widget=DATE_INPUT)
    room = forms.ModelChoiceField(
        label=_("Room"), queryset=Room.objects.filter(active=True), required=False
    )
    clinician = forms.ModelChoiceField(
        label=_("Clinician"), queryset=Clinician.objects.filter(active=True), required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        if cleaned.get("room") and cleaned.get("clinician"):
            raise forms.ValidationError(_("Choose a room or a clinician, not both."))
        return cleaned


def parse_date_of_birth(text: str) -> dt.date | None:
    for pattern in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a patient"),
        max_length=100,
        help_text=_("Name, date of birth (MM/DD/YYYY) or phone number."),
    )

    def matches(self) -> QuerySet[Patient]:
        """Up to PATIENT_RESULTS patients, in one query: by date of birth, phone, or every word
        of the name."""
        text = self.cleaned_data["q"].strip()
        if (born := parse_date_of_birth(text)) is not None:
            condition = Q(date_of_birth=born)
        elif (phone := possible_phone(text)) is not None:
            condition = Q(mobile=phone)
        else:
            condition = Q()
            for word in text.split()[:4]:
                condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        return Patient.objects.filter(condition)[:PATIENT_RESULTS]


class _WhenForm(ClinicTimeForm):
    """A clinic-local date and time, turned into an aware UTC datetime in `start`. A time that
    happens twice (the night clocks go back) is asked about through `time_occurrence`."""

    date = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    time = WallTimeField(label=_("Time"), required=False)
    time_occurrence = OccurrenceField()
    room = forms.ModelChoiceField(
        label=_("Room"),
        queryset=Room.objects.filter(active=True),
        required=False,
        empty_label=_("Any free room"),
    )
    clinician = forms.ModelChoiceField(
        label=_("Clinician"),
        queryset=Clinician.objects.filter(active=True),
        required=False,
        empty_label=_("Any free clinician"),
    )

    def __init__(self, *args: Any, require_time: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time"].required = require_time

    def clean_date(self) -> dt.date:
        day = self.cleaned_data["date"]
        # The free-times lookup does date arithmetic on it; year 9999 would overflow there.
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise forms.ValidationError(
                _("Choose a date between %(first)s and %(last)s.")
                % {"first": MIN_YEAR, "last": MAX_YEAR}
            )
        return day

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        day, time = cleaned.get("date"), cleaned.get("time")
        if day is not None and time is not None:
            wall = dt.datetime.combine(day, time.replace(tzinfo=None), tzinfo=time.tzinfo)
            start = self.clinic_instant(wall, field="time")
            if start is not None:
                cleaned["start"] = start
        return cleaned

    def resource_ids(self) -> ResourceIds:
        """The chosen room and clinician as the booking services take them (None: any free one)."""
        room, clinician = self.cleaned_data["room"], self.cleaned_data["clinician"]
        return ResourceIds(
            room_id=room.pk if room else None,
            clinician_id=clinician.pk if clinician else None,
        )

    @property
    def clock_changes(self) -> bool:
        """Whether the chosen date is a clock-change day (the free times then show their zone)."""
        day = self.cleaned_data.get("date") if hasattr(self, "cleaned_data") else None
        if day is None:
            return False
        tz = clinic_tz()
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return midnight.utcoffset() != following.utcoffset()


class BookingForm(_WhenForm):
    """Step 2 of "new appointment": type, date, a free time, optionally a room and clinician.
    Status, who booked and how are never taken from the request."""

    field_order = ["patient", "appointment_type", "date", "time", "room", "clinician"]

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(), widget=forms.HiddenInput, label=_("Patient")
    )
    appointment_type = forms.ModelChoiceField(
        label=_("Appointment type"), queryset=AppointmentType.objects.filter(active=True)
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("appointment_type")
        room = cleaned.get("room")
        if kind is not None and room is not None and room.kind != kind.room_kind:
            self.add_error("room", _("%(room)s is not the right kind of room.") % {"room": room})
        return cleaned


class _NoticeForm(forms.Form):
    """A staff change the patient hears of: the reason their message gives (picked, optional)."""

    notice_reason = notice_reason_field()

    def notice(self) -> ChangeNotice:
        return ChangeNotice(reason=self.cleaned_data.get("notice_reason") or "")


class MoveForm(_WhenForm, _NoticeForm):
    pass


class CancelForm(_NoticeForm):
    field_order = ["reason", "notice_reason"]

    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=300,
        help_text=_("For the appointment's history; the patient does not see it."),
    )


class StatusForm(forms.Form):
    """The one-click changes; cancelling needs a reason and has its own form."""

    status = forms.ChoiceField(
        label=_("New status"),
        choices=[
            (AppointmentStatus.CHECKED_IN, _("Check in")),
            (AppointmentStatus.COMPLETED, _("Complete")),
            (AppointmentStatus.NO_SHOW, _("No-show")),
        ],
    )


class LinksRevokeForm(forms.Form):
    """Staff revoke every link sent to a patient (a lost phone, a wrong email); the reason is
    kept in the audit log."""

    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=300,
        required=False,
        help_text=_("For example: lost phone, or the link went to the wrong email."),
    )


class ClosureForm(forms.Form):
    """Close the clinic for whole days. `reason` shows on the calendar (staff's words); the
    patients' emails give `notice_reason`, picked from a list."""

    start_date = forms.DateField(label=_("First day closed"), widget=DATE_INPUT)
    end_date = forms.DateField(
        label=_("Last day closed"),
        widget=DATE_INPUT,
        required=False,
        help_text=_("Leave empty to close one day."),
    )
    reason = forms.CharField(
        label=_("Reason shown on the calendar"),
        max_length=120,
        help_text=_("For example: staff training. Patients do not see it."),
    )
    notice_reason = notice_reason_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notice_reason"].initial = NoticeReason.CLOSURE

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        first, last = cleaned.get("start_date"), cleaned.get("end_date")
        if first is not None:
            for name, day in (("start_date", first), ("end_date", last)):
                if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR:
                    self.add_error(
                        name,
                        _("Choose a date between %(first)s and %(last)s.")
                        % {"first": MIN_YEAR, "last": MAX_YEAR},
                    )
            if last is None:
                cleaned["end_date"] = first
            elif last < first:
                self.add_error("end_date", _("The last day cannot be before the first day."))
        return cleaned

    def notice_reason_label(self) -> str:
        code = self.cleaned_data.get("notice_reason") or ""
        return str(NoticeReason(code).label) if code else ""
