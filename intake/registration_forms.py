"""The front desk's "new patient" form (a caller on the phone): who they are, how to reach them,
how they heard of the clinic, who referred them, and how to send the questionnaire link.
Checks what a person could get wrong on a call: a date of birth in the future or before 1900, a
phone that is not a phone, a text link without the caller's consent to texts or without a mobile.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from intake.models import HeardAbout, Language
from intake.patient_registration import NewCaller

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
DATE_OF_BIRTH_FORMATS = ["%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%d"]
SEND_EMAIL, SEND_SMS = "email", "sms"
MAX_CONFIRMED = 50  # more ids than duplicates are ever shown (intake.duplicates.SHOWN)


def _phone(label: Any, **kwargs: Any) -> PhoneNumberField:
    return PhoneNumberField(
        label=label,
        region="US",
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        **kwargs,
    )


class NewPatientForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        input_formats=DATE_OF_BIRTH_FORMATS,
        help_text=_("Month, day and year, for example 03/27/1980."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": _("Enter the date as month/day/year, like 03/27/1980.")},
    )
    mobile = _phone(_("Mobile phone"))
    email = forms.EmailField(label=_("Email"), max_length=254)
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"), choices=Language.choices, initial=Language.ENGLISH
    )
    heard_about = forms.ChoiceField(
        label=_("How they heard of the clinic"),
        choices=[("", _("Not asked")), *HeardAbout.choices],
        required=False,
    )
    heard_about_other = forms.CharField(label=_("If other: how"), max_length=200, required=False)
    referrer_name = forms.CharField(
        label=_("Referring clinician (if any)"), max_length=200, required=False
    )
    referrer_practice = forms.CharField(label=_("Their practice"), max_length=200, required=False)
    referrer_phone = _phone(_("Their phone"))
    sms_consent = forms.BooleanField(
        label=_("The caller agrees to text messages (asked on this call)"),
        required=False,
        help_text=_("Only if they said yes. They can reply STOP at any time."),
    )
    send_link = forms.MultipleChoiceField(
        label=_("Send the questionnaire link by"),
        choices=[(SEND_EMAIL, _("Email")), (SEND_SMS, _("Text message"))],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=[SEND_EMAIL],
    )
    # The ids of the likely duplicates the front desk was shown and chose not to use: a
    # deliberate "none of these, create new". A duplicate not in it is shown first.
    confirmed_new = forms.CharField(required=False, widget=forms.HiddenInput)
    # The referral this patient comes from (intake.referrals), when opened from its page.
    referral = forms.IntegerField(
        required=False, min_value=1, max_value=2**62, widget=forms.HiddenInput
    )

    def clean_date_of_birth(self) -> dt.date:
        born: dt.date = self.cleaned_data["date_of_birth"]
        if born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if born < EARLIEST_BIRTH_DATE:
            raise forms.ValidationError(_("Check the year of the date of birth."))
        return born

    def clean_confirmed_new(self) -> frozenset[int]:
        text = self.cleaned_data.get("confirmed_new") or ""
        parts = text.split(",")[:MAX_CONFIRMED]
        return frozenset(int(part) for part in parts if part.strip().isdigit() and len(part) < 12)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None
        mobile, send = cleaned.get("mobile"), cleaned.get("send_link") or []
        if cleaned.get("sms_consent") and not mobile:
            self.add_error("sms_consent", _("Texts need a mobile phone number."))
        if SEND_SMS in send and not cleaned.get("sms_consent"):
            self.add_error("send_link", _("A text needs the caller's consent to texts."))
        if cleaned.get("heard_about") == HeardAbout.OTHER and not cleaned.get("heard_about_other"):
            self.add_error("heard_about_other", _("Say how they heard of the clinic."))
        return cleaned

    def caller(self) -> NewCaller:
        data = self.cleaned_data
        return NewCaller(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            email=data["email"],
            mobile=str(data["mobile"] or ""),
            preferred_language=data["preferred_language"],
            heard_about=data["heard_about"],
            heard_about_other=data["heard_about_other"],
            referrer_name=data["referrer_name"],
            referrer_practice=data["referrer_practice"],
            referrer_phone=str(data["referrer_phone"] or ""),
            sms_consent=data["sms_consent"],
        )
