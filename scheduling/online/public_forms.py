"""Forms for patients: booking online, changing a booking, asking for a new link.

Each form accepts its own fields and nothing else: status, room and clinician are never read from
a request. Forms validate and normalise; the rules (window, age, cap) are the services'.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from propel import formatting
from scheduling.online.rules import CANCEL_REASONS, PatientDetails

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
DATE_OF_BIRTH_FORMATS = ["%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%d"]
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class AwareDateTimeField(forms.Field):
    """An ISO 8601 instant with its offset (as the slot buttons send it), parsed aware."""

    default_error_messages = {"invalid": _("Please choose a time from the list.")}

    def to_python(self, value: object) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            parsed = value
        else:
            text = str(value).strip()
            if len(text) > 40:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            try:
                parsed = dt.datetime.fromisoformat(text)
            except ValueError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                ) from None
        if parsed.tzinfo is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed.astimezone(dt.UTC)


def start_value(start: dt.datetime) -> str:
    """How a start travels in a form: UTC, ISO 8601."""
    return start.astimezone(dt.UTC).isoformat()


def start_label(start: dt.datetime) -> str:
    return formatting.local_datetime(start)


class SlotChoiceForm(forms.Form):
    start = AwareDateTimeField()


class BookingDetailsForm(forms.Form):
    """Who is booking. When the held time is no longer free, `alternatives` (the nearest free
    starts) are offered as a required choice; the chosen one replaces the held time."""

    alternative = forms.ChoiceField(
        label=_("Choose another time"),
        required=False,
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": _("That time is no longer free. Please choose another."),
            "required": _("Please choose one of these times."),
        },
    )
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        input_formats=DATE_OF_BIRTH_FORMATS,
        help_text=_("Month, day and year, for example 03/27/1980."),
        widget=forms.TextInput(attrs={"autocomplete": "bday", "inputmode": "numeric"}),
        error_messages={"invalid": _("Please enter the date as month/day/year, like 03/27/1980.")},
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_(
            "We email you a link to confirm your booking. If you have booked with us before, "
            "use the same email as then."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    mobile = PhoneNumberField(
        label=_("Mobile phone"),
        region="US",
        help_text=_("We call this number if we need to reach you."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    # Email reminders are on unless the patient unticks them (intake.consent); texts only when
    # ticked: the patient's express consent.
    consent_email = forms.BooleanField(
        label=_("Email me reminders about my appointments"),
        required=False,
        initial=True,
        help_text=_("Every reminder has a link to stop them."),
    )
    consent_sms = forms.BooleanField(
        label=_("Text me reminders about my appointments"),
        required=False,
        help_text=_(
            "Only if you tick this box. Standard message rates may apply. Reply STOP at any time."
        ),
    )
    # A honeypot: people never see or reach it; form-filling scripts do.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, alternatives: Sequence[dt.datetime] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alternatives = list(alternatives)
        if self.alternatives:
            self.fields["alternative"].required = True
            cast(forms.ChoiceField, self.fields["alternative"]).choices = [
                (start_value(start), start_label(start)) for start in self.alternatives
            ]
        else:
            del self.fields["alternative"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        parts: list[object] = []
        if self.alternatives:
            parts.append("alternative")
        parts += [
            Fieldset(_("About you"), "first_name", "last_name", "date_of_birth"),
            Fieldset(_("How we reach you"), "email", "mobile"),
            Fieldset(
                _("Reminders"),
                HTML(
                    '<p class="small text-body-secondary">{}</p>'.format(
                        _("We always email your booking confirmation.")
                    )
                ),
                "consent_email",
                "consent_sms",
            ),
            Div(
                "website",
                aria_hidden="true",
                # Off-screen by a class in static/css/propel.css: the CSP allows no inline style.
                css_class="propel-honeypot",
            ),
        ]
        self.helper.layout = Layout(*parts)

    @property
    def is_honeypot_filled(self) -> bool:
        return bool(str(self.data.get("website", "")).strip())

    def clean_date_of_birth(self) -> dt.date:
        born = self.cleaned_data["date_of_birth"]
        if born >= timezone.localdate():
            raise forms.ValidationError(_("Your date of birth must be in the past."))
        if born < EARLIEST_BIRTH_DATE:
            raise forms.ValidationError(_("Please check the year of your date of birth."))
        return born

    def clean_alternative(self) -> dt.datetime | None:
        value = self.cleaned_data.get("alternative")
        return AwareDateTimeField().clean(value) if value else None

    def details(self) -> PatientDetails:
        data = self.cleaned_data
        return PatientDetails(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            email=data["email"],
            mobile=str(data["mobile"]),
            consent_email=data["consent_email"],
            consent_sms=data["consent_sms"],
        )


class BookingConfirmForm(forms.Form):
    """Confirming a booking request from its emailed link. When the requested time is gone,
    `alternatives` (the nearest free starts) are offered as a required choice."""

    alternative = forms.ChoiceField(
        label=_("Choose another time"),
        required=False,
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": _("That time is no longer free. Please choose another."),
            "required": _("Please choose one of these times."),
        },
    )

    def __init__(self, *args: Any, alternatives: Sequence[dt.datetime] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alternatives = list(alternatives)
        field = cast(forms.ChoiceField, self.fields["alternative"])
        field.required = bool(self.alternatives)
        field.choices = [(start_value(start), start_label(start)) for start in self.alternatives]

    def clean_alternative(self) -> dt.datetime | None:
        value = self.cleaned_data.get("alternative")
        return AwareDateTimeField().clean(value) if value else None


class RescheduleForm(forms.Form):
    start = AwareDateTimeField(widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not KEY_PATTERN.match(key):
            raise forms.ValidationError(_("Please start again."))
        return key


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Would you tell us why? (optional)"),
        choices=[("", _("I'd rather not say")), *CANCEL_REASONS],
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        help_text=_("The email address you gave when you booked."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class ContactPreferencesForm(forms.Form):
    """How we contact the patient (their page): email reminders on or off, texts only when they
    tick the box, and only to a mobile on file."""

    consent_email = forms.BooleanField(
        label=_("Email me reminders about my appointments"),
        required=False,
        help_text=_(
            "We still email you about bookings you make or change, changes we make, links you "
            "ask for, and when the care team needs more information."
        ),
    )
    consent_sms = forms.BooleanField(
        label=_("Text me reminders about my appointments"),
        required=False,
        help_text=_("Standard message rates may apply. Reply STOP to any text to stop them."),
    )

    def __init__(self, *args: Any, mobile: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mobile = mobile
        if not mobile:
            field = self.fields["consent_sms"]
            field.disabled = True
            field.help_text = _(
                "We have no mobile number for you. Call us to add one, then tick this box."
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean_consent_sms(self) -> bool:
        # Without a mobile the box is disabled: nothing can be texted.
        return bool(self.mobile and self.cleaned_data.get("consent_sms"))
