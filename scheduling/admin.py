"""Clinic settings for admins: rooms, clinicians, hours, closures, types, the vital-signs lines.

Appointments are shown read-only here: every booking and status change goes through
scheduling.booking, which keeps the no-overlap guarantee, the history and the audit log.

Clinic policy (whether a type needs clearance, the vital-signs gate lines) is saved only through
scheduling.policy's services: the forms below ask for a reason whenever a policy value changes,
and the service writes the audit event with before and after.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from propel.admin import PatientReadAuditMixin
from propel.audit import audit_record
from scheduling import closures, policy
from scheduling.errors import SchedulingError
from scheduling.models import (
    Appointment,
    AppointmentStatusChange,
    AppointmentType,
    BlockedTime,
    Clinician,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
    VitalsPolicy,
    WorkingHours,
)

REASON_FIELD = "policy_reason"


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Needed when a clinic policy value changes. Kept in the audit log and shown to "
            "clinicians on their review page: do not name patients."
        ),
    )


def _require_reason(form: forms.BaseForm, policy_changed: bool) -> None:
    if policy_changed and not (form.cleaned_data.get(REASON_FIELD) or "").strip():
        form.add_error(
            REASON_FIELD,
            gettext("Please say why the clinic's policy is changing; the reason is recorded."),
        )


class PolicyAdminMixin:
    """A policy service may still refuse at save (another admin changed the row meanwhile, a lock
    wait timed out): the admin's transaction is rolled back and the refusal shown as a message."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
        except SchedulingError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(request.get_full_path())


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "active")
    inlines = [WorkingHoursInline]


class AppointmentTypeForm(forms.ModelForm):
    policy_reason = _reason_field()

    class Meta:
        model = AppointmentType
        fields = (
            "code",
            "name",
            "duration_minutes",
            "room_kind",
            "needs_clinician",
            "self_bookable",
            "needs_clearance",
            "active",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        # A new type sets its clearance policy too, so it needs a reason as well.
        _require_reason(
            self,
            self.instance.pk is None
            or bool(policy.APPOINTMENT_TYPE_POLICY_FIELDS & set(self.changed_data)),
        )
        return cleaned


@admin.register(AppointmentType)
class AppointmentTypeAdmin(PolicyAdminMixin, admin.ModelAdmin):
    form = AppointmentTypeForm
    list_display = (
        "name",
        "code",
        "duration_minutes",
        "room_kind",
        "self_bookable",
        "needs_clearance",
        "active",
    )

    def save_model(
        self, request: HttpRequest, obj: AppointmentType, form: forms.ModelForm, change: bool
    ) -> None:
        reason = form.cleaned_data.get(REASON_FIELD, "")
        if not change:
            policy.appointment_type_create(
                actor=request.user, kind=obj, reason=reason, request=request
            )
            return
        others = [
            name
            for name in form.changed_data
            if name != REASON_FIELD and name not in policy.APPOINTMENT_TYPE_POLICY_FIELDS
        ]
        if others:
            # The policy field is left out of this save: it changes only through the service.
            obj.save(update_fields=others)
            audit_record(
                action="appointment_type.changed",
                request=request,
                obj=obj,
                detail={
                    "before": {name: form.initial.get(name) for name in others},
                    "after": {name: form.cleaned_data.get(name) for name in others},
                },
            )
        if "needs_clearance" in form.changed_data:
            policy.appointment_type_policy_change(
                actor=request.user,
                type_id=obj.pk,
                needs_clearance=obj.needs_clearance,
                reason=reason,
                request=request,
            )


class VitalsPolicyForm(forms.ModelForm):
    policy_reason = _reason_field()

    class Meta:
        model = VitalsPolicy
        fields = policy.VITALS_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        values = {name: cleaned.get(name) for name in policy.VITALS_FIELDS}
        if all(value is not None for value in values.values()):
            for name, problem in policy.vitals_problems(values).items():
                self.add_error(name, problem)
        _require_reason(self, bool(set(policy.VITALS_FIELDS) & set(self.changed_data)))
        return cleaned


@admin.register(VitalsPolicy)
class VitalsPolicyAdmin(PolicyAdminMixin, admin.ModelAdmin):
    """One row, made from the VITALS_* settings on first use; never added or deleted here."""

    form = VitalsPolicyForm
    readonly_fields = ("updated_at", "updated_by")
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        row = policy.vitals_policy()
        return redirect(reverse("admin:scheduling_vitalspolicy_change", args=[row.pk]))

    def save_model(
        self, request: HttpRequest, obj: VitalsPolicy, form: forms.ModelForm, change: bool
    ) -> None:
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in policy.VITALS_FIELDS
        }
        if changes:
            policy.policy_change_vitals(
                actor=request.user,
                changes=changes,
                reason=form.cleaned_data.get(REASON_FIELD, ""),
                request=request,
            )


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ("weekday", "opens", "closes")


class ClosureForm(forms.ModelForm):
    """Refuses days with booked visits (scheduling.closures' rule): the staff closure page lists
    them and cancels, notifies and leaves them to rebook; the admin has no such step."""

    class Meta:
        model = Closure
        fields = ("start_date", "end_date", "reason")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data (the stubs allow None)
        first, last = cleaned.get("start_date"), cleaned.get("end_date")
        hits = closures.closure_hits(first, last) if first and last and first <= last else []
        if hits:
            refusal = SchedulingError("closure_has_visits", count=len(hits)).message
            page = reverse("scheduling:closure_new") + f"?start_date={first}"
            raise forms.ValidationError(f"{refusal} ({page})")
        return cleaned


@admin.register(Closure)
class ClosureAdmin(PolicyAdminMixin, admin.ModelAdmin):
    """Saved through scheduling.closures.closure_save, which re-checks under its locks that no
    visit is booked on the days."""

    form = ClosureForm
    list_display = ("start_date", "end_date", "reason")
    date_hierarchy = "start_date"

    def save_model(
        self, request: HttpRequest, obj: Closure, form: forms.ModelForm, change: bool
    ) -> None:
        result = closures.closure_save(
            closure_id=obj.pk if change else None,
            start_date=obj.start_date,
            end_date=obj.end_date,
            reason=obj.reason,
            actor=request.user,
            request=request,
        )
        obj.pk = result.closure.pk


@admin.register(ExtraOpening)
class ExtraOpeningAdmin(admin.ModelAdmin):
    list_display = ("date", "opens", "closes", "note")


class StatusHistoryInline(admin.TabularInline):
    model = AppointmentStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "at", "by", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(PatientReadAuditMixin, admin.ModelAdmin):
    """Read-only; every list page and appointment page shown is audited (PatientReadAuditMixin)."""

    list_display = ("start", "patient", "appointment_type", "room", "clinician", "status")
    list_filter = ("status", "appointment_type", "room")
    list_select_related = ("patient", "appointment_type", "room", "clinician")
    date_hierarchy = "start"
    inlines = [StatusHistoryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BlockedTime)
class BlockedTimeAdmin(admin.ModelAdmin):
    """Read-only: blocked time is added on the staff time-off page (scheduling.time_off), which
    lists the booked visits it would hit before saving."""

    list_display = ("start", "end", "clinician", "room", "reason", "note")
    list_filter = ("reason",)
    list_select_related = ("clinician", "room")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The FHIR API's clients (issue 23) are registered by their own module.
from scheduling.fhir import admin as _fhir_admin  # noqa: E402, F401
