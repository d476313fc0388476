"""Forms on the clinician's chart: acknowledge a flag, acknowledge a crisis alert, decide.

They validate and normalise what a clinician typed; the rules that decide whether a decision may
be recorded (every flag acknowledged, an override reason for a hard stop, ...) live in
intake.decisions, whose DecisionError the views turn into form errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Layout, Submit
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from intake import questions as questions_
from intake.decisions import MAX_TEXT
from intake.models import DecisionKind
from propel import formatting

# The services' limit (intake.decisions.MAX_TEXT), checked here too so that longer input is an
# error on its field.
NOTE_MAX_LENGTH = MAX_TEXT

TOO_LARGE = _(
    "That was far too much text to read, so nothing was saved. Notes hold at most "
    "%(limit)s characters."
)


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _note_field(label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=NOTE_MAX_LENGTH,
        widget=_textarea(),
        error_messages={
            "max_length": _(
                "Please shorten this to at most %(limit_value)d characters (it has %(show_value)d)."
            )
        },
    )


def mark_too_large(form: forms.Form, field: str | None) -> forms.Form:
    """Turn `form` (bound to empty data) into one showing that the request was too large to
    read, on `field` (or the whole form)."""
    form.is_valid()
    form.errors.clear()
    form.add_error(field, str(TOO_LARGE % {"limit": NOTE_MAX_LENGTH}))
    return form


def _helper(
    action: str, submit: Any, *fields: Any, prefix: str | None = None, **attrs: Any
) -> FormHelper:
    """A POST form to `action`. Several forms share the chart, so the submit button's id comes
    from the form's prefix (ids stay unique on the page)."""
    helper = FormHelper()
    helper.form_action = action
    helper.form_method = "post"
    helper.layout = Layout(*fields)
    helper.add_input(Submit("submit", submit, css_id=f"{prefix or 'decision'}-submit", **attrs))
    return helper


class FlagAcknowledgeForm(forms.Form):
    note = _note_field(
        _("Note"), _("What you make of this flag: seen, checked with the patient, why it is fine.")
    )

    def __init__(
        self, *args: Any, action: str = "", first: bool = True, title: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        submit = _("Acknowledge") if first else _("Add a note")
        # Every flag has a button with the same text: its accessible name says which flag (and
        # starts with the visible text).
        self.helper = _helper(
            action,
            submit,
            Field("note"),
            prefix=self.prefix,
            aria_label=f"{submit}: {title}" if title else None,
        )


class CrisisAlertAcknowledgeForm(forms.Form):
    outcome = _note_field(
        _("Outcome"),
        _("Who spoke to the patient, when, and what was agreed (safety plan, referral, 911)."),
    )

    def __init__(self, *args: Any, action: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            action, _("Acknowledge the alert"), Field("outcome"), prefix=self.prefix
        )


def section_choices() -> list[tuple[str, str]]:
    return [(s.key, f"{n}. {s.title}") for n, s in enumerate(questions_.SECTIONS, start=1)]


class DecisionForm(forms.Form):
    """A clearance decision on one round.

    `submission_id` and `after` (the id of the patient's latest decision when the page was drawn,
    0 for none) say what the clinician was looking at: if a newer round arrived or someone decided
    in between (or the same form is sent twice) the view refuses with a clear message instead of
    recording a decision nobody reviewed.
    """

    kind = forms.ChoiceField(
        label=_("Decision"), choices=DecisionKind.choices, widget=forms.RadioSelect
    )
    valid_until = forms.DateField(
        label=_("Cleared until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Only for “cleared”: the last day the clearance holds."),
    )
    reason = forms.CharField(
        label=_("Reason, or message to the patient"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=_textarea(),
        help_text=_(
            "Declined: why (staff only). Needs more information: the message the patient reads "
            "with the reopened steps, in plain words, without a flag's wording. Cleared: an "
            "optional note."
        ),
    )
    override_reason = forms.CharField(
        label=_("Override reason for the hard stop"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=_textarea(),
        help_text=_("Required to clear a patient despite a hard stop: why it is safe."),
    )
    sections = forms.MultipleChoiceField(
        label=_("Steps to reopen for the patient"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Needs more information: the steps the patient answers again."),
    )
    submission_id = forms.IntegerField(widget=forms.HiddenInput)
    after = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(
        self,
        *args: Any,
        today: dt.date,
        has_hard_stop: bool,
        action: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.has_hard_stop = has_hard_stop
        self.latest_allowed = today + dt.timedelta(days=settings.CLEARANCE_MAX_DAYS)
        self.fields["valid_until"].initial = today + dt.timedelta(
            days=settings.CLEARANCE_VALID_DAYS
        )
        self.fields["valid_until"].widget.attrs.update(
            min=(today + dt.timedelta(days=1)).isoformat(), max=self.latest_allowed.isoformat()
        )
        cast(forms.ChoiceField, self.fields["sections"]).choices = section_choices()
        fields: list[Any] = ["kind", "valid_until", "reason"]
        if has_hard_stop:
            fields.append("override_reason")
        else:
            del self.fields["override_reason"]
        fields += ["sections", "submission_id", "after"]
        self.helper = _helper(action, _("Record decision"), *fields)

    def clean_valid_until(self) -> dt.date | None:
        valid_until = self.cleaned_data.get("valid_until")
        if valid_until is None:
            return None
        if valid_until <= self.today:
            raise forms.ValidationError(_("A clearance must last until a date after today."))
        if valid_until > self.latest_allowed:
            raise forms.ValidationError(
                _("A clearance can last at most %(days)d days: until %(date)s at the latest.")
                % {
                    "days": settings.CLEARANCE_MAX_DAYS,
                    "date": formatting.local_date(self.latest_allowed),
                }
            )
        return valid_until

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data (the stubs allow None)
        kind = data.get("kind")
        if kind == DecisionKind.CLEARED:
            if "valid_until" not in self.errors and data.get("valid_until") is None:
                self.add_error("valid_until", _("Say until when the clearance holds."))
            if self.has_hard_stop and not (data.get("override_reason") or "").strip():
                self.add_error(
                    "override_reason",
                    _("This round has a hard stop: give the reason for clearing despite it."),
                )
        elif kind == DecisionKind.DECLINED:
            if not (data.get("reason") or "").strip():
                self.add_error("reason", _("Say why the patient is declined."))
        elif kind == DecisionKind.NEEDS_INFORMATION:
            if not (data.get("reason") or "").strip():
                self.add_error(
                    "reason", _("Write the message to the patient saying what is needed.")
                )
            if not data.get("sections") and "sections" not in self.errors:
                self.add_error(
                    "sections", _("Choose at least one step for the patient to answer again.")
                )
        return data

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for intake.decisions.clearance_decide (besides ids and actor)."""
        data = self.cleaned_data
        kind = data["kind"]
        return {
            "kind": kind,
            "valid_until": data.get("valid_until") if kind == DecisionKind.CLEARED else None,
            "reason": (data.get("reason") or "").strip(),
            "override_reason": (data.get("override_reason") or "").strip()
            if kind == DecisionKind.CLEARED
            else "",
            "sections": tuple(data.get("sections") or ())
            if kind == DecisionKind.NEEDS_INFORMATION
            else (),
        }


# DecisionError codes (intake.decisions) that belong to one field of the decision form; the
# others (unacknowledged flags, an open crisis alert, a newer round, busy) concern the whole form.
DECISION_ERROR_FIELDS = {
    "override_needed": "override_reason",
    "valid_until_past": "valid_until",
    "valid_until_too_far": "valid_until",
    "reason_required": "reason",
    "message_required": "reason",
    "flag_wording": "reason",
    "sections_required": "sections",
    "unknown_section": "sections",
    "unknown_kind": "kind",
}


def add_decision_error(form: DecisionForm, error: Any) -> None:
    """Show a DecisionError on the field it is about, or on the whole form."""
    field = DECISION_ERROR_FIELDS.get(getattr(error, "code", ""))
    form.add_error(field if field in form.fields else None, error.message)
