"""The questionnaire's forms: one per section, generated from intake.questions and the instruments.

Every field is optional at the field level and required-ness is decided in `clean()` from the
answers as they would be after this step (saved answers plus this step's), so a question whose
show_if condition is not met is neither required nor saved, with or without JavaScript. Hidden
questions keep any answer stored earlier; it is ignored (intake.screening.effective_answers).
"""

from __future__ import annotations

# ROW_FIELDS, ROWS_FIELD and row_field_name are re-exported: the medication rows' field names
# are part of this module's interface to the page and its tests.
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, TypedDict, cast

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext as _t

from intake.answers import (
    Condition,
    Entry,
    effective_answers,
    is_blank,
    section_entries,
    shown_keys,
)
from intake.instruments import shown
from intake.question_fields import (
    ADD_ROWS,
    MEDICATIONS_KEY,
    MIN_EMPTY_ROWS,
    ROW_FIELDS,
    ROWS_FIELD,
    Block,
    clamp_rows,
    initial_value,
    item_field,
    medication_row_fields,
    question_field,
    radio_layout,
    required_message,
    row_field_name,
    stored_value,
    widget_kind,
)
from intake.questions import MAX_MEDICATIONS, SCREENING, section


class _Described(TypedDict, total=False):
    """Block's condition fields, as SectionForm._describe fills them."""

    show_if: str
    depends_on: str
    depends_answer: str
    depends_not: str


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
        rows: int | str | None = None,
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
                assert entry.instrument is not None  # an item belongs to an instrument
                self.fields[entry.key] = item_field(entry.instrument, entry)
            else:
                assert entry.question is not None  # not an item, so a question
                self.fields[entry.key] = question_field(entry.question, today=today)
            if entry.item is not None:
                assert entry.instrument is not None
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
                    self.initial[entry.key] = initial_value(entry.kind, self.saved.get(entry.key))

    def _style_widgets(self) -> None:
        for form_field in self.fields.values():
            kind = widget_kind(form_field)
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
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    # -- medicines: a repeated group of N rows, without a management form ---------------------

    def _add_medication_fields(
        self, data: Mapping[str, Any] | None, rows: int | str | None, add_rows: bool
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
            # Bound to request.POST (a QueryDict), or to a dict in tests: both copy.
            bound = cast("QueryDict | dict[str, Any]", self.data).copy()
            bound[ROWS_FIELD] = str(count)
            self.data = bound

    @property
    def can_add_rows(self) -> bool:
        return 0 < self.row_count < MAX_MEDICATIONS

    def _medication_rows(self) -> list[dict[str, Any]]:
        rows = []
        for index in range(self.row_count):
            values = {
                part: self.cleaned_data.get(row_field_name(index, part)) for part in ROW_FIELDS
            }
            has_error = any(row_field_name(index, part) in self.errors for part in ROW_FIELDS)
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
            if is_blank(values["name"]) and name_field not in self.errors:
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
            self.add_error(row_field_name(0, "name"), required_message(MEDICATIONS_KEY))
        return kept or None

    # -- validation ------------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        values: dict[str, Any] = {}
        for entry in self.entries:
            if entry.kind == MEDICATIONS_KEY:
                continue
            if entry.key in self.errors:
                values[entry.key] = None
            else:
                values[entry.key] = stored_value(entry.kind, cleaned.get(entry.key))
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
                    self.errors.pop(name, None)
                continue
            if entry.kind == MEDICATIONS_KEY:
                self._answers[entry.key] = self._clean_medications(entry.required)
                continue
            value = values.get(entry.key)
            if entry.required and is_blank(value) and entry.key not in self.errors:
                self.add_error(entry.key, required_message(entry.kind))
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

    def _describe(self, condition: Condition | None) -> _Described:
        """What the template needs to show or hide a part as answers change on this page: the
        condition as JSON for the script, and for readers without it the question it depends on."""
        if condition is None or not self._internal(condition):
            return {}
        described: _Described = {"show_if": json.dumps(condition.as_json())}
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
            widget=widget_kind(bound.field),
            optional=not entry.required,
            layout=radio_layout(bound.field),
            **self._describe(entry.condition),
        )

    def blocks(self) -> list[Block]:
        blocks: list[Block] = []
        for kind, spec in self._blocks_spec:
            if kind == "instrument":
                entries = self._by_instrument[spec.id]
                shown_ = shown(spec)  # the wording in the active language (published only)
                items = [self._question_block(entry) for entry in entries]
                for item_block, entry in zip(items, entries, strict=True):
                    item = shown_.item(entry.key)
                    # One English item in an instrument otherwise in Spanish (a wholly English
                    # instrument is marked lang="en" as a whole, with its note above it).
                    if item.english_only and not shown_.english_only:
                        item_block.lang = "en"
                blocks.append(
                    Block(
                        kind="instrument",
                        instrument=shown_,
                        items=items,
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
