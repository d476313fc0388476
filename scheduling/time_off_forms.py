"""The form behind the staff time-off page (scheduling.time_off_views): clinic wall-clock times
in, UTC instants out (scheduling.time_fields, DST-correct); the rules are scheduling.time_off's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from scheduling.models import BlockedReason, Clinician, Room
from scheduling.time_fields import ClinicDateTimeField, ClinicTimeForm, OccurrenceField


class TimeOffForm(ClinicTimeForm):
    clinician = forms.ModelChoiceField(
        label=_("Clinician"),
        queryset=Clinician.objects.filter(active=True),
        required=False,
        empty_label=_("No clinician (a room)"),
    )
    room = forms.ModelChoiceField(
        label=_("Room"),
        queryset=Room.objects.filter(active=True),
        required=False,
        empty_label=_("No room (a clinician)"),
    )
    start = ClinicDateTimeField(label=_("From"))
    start_occurrence = OccurrenceField()
    end = ClinicDateTimeField(label=_("Until"))
    end_occurrence = OccurrenceField()
    reason = forms.ChoiceField(label=_("Reason"), choices=BlockedReason.choices)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("Shown to staff on the calendar. No patient details, please."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        clinician, room = cleaned.get("clinician"), cleaned.get("room")
        if (clinician is None) == (room is None):
            self.add_error("clinician", _("Choose a clinician or a room (one of them)."))
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None and start.tzinfo and end.tzinfo and end <= start:
            self.add_error("end", _("The end must be after the start."))
        return cleaned

    def resource_ids(self) -> dict[str, int | None]:
        clinician, room = self.cleaned_data["clinician"], self.cleaned_data["room"]
        return {
            "clinician_id": clinician.pk if clinician else None,
            "room_id": room.pk if room else None,
        }
