"""The questionnaire's form fields: one Django field per question, instrument item or medication
row cell, built from intake.questions and the instruments, with how a cleaned value is stored and
shown again (intake.forms.SectionForm puts them together per step).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.widgets import RegionalPhoneNumberWidget

from intake.answers import (
    Entry,
    question_text,
)
from intake.instruments import Instrument, shown, shown_item
from intake.questions import MAX_MEDICATIONS, MEDICATION_UNITS, Question

EARLIEST_DATE = dt.date(1900, 1, 1)
# How far ahead a date may be where the future is allowed (e.g. a next chemotherapy cycle).
FUTURE_LIMIT = dt.timedelta(days=2 * 366)
MEDICATIONS_KEY = "medications"
ROWS_FIELD = "medications-rows"
MIN_EMPTY_ROWS = 2
MIN_ROWS = 3
ADD_ROWS = 3
ROW_FIELDS = ("name", "dose", "unit", "times_per_day")
RADIO_KINDS = {"yes_no", "yes_no_unsure", "yes_no_na", "choice", "item"}


def row_field_name(index: int, part: str) -> str:
    return f"{MEDICATIONS_KEY}-{index}-{part}"


def clamp_rows(value: Any, default: int) -> int:
    try:
        rows = int(value)
    except (TypeError, ValueError):
        rows = default
    return max(MIN_ROWS, min(MAX_MEDICATIONS, rows))


def required_message(kind: str) -> str:
    if kind in RADIO_KINDS:
        return _t("Please choose an answer.")
    if kind == "multi":
        return _t("Please choose at least one.")
    if kind == "checkbox":
        return _t("Please tick this box to continue.")
    if kind == "medications":
        return _t("Please add at least one medicine, or answer No above.")
    return _t("Please answer this question.")


class QuestionDateField(forms.DateField):
    def __init__(self, *, future_ok: bool, today: dt.date, **kwargs: Any) -> None:
        self.future_ok = future_ok
        self.today = today
        super().__init__(
            input_formats=["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"],
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            error_messages={"invalid": _("Please enter a real date, for example 03/15/2021.")},
            **kwargs,
        )

    def to_python(self, value: Any) -> dt.date | None:
        try:
            return super().to_python(value)
        except OverflowError:  # a year beyond 9999
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value: dt.date | None) -> None:
        super().validate(value)
        if value is None:
            return
        if value < EARLIEST_DATE:
            raise forms.ValidationError(_("Please enter a date after 1900."), code="too_early")
        if not self.future_ok and value > self.today:
            raise forms.ValidationError(
                _("This date is in the future. Please check the year."), code="future"
            )
        if self.future_ok and value > self.today + FUTURE_LIMIT:
            raise forms.ValidationError(
                _("This date is too far ahead. Please check the year."), code="too_late"
            )


def _int_field(minimum: int | None, maximum: int | None, **kwargs: Any) -> forms.IntegerField:
    range_message = _t("Please enter a number from %(minimum)s to %(maximum)s.") % {
        "minimum": minimum,
        "maximum": maximum,
    }
    return forms.IntegerField(
        min_value=minimum,
        max_value=maximum,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "invalid": _("Please enter a whole number, using digits only."),
            "min_value": range_message,
            "max_value": range_message,
        },
        **kwargs,
    )


def _text_field(max_length: int, **kwargs: Any) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 3}) if max_length > 200 else forms.TextInput()
    return forms.CharField(
        max_length=max_length,
        widget=widget,
        error_messages={
            "max_length": _(
                "Please shorten this to %(limit_value)d characters or fewer "
                "(it has %(show_value)d)."
            )
        },
        **kwargs,
    )


def _choice_error() -> dict[str, Any]:
    return {"invalid_choice": _("Please choose one of the answers shown.")}


def question_field(question: Question, *, today: dt.date) -> forms.Field:
    common: dict[str, Any] = {"label": question_text(question), "required": False}
    if question.help_text:
        common["help_text"] = question.help_text
    kind = question.kind
    if kind in {"yes_no", "yes_no_unsure", "yes_no_na", "choice"}:
        return forms.ChoiceField(
            choices=question.options,
            widget=forms.RadioSelect,
            error_messages=_choice_error(),
            **common,
        )
    if kind == "multi":
        return forms.MultipleChoiceField(
            choices=question.options,
            widget=forms.CheckboxSelectMultiple,
            error_messages={"invalid_choice": _("Please choose from the answers shown.")},
            **common,
        )
    if kind == "int":
        return _int_field(question.minimum, question.maximum, **common)
    if kind == "decimal":
        return forms.DecimalField(
            min_value=question.minimum,
            max_value=question.maximum,
            max_digits=9,
            decimal_places=2,
            widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
            error_messages={"invalid": _("Please enter a number, such as 12 or 12.5.")},
            **common,
        )
    if kind == "date":
        return QuestionDateField(future_ok=question.future_ok, today=today, **common)
    if kind == "text":
        return _text_field(question.max_length, **common)
    if kind == "phone":
        return PhoneNumberField(
            region="US",
            widget=RegionalPhoneNumberWidget(region="US", attrs={"inputmode": "tel"}),
            error_messages={
                "invalid": _("Please enter a phone number we can call, such as (916) 555-0123.")
            },
            **common,
        )
    if kind == "checkbox":
        return forms.BooleanField(**common)
    raise ValueError(f"no field for question kind {kind!r}")


def item_field(instrument: Instrument, entry: Entry) -> forms.Field:
    assert entry.item is not None  # called for instrument items only
    # In the active language: the published Spanish text, or the English (never a translation).
    item = shown_item(entry.item)
    # The scale's end labels, verbatim ("0: No pain · 10: Worst pain imaginable").
    help_text = " · ".join(f"{value}: {label}" for value, label in item.anchors)
    if item.english_only and not shown(instrument).english_only:
        # One English item inside an instrument otherwise shown in Spanish (the GAD-7's
        # difficulty question): say why here; a wholly English instrument says it once above.
        help_text = _t(
            "This question is shown in English because we only use the published validated version."
        )
    return forms.TypedChoiceField(
        label=item.text,
        help_text=help_text,
        choices=[(option.value, option.label) for option in item.options],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        error_messages=_choice_error(),
    )


def medication_row_fields(index: int) -> dict[str, forms.Field]:
    number = index + 1
    return {
        "name": forms.CharField(
            label=_t("Medicine %(number)d: name") % {"number": number},
            max_length=120,
            required=False,
            error_messages={
                "max_length": _("Please shorten this to %(limit_value)d characters or fewer.")
            },
        ),
        "dose": forms.DecimalField(
            label=_t("Medicine %(number)d: dose") % {"number": number},
            min_value=Decimal(0),
            max_value=Decimal(100000),
            max_digits=9,
            decimal_places=3,
            required=False,
            widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
            error_messages={
                "invalid": _("Please enter the dose as a number, such as 10 or 2.5."),
                "min_value": _("Please enter a dose of 0 or more."),
                "max_value": _("Please check the dose: that number is too large."),
                "max_digits": _("Please check the dose: that number is too large."),
                "max_decimal_places": _("Please use at most 3 decimal places."),
            },
        ),
        "unit": forms.ChoiceField(
            label=_t("Medicine %(number)d: unit") % {"number": number},
            choices=[("", _("Choose…")), *MEDICATION_UNITS],
            required=False,
            error_messages=_choice_error(),
        ),
        "times_per_day": _int_field(
            1,
            24,
            label=_t("Medicine %(number)d: times a day") % {"number": number},
            required=False,
        ),
    }


def stored_value(kind: str, value: Any) -> Any:
    """A cleaned form value in the stored format of intake.questions (None: no answer)."""
    if value is None or value == "" or value == []:
        return None
    if kind == "date":
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "phone":
        return value.as_e164
    if kind == "checkbox":
        return bool(value)
    if kind == "multi":
        return list(value)
    return value


def initial_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            return None
    return value


@dataclass
class Block:
    """One thing the template draws: a question, an instrument, or the medicines group."""

    kind: str  # question, instrument, medications
    entry: Entry | None = None
    field: Any = None  # BoundField
    widget: str = ""  # radio, checkboxes, checkbox, select, input, textarea
    show_if: str = ""  # JSON for static/js/questionnaire.js; empty when always shown
    depends_on: str = ""  # wording of the question the condition refers to, for no-JS users
    depends_answer: str = ""
    depends_not: str = ""  # "shown unless every answer above is this one" (PHQ-9 difficulty)
    optional: bool = False
    # How a radio group is laid out (static/css/questionnaire.css): "numbers" for a 0-10 scale
    # (two rows of large targets on a phone), "grid" for short answer labels (a compact group of
    # large targets, labels in full), "" for a plain list.
    layout: str = ""
    # "en" on an instrument item shown in English on a Spanish page (published text only).
    lang: str = ""
    instrument: Instrument | None = None
    items: list[Block] = dataclasses.field(default_factory=list)
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rows_field: Any = None


# A radio group whose answers are all this short sits in a compact grid (PHQ-9's "More than half
# the days" is 23 characters); longer ones stay a list, one answer a line.
GRID_MAX_OPTIONS = 5
GRID_MAX_LABEL = 24


def radio_layout(form_field: forms.Field) -> str:
    """Block.layout for a field: "numbers", "grid" or "" (see Block)."""
    if not isinstance(form_field.widget, forms.RadioSelect):
        return ""
    labels = [str(label) for value, label in form_field.choices if value != ""]  # type: ignore[attr-defined]
    if labels and all(len(label) <= 2 for label in labels):
        return "numbers"
    if len(labels) <= GRID_MAX_OPTIONS and all(len(label) <= GRID_MAX_LABEL for label in labels):
        return "grid"
    return ""


def widget_kind(form_field: forms.Field) -> str:
    widget = form_field.widget
    if isinstance(widget, forms.RadioSelect):
        return "radio"
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    return "input"
