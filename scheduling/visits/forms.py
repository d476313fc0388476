"""Forms behind the day sheet and the visit screen. They validate and normalise what staff type;
the services in scheduling.visits decide what the answers mean (an escort is needed, a reading
defers the visit)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from phonenumber_field.formfields import PhoneNumberField

from scheduling.notices import notice_reason_field
from scheduling.time_fields import DATE_INPUT
from scheduling.vitals import SYMPTOMS

YES, NO = "yes", "no"
YES_NO = ((YES, _("Yes")), (NO, _("No")))


def _yes_no(label: StrOrPromise) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda value: value == YES,
        widget=forms.RadioSelect,
    )


class DayForm(forms.Form):
    date = forms.DateField(label=_("Date"), required=False, widget=DATE_INPUT)


class CheckInForm(forms.Form):
    """Front desk, on arrival: who the patient is, who takes them home, and the day-of questions
    (reference A13 and §8), asked again even when the patient answered them in advance.

    `patient_answers` (scheduling.visits.check_in_answers) are the patient's own answers from
    their pre-visit check-in. A patient's yes cannot be answered away at the desk: the field says
    so, and the service keeps that yes as a day-of item a clinician must acknowledge whatever the
    desk records (scheduling.visits.items). The alcohol question is then not prefilled: the desk
    asks it again, and only the desk's own yes defers the visit.
    """

    identity_confirmed = forms.BooleanField(
        label=_("I checked the patient's photo ID and date of birth"),
        error_messages={"required": _("Confirm the patient's identity before checking them in.")},
    )
    escort_name = forms.CharField(label=_("Escort or driver"), max_length=200, required=False)
    escort_phone = PhoneNumberField(label=_("Escort's phone"), region="US", required=False)
    alcohol_or_drugs = _yes_no(_("Alcohol or recreational drugs in the last 24 hours?"))
    food_as_instructed = _yes_no(_("Ate and drank as instructed before the visit?"))
    new_medicines = _yes_no(_("Any new, stopped or changed medicines since the last visit?"))
    new_medicines_detail = forms.CharField(
        label=_("Which medicines, and what changed?"), max_length=500, required=False
    )

    PATIENT_YES_HELP = {
        "alcohol_or_drugs": _(
            "The patient answered yes in their pre-visit check-in. Ask again: yes defers today's "
            "visit. A no is recorded as the desk's answer, but it does not replace the patient's "
            "yes: a clinician must review the patient's answers before the infusion."
        ),
        "new_medicines": _(
            "The patient answered yes in their pre-visit check-in. A no here does not replace "
            "it: a clinician must review the patient's answers before the infusion."
        ),
    }

    def __init__(
        self, *args: Any, patient_answers: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        answers = patient_answers or {}
        for key, help_text in self.PATIENT_YES_HELP.items():
            if answers.get(key) is True:
                self.fields[key].help_text = help_text
        if answers.get("alcohol_or_drugs") is True:
            self.initial.pop("alcohol_or_drugs", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        if cleaned.get("new_medicines") and not cleaned.get("new_medicines_detail", "").strip():
            self.add_error("new_medicines_detail", _("Say which medicines changed."))
        return cleaned


class ItemAcknowledgeForm(forms.Form):
    """A clinician acknowledges one day-of item (scheduling.visits.items) with a reason."""

    item = forms.CharField(widget=forms.HiddenInput, max_length=64)
    reason = forms.CharField(
        label=_("Why the infusion may go ahead despite this item"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={
            "required": _("Please write why the infusion may go ahead despite this item.")
        },
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(
                _("Please write why the infusion may go ahead despite this item.")
            )
        return reason


class VitalsForm(forms.Form):
    """One set of vital signs. The limits match VitalReading's plausibility constraint, so a typo
    becomes a field error rather than a database error."""

    systolic = forms.IntegerField(label=_("Systolic (mmHg)"), min_value=50, max_value=300)
    diastolic = forms.IntegerField(label=_("Diastolic (mmHg)"), min_value=20, max_value=200)
    heart_rate = forms.IntegerField(label=_("Heart rate (per minute)"), min_value=20, max_value=250)
    spo2 = forms.IntegerField(label=_("SpO₂ (%)"), min_value=50, max_value=100)
    weight_lb = forms.IntegerField(
        label=_("Weight (lb)"), min_value=1, max_value=1000, required=False
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms now"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Any of these sends the visit down the emergency pathway."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["symptoms"]).choices = _choices(SYMPTOMS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        systolic, diastolic = cleaned.get("systolic"), cleaned.get("diastolic")
        if systolic is not None and diastolic is not None and diastolic >= systolic:
            self.add_error("diastolic", _("The diastolic must be lower than the systolic."))
        return cleaned


def _choices(symptoms: Any) -> list[tuple[str, str]]:
    """SYMPTOMS as form choices, whether it is a mapping of code to label or a list of pairs."""
    items = symptoms.items() if hasattr(symptoms, "items") else symptoms
    return [(str(code), label) for code, label in items]


class SignOffForm(forms.Form):
    note = forms.CharField(
        label=_("Sign-off note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Why it is safe to start despite the reading."),
    )


class DischargeForm(forms.Form):
    alert = forms.BooleanField(
        label=_("Alert and oriented"),
        error_messages={"required": _("The patient must be alert and oriented to leave.")},
    )
    vitals_near_baseline = forms.BooleanField(
        label=_("Vital signs near their baseline"),
        error_messages={"required": _("Vital signs must be near baseline to leave.")},
    )
    escort_present = forms.BooleanField(
        label=_("Escort present to take them home"),
        error_messages={"required": _("The patient may leave only with their escort.")},
    )


class DeferForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the visit is deferred"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=300,
        help_text=_("For the visit's record; the patient's email does not include it."),
    )
    notice_reason = notice_reason_field()


class RebookForm(forms.Form):
    """A start offered by rebooking_options, sent back as the button's value (with its UTC
    offset, so one instant even in the hour that happens twice); cleaned to UTC, like every
    staff form."""

    start = forms.DateTimeField(label=_("New start"), input_formats=["%Y-%m-%dT%H:%M:%S%z"])

    def clean_start(self) -> dt.datetime:
        start = self.cleaned_data["start"]
        return start.astimezone(dt.UTC)
