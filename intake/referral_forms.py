"""Forms for referrals: the public form a referring office fills in, and the front desk's status
change, patient search and link on a referral's page. They validate and normalise; the service
(intake.referrals) records."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Fieldset, Layout
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from intake.document_fields import DocumentField
from intake.paperwork_models import ReferralStatus
from intake.referrals import NEXT_STATUSES, ReferralDetails

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
DATE_OF_BIRTH_FORMATS = ["%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%d"]
FORM_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,43}$")
REASON_MAX = 5000


def _text(label: Any, *, autocomplete: str = "off", max_length: int = 200) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete}),
    )


def _phone(label: Any, *, autocomplete: str = "off") -> PhoneNumberField:
    return PhoneNumberField(
        label=label,
        region="US",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": autocomplete}),
        error_messages={"invalid": _("Please enter a phone number, like (916) 555-0123.")},
    )


class ReferralForm(forms.Form):
    """The public referral form. The letter is optional; the office confirms the patient agreed
    to be referred; `website` is a honeypot; `form_key` makes a second submit harmless."""

    referrer_name = _text(_("Referring clinician's name"), autocomplete="name")
    referrer_practice = _text(_("Practice or clinic"), autocomplete="organization")
    referrer_phone = _phone(_("Office phone"), autocomplete="tel")
    referrer_email = forms.EmailField(
        label=_("Office email"),
        max_length=254,
        help_text=_("We email the confirmation here. It names no patient."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    patient_first_name = _text(_("Patient's first name"), max_length=100)
    patient_last_name = _text(_("Patient's last name"), max_length=100)
    patient_date_of_birth = forms.DateField(
        label=_("Patient's date of birth"),
        input_formats=DATE_OF_BIRTH_FORMATS,
        help_text=_("Month, day and year, for example 03/27/1980."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"invalid": _("Please enter the date as month/day/year, like 03/27/1980.")},
    )
    patient_phone = _phone(_("Patient's phone"))
    patient_email = forms.EmailField(
        label=_("Patient's email (optional)"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=_("Reason for referral"),
        max_length=REASON_MAX,
        help_text=_("Diagnosis, treatments tried, and anything we should know before we call."),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    letter = DocumentField(
        label=_("Referral letter (optional, but it helps)"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,.heic,application/pdf,image/*"}
        ),
    )
    permission = forms.BooleanField(
        label=_(
            "We confirm the patient has agreed to this referral and to be contacted by the clinic."
        ),
        error_messages={
            "required": _("Please confirm the patient has agreed to this referral."),
        },
    )
    # A honeypot: people never see or reach it; form-filling scripts do.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    form_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=43)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["letter"].help_text = gettext(
            "A PDF, or a photo (JPEG, PNG or HEIC) of the letter, up to %(mb)s MB."
        ) % {"mb": settings.DOCUMENTS_MAX_UPLOAD_MB}
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Fieldset(
                _("Referring clinician"),
                "referrer_name",
                "referrer_practice",
                "referrer_phone",
                "referrer_email",
            ),
            Fieldset(
                _("Patient"),
                "patient_first_name",
                "patient_last_name",
                "patient_date_of_birth",
                "patient_phone",
                "patient_email",
            ),
            Fieldset(_("Referral"), "reason", "letter"),
            "permission",
            Div(
                "website",
                aria_hidden="true",
                # Off-screen by a class in static/css/propel.css: the CSP allows no inline style.
                css_class="propel-honeypot",
            ),
            "form_key",
        )

    @property
    def is_honeypot_filled(self) -> bool:
        return bool(str(self.data.get("website", "")).strip())

    def clean_patient_date_of_birth(self) -> dt.date:
        born: dt.date = self.cleaned_data["patient_date_of_birth"]
        if born >= timezone.localdate():
            raise forms.ValidationError(_("The date of birth must be in the past."))
        if born < EARLIEST_BIRTH_DATE:
            raise forms.ValidationError(_("Please check the year of the date of birth."))
        return born

    def clean_form_key(self) -> str | None:
        key = self.cleaned_data.get("form_key") or ""
        return key if FORM_KEY_PATTERN.match(key) else None

    def details(self) -> ReferralDetails:
        data = self.cleaned_data
        return ReferralDetails(
            referrer_name=data["referrer_name"],
            referrer_practice=data["referrer_practice"],
            referrer_phone=str(data["referrer_phone"]),
            referrer_email=data["referrer_email"],
            patient_first_name=data["patient_first_name"],
            patient_last_name=data["patient_last_name"],
            patient_date_of_birth=data["patient_date_of_birth"],
            patient_phone=str(data["patient_phone"]),
            patient_email=data["patient_email"],
            reason=data["reason"],
        )


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("", _("Open (new and contacted)")), *ReferralStatus.choices, ("all", _("All"))],
    )


class ReferralStatusForm(forms.Form):
    """The next status (only the moves NEXT_STATUSES allows from `current`) and a note."""

    status = forms.ChoiceField(label=_("New status"))
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=1000,
        help_text=_("Needed when closing: say why (for example: the patient declined)."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(ReferralStatus.choices)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s, labels[s]) for s in NEXT_STATUSES.get(current, ())]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("status") == ReferralStatus.CLOSED and not cleaned.get("note", "").strip():
            self.add_error("note", _("Please say why in the note."))
        return cleaned


class PatientFindForm(forms.Form):
    """Find the referral's patient among the clinic's patients: last name, date of birth."""

    last_name = forms.CharField(label=_("Last name"), max_length=100)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        input_formats=DATE_OF_BIRTH_FORMATS,
        help_text=_("Month/day/year (optional)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": _("Enter the date as month/day/year, like 03/27/1980.")},
    )


class PatientLinkForm(forms.Form):
    patient = forms.IntegerField(min_value=1, max_value=2**62, widget=forms.HiddenInput)
