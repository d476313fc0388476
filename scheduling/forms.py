from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scheduling.models import AppointmentType


class AvailabilityForm(forms.Form):
    appointment_type = forms.ModelChoiceField(
        label=_("Appointment type"), queryset=AppointmentType.objects.filter(active=True)
    )
    start_date = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    days = forms.IntegerField(label=_("Days to show"), min_value=1, max_value=31, initial=7)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start_date"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.add_input(Submit("show", _("Show free slots")))

    def clean_start_date(self) -> dt.date:
        start_date = self.cleaned_data["start_date"]
        if start_date < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later date."))
        return start_date
