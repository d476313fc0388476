"""The questionnaire's forms: one per section, generated from intake.questions and the instruments.

Every field is optional at the field level and required-ness is decided in `clean()` from the
answers as they would be after this step (saved answers plus this step's), so a question whose
show_if condition is not met is neither required nor saved, with or without JavaScript. Hidden
questions keep any answer stored earlier; it is ignored (intake.screening.effective_answers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.widgets import RegionalPhoneNumberWidget

from intake.answers import (
    Condition,
    Entry,
    effective_answers,
    is_blank,
    question_text,
    section_entries,
    shown_keys,
)
from intake.instruments import Instrument
from intake.questions import MAX_MEDICATIONS, MEDICATION_UNITS, SCREENING, Question, section

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


def _required_message(kind: str) -> str:
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
    item = entry.item
    # The scale's end labels, verbatim ("0: No pain · 10: Worst pain imaginable").
    anchors = " · ".join(f"{value}: {label}" for value, label in item.anchors)
    return forms.TypedChoiceField(
        label=item.text,
        help_text=anchors,
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


def _stored(kind: str, value: Any) -> Any:
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


def _initial(kind: str, value: Any) -> Any:
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
    inline: bool = False  # a 0-10 scale: options side by side
    instrument: Instrument | None = None
    items: list[Block] = dataclasses.field(default_factory=list)
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rows_field: Any = None


def _widget_kind(form_field: forms.Field) -> str:
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


class SectionForm(forms.Form):
    """One step of a questionnaire (`kind`: the screening by default, or the check-in).

    `saved` is the round's stored answers: they fill the form and decide conditions that depend on
    other steps (the TAPS-1 alcohol item depends on sex, asked in the first step). `answers()`
    gives this step's answers in stored form for `submission_save_section`.
    """

    use_required_attribute = False

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        section_key: str,
        saved: Mapping[str, Any],
        today: dt.date,
        rows: int | None = None,
        add_rows: bool = False,
        kind: str = SCREENING,
    ) -> None:
        super().__init__(data)
        self.kind = kind
        self.section = section(section_key, kind)
        self.saved = dict(saved)
        self.today = today
        self.entries: list[Entry] = []
        self.row_count = 0
        self._blocks_spec: list[tuple[str, Any]] = []
        counted = effective_answers(self.saved, kind)
        by_instrument: dict[str, list[Entry]] = {}
        for entry in section_entries(section_key, kind):
            # A condition on an answer from another step is decided now, from the saved answers:
            # the question is left out of this step entirely when it does not apply.
            external = [c for c in entry.conditions if not self._internal(c)]
            if not all(condition.met(counted) for condition in external):
                continue
            self.entries.append(entry)
            if entry.kind == MEDICATIONS_KEY:
                self._add_medication_fields(data, rows, add_rows)
            elif entry.item is not None:
                self.fields[entry.key] = item_field(entry.instrument, entry)
            else:
                self.fields[entry.key] = question_field(entry.question, today=today)
            if entry.item is not None:
                if entry.instrument.id not in by_instrument:
                    by_instrument[entry.instrument.id] = []
                    self._blocks_spec.append(("instrument", entry.instrument))
                by_instrument[entry.instrument.id].append(entry)
            else:
                self._blocks_spec.append(("entry", entry))
        self._by_instrument = by_instrument
        self._style_widgets()
        if data is None:
            for entry in self.entries:
                if entry.key in self.fields:
                    self.initial[entry.key] = _initial(entry.kind, self.saved.get(entry.key))

    def _style_widgets(self) -> None:
        for form_field in self.fields.values():
            kind = _widget_kind(form_field)
            css = {
                "radio": "form-check-input",
                "checkboxes": "form-check-input",
                "checkbox": "form-check-input",
                "select": "form-select",
            }.get(kind, "form-control")
            if not form_field.widget.is_hidden:
                form_field.widget.attrs["class"] = css

    def full_clean(self) -> None:
        super().full_clean()
        for name in self._errors or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    # -- medicines: a repeated group of N rows, without a management form ---------------------

    def _add_medication_fields(
        self, data: Mapping[str, Any] | None, rows: int | None, add_rows: bool
    ) -> None:
        saved_rows = self.saved.get(MEDICATIONS_KEY)
        saved_rows = saved_rows if isinstance(saved_rows, list) else []
        default = len(saved_rows) + MIN_EMPTY_ROWS
        if data is not None:
            count = clamp_rows(data.get(ROWS_FIELD), default)
        else:
            count = clamp_rows(rows if rows is not None else default, default)
            count = max(count, clamp_rows(default, default))
        if add_rows:
            count = clamp_rows(count + ADD_ROWS, default)
        self.row_count = count
        self.fields[ROWS_FIELD] = forms.IntegerField(
            widget=forms.HiddenInput, required=False, initial=count
        )
        for index in range(count):
            for part, form_field in medication_row_fields(index).items():
                self.fields[row_field_name(index, part)] = form_field
            if data is None and index < len(saved_rows) and isinstance(saved_rows[index], dict):
                for part in ROW_FIELDS:
                    self.initial[row_field_name(index, part)] = saved_rows[index].get(part)
        if data is not None:
            # The hidden count must say how many rows are on the page now (after "add rows").
            self.data = self.data.copy()
            self.data[ROWS_FIELD] = str(count)

    @property
    def can_add_rows(self) -> bool:
        return 0 < self.row_count < MAX_MEDICATIONS

    def _medication_rows(self) -> list[dict[str, Any]]:
        rows = []
        for index in range(self.row_count):
            values = {
                part: self.cleaned_data.get(row_field_name(index, part)) for part in ROW_FIELDS
            }
            has_error = any(row_field_name(index, part) in self._errors for part in ROW_FIELDS)
            rows.append({"index": index, "values": values, "has_error": has_error})
        return rows

    def _clean_medications(self, required: bool) -> list[dict[str, Any]] | None:
        kept = []
        for row in self._medication_rows():
            values = row["values"]
            if all(is_blank(values[part]) for part in ROW_FIELDS) and not row["has_error"]:
                continue
            index = row["index"]
            name_field = row_field_name(index, "name")
            if is_blank(values["name"]) and name_field not in self._errors:
                self.add_error(
                    name_field, _t("Please give the medicine's name, or clear this row.")
                )
                continue
            if row["has_error"]:
                continue
            if values["dose"] is not None and is_blank(values["unit"]):
                self.add_error(
                    row_field_name(index, "unit"), _t("Please choose the unit for this dose.")
                )
                continue
            kept.append(
                {
                    "name": values["name"],
                    "dose": None
                    if values["dose"] is None
                    else format(values["dose"].normalize(), "f"),
                    "unit": values["unit"] or None,
                    "times_per_day": values["times_per_day"],
                }
            )
        if required and not kept and not any(r["has_error"] for r in self._medication_rows()):
            self.add_error(row_field_name(0, "name"), _required_message(MEDICATIONS_KEY))
        return kept or None

    # -- validation ------------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        values: dict[str, Any] = {}
        for entry in self.entries:
            if entry.kind == MEDICATIONS_KEY:
                continue
            if entry.key in self._errors:
                values[entry.key] = None
            else:
                values[entry.key] = _stored(entry.kind, cleaned.get(entry.key))
        merged = {**self.saved, **values}
        for key, value in values.items():
            if value is None:
                merged.pop(key, None)
        shown = shown_keys(merged, self.kind)
        self._answers: dict[str, Any] = {}
        for entry in self.entries:
            if entry.key not in shown:
                # Not asked given the answers above: not required, errors dropped, not saved.
                for name in self._field_names(entry):
                    self._errors.pop(name, None)
                continue
            if entry.kind == MEDICATIONS_KEY:
                self._answers[entry.key] = self._clean_medications(entry.required)
                continue
            value = values.get(entry.key)
            if entry.required and is_blank(value) and entry.key not in self._errors:
                self.add_error(entry.key, _required_message(entry.kind))
            self._answers[entry.key] = value
        return cleaned

    def _field_names(self, entry: Entry) -> list[str]:
        if entry.kind == MEDICATIONS_KEY:
            return [row_field_name(i, part) for i in range(self.row_count) for part in ROW_FIELDS]
        return [entry.key]

    def answers(self) -> dict[str, Any]:
        """This step's answers in stored form (None removes an answer). Call after is_valid()."""
        return dict(self._answers)

    # -- rendering -------------------------------------------------------------------------------

    def _internal(self, condition: Condition | None) -> bool:
        own_keys = {entry.key for entry in section_entries(self.section.key, self.kind)}
        return condition is not None and set(condition.keys) <= own_keys

    def _describe(self, condition: Condition | None) -> dict[str, str]:
        """What the template needs to show or hide a part as answers change on this page: the
        condition as JSON for the script, and for readers without it the question it depends on."""
        if not self._internal(condition):
            return {}
        described = {"show_if": json.dumps(condition.as_json())}
        if condition.op == ">" and condition.values == (0,):
            first = next((e for e in self.entries if e.key == condition.keys[0]), None)
            if first is not None:
                described["depends_not"] = first.option_label(0)
            return described
        if condition.op == "in" and len(condition.keys) == 1:
            parent = next((e for e in self.entries if e.key == condition.keys[0]), None)
            if parent is None:
                return described
            described["depends_on"] = str(parent.text)
            described["depends_answer"] = " / ".join(
                parent.option_label(value) for value in condition.values
            )
        return described

    def _question_block(self, entry: Entry) -> Block:
        bound = self[entry.key]
        return Block(
            kind="question",
            entry=entry,
            field=bound,
            widget=_widget_kind(bound.field),
            optional=not entry.required,
            inline=entry.item is not None and all(len(o.label) <= 2 for o in entry.item.options),
            **self._describe(entry.condition),
        )

    def blocks(self) -> list[Block]:
        blocks: list[Block] = []
        for kind, spec in self._blocks_spec:
            if kind == "instrument":
                entries = self._by_instrument[spec.id]
                blocks.append(
                    Block(
                        kind="instrument",
                        instrument=spec,
                        items=[self._question_block(entry) for entry in entries],
                        **self._describe(entries[0].block_condition),
                    )
                )
            elif spec.kind == MEDICATIONS_KEY:
                rows = [
                    {
                        "number": index + 1,
                        **{part: self[row_field_name(index, part)] for part in ROW_FIELDS},
                    }
                    for index in range(self.row_count)
                ]
                blocks.append(
                    Block(
                        kind="medications",
                        entry=spec,
                        rows=rows,
                        rows_field=self[ROWS_FIELD],
                        **self._describe(spec.condition),
                    )
                )
            else:
                blocks.append(self._question_block(spec))
        return blocks

    def error_links(self) -> list[tuple[str, str, str]]:
        """(anchor id, field label, message) for the error summary at the top of the page."""
        links = []
        for name in self.fields:
            errors = self.errors.get(name)
            if not errors:
                continue
            bound = self[name]
            anchor = bound.auto_id
            if bound.field.widget.use_fieldset and not isinstance(
                bound.field.widget, forms.CheckboxInput
            ):
                anchor = f"{bound.auto_id}_0"
            links.append((anchor, str(bound.label), str(errors[0])))
        return links
