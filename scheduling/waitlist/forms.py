"""The waitlist's forms: what a patient asks for (their page) and what the front desk enters for a
caller (staff page)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from intake.models import Patient
from scheduling.models import AppointmentType, Clinician, PartOfDay

WEEKDAYS = [
    ("1", _("Monday")),
    ("2", _("Tuesday")),
    ("3", _("Wednesday")),
    ("4", _("Thursday")),
    ("5", _("Friday")),
    ("6", _("Saturday")),
]


class WishesForm(forms.Form):
    """When the patient can come."""

    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Days I can come"),
        help_text=_("Leave all unticked for any day."),
    )
    part_of_day = forms.ChoiceField(
        choices=PartOfDay.choices, initial=PartOfDay.ANY, label=_("Time of day")
    )
    earliest_date = forms.DateField(
        required=False, label=_("Not before"), widget=forms.DateInput(attrs={"type": "date"})
    )
    latest_date = forms.DateField(
        required=False, label=_("Not after"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        earliest, latest = data.get("earliest_date"), data.get("latest_date")
        if earliest and latest and latest < earliest:
            self.add_error("latest_date", _("This is before the first date."))
        return data


class StaffWishesForm(WishesForm):
    """The front desk changes a waiting patient's wishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["weekdays"].label = _("Days the patient can come")

    clinician = forms.ModelChoiceField(
        queryset=Clinician.objects.filter(active=True),
        required=False,
        label=_("Clinician"),
        empty_label=_("Any clinician"),
    )


class WaitlistAskForm(WishesForm):
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.none(), label=_("Visit"), empty_label=None
    )
    field_order = ["appointment_type"]

    def __init__(self, *args: Any, types: QuerySet[AppointmentType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["appointment_type"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = types


class StaffWaitlistForm(WaitlistAskForm, StaffWishesForm):
    """The front desk adds a caller: the patient found by the page's search (a hidden id, so the
    page names only the patient chosen) and, if they want one, a clinician."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(), label=_("Patient"), widget=forms.HiddenInput
    )
    field_order = ["patient", "appointment_type", "clinician"]
