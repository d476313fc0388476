"""The date range of a report: clinic-local dates, the last 12 weeks by default, validated (a bad
or reversed range is a form error, never a 500)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from scheduling.availability import Interval
from scheduling.slots import clinic_today, clinic_tz, utc_range

DEFAULT_WEEKS = 12
MAX_DAYS = 731  # two years: the longest range one page adds up


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date  # inclusive

    @property
    def span(self) -> Interval:
        """From local midnight starting `first` to local midnight after `last`, in UTC."""
        return utc_range(self.first, self.last, clinic_tz())

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def default_period(today: dt.date | None = None) -> Period:
    last = today or clinic_today()
    return Period(last - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1), last)


class PeriodForm(forms.Form):
    first = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last:
            if first > last:
                raise forms.ValidationError(_("The first day must not be after the last."))
            if (last - first).days + 1 > MAX_DAYS:
                raise forms.ValidationError(_("Choose at most %(days)d days.") % {"days": MAX_DAYS})
        return data

    @property
    def period(self) -> Period:
        return Period(self.cleaned_data["first"], self.cleaned_data["last"])


def period_form(query: dict) -> tuple[PeriodForm, Period | None]:
    """The form bound to the query string (or to the default range when it names none) and the
    period it gives, None when invalid."""
    if "first" not in query and "last" not in query:
        default = default_period()
        form = PeriodForm({"first": default.first, "last": default.last})
    else:
        form = PeriodForm(query)
    return form, (form.period if form.is_valid() else None)
