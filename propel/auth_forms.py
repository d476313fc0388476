"""Staff sign-in forms: password, then a code from the authenticator app or a backup code."""

from __future__ import annotations

import re
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Layout, Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from propel.second_factor import BACKUP_CODE_DIGITS, TOTP_CODE_DIGITS

# People copy codes with the spaces and dashes they were shown with; none of them matter.
_CODE_SEPARATORS = re.compile(r"[\s\-]+")


def _code_widget(max_length: int) -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "autofocus": True,
            # Room for the separators people paste along with the digits.
            "maxlength": max_length + 4,
            "spellcheck": "false",
            "autocapitalize": "off",
            "class": "font-monospace",
        }
    )


def _normalise_code(value: str) -> str:
    return _CODE_SEPARATORS.sub("", value or "")


class LoginForm(AuthenticationForm):
    """Django's AuthenticationForm (it passes the request on, which django-axes needs)."""

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.helper = FormHelper()
        self.helper.form_tag = False
        # The template writes the <form> tag and its CSRF token (and the `next` field).
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Field("username"),
            Field("password"),
            Submit("sign_in", _("Sign in")),
        )


class _CodeForm(forms.Form):
    submit_name = "continue"
    submit_label = _("Continue")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(Field("code"), Submit(self.submit_name, self.submit_label))


class SecondFactorForm(_CodeForm):
    """A 6-digit code from the authenticator app or a 10-digit backup code."""

    submit_name = "verify"
    code = forms.CharField(
        label=_("Code"),
        help_text=_(
            "The 6-digit code from your authenticator app, or one of your 10-digit backup codes."
        ),
        widget=_code_widget(BACKUP_CODE_DIGITS),
    )

    def clean_code(self) -> str:
        code = _normalise_code(self.cleaned_data["code"])
        if not code.isdigit() or len(code) not in (TOTP_CODE_DIGITS, BACKUP_CODE_DIGITS):
            raise forms.ValidationError(
                _("Enter the 6 digits from your app, or a 10-digit backup code."),
                code="format",
            )
        return code


class EnrolForm(_CodeForm):
    """The first code from a freshly set-up authenticator app."""

    submit_name = "confirm"
    submit_label = _("Confirm and continue")
    code = forms.CharField(
        label=_("6-digit code from your app"),
        widget=_code_widget(TOTP_CODE_DIGITS),
    )

    def clean_code(self) -> str:
        code = _normalise_code(self.cleaned_data["code"])
        if not code.isdigit() or len(code) != TOTP_CODE_DIGITS:
            raise forms.ValidationError(
                _("Enter the 6 digits your app shows, without letters."), code="format"
            )
        return code
