from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from intake.consent import consent_preferences_set
from intake.models import ConsentSource, OnCallClinician, Patient
from intake.paperwork_models import Requirement, RequirementWaiver
from propel.admin import PatientReadAuditMixin

CONSENT_FIELDS = ("consent_email", "consent_sms")


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = (
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "mobile",
            *CONSENT_FIELDS,
            "escort_name",
            "escort_phone",
            "link_version",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("consent_sms") and not data.get("mobile"):
            self.add_error("consent_sms", "Text messages need a mobile number.")
        return data


@admin.register(Patient)
class PatientAdmin(PatientReadAuditMixin, admin.ModelAdmin):
    """Every list page and patient page shown is audited (PatientReadAuditMixin). Consent changes
    go through intake.consent (source "staff", the staff member, reminders re-planned)."""

    form = PatientAdminForm
    list_display = ("last_name", "first_name", "date_of_birth", "email", "mobile")
    search_fields = ("last_name", "first_name", "email")
    # What the front desk asked on the call (intake.patient_registration): shown, not edited.
    readonly_fields = (
        "consent_email_at",
        "consent_sms_at",
        "preferred_language",
        "heard_about",
        "heard_about_other",
        "referrer_name",
        "referrer_practice",
        "referrer_phone",
        "created_at",
        "updated_at",
    )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        wanted = {name: form.cleaned_data[name] for name in CONSENT_FIELDS}
        for name in CONSENT_FIELDS:
            # Saved as they were (a new patient: the defaults); the change goes through the door.
            setattr(obj, name, form.initial.get(name, getattr(Patient(), name)))
        super().save_model(request, obj, form, change)
        consent_preferences_set(
            patient_id=obj.pk,
            email=wanted["consent_email"],
            sms=wanted["consent_sms"],
            source=ConsentSource.STAFF,
            request=request,
        )
        obj.refresh_from_db()

    def patient_id_of(self, obj: Any) -> int | None:
        return int(obj.pk)


@admin.register(OnCallClinician)
class OnCallClinicianAdmin(admin.ModelAdmin):
    """The crisis rota (intake.crisis): rota entries are texted in order, escalation contacts
    (the admin) at every escalation step of an unacknowledged immediate alert."""

    list_display = ("role", "order", "user", "mobile", "active")
    list_editable = ("order", "active")
    list_filter = ("role", "active")
    ordering = ("role", "order", "pk")


# --- What must be on file (issue 21, intake.requirements) ---------------------------------------


@admin.register(Requirement)
class RequirementAdmin(admin.ModelAdmin):
    """What the clinic wants on file before each step: a signed form or a kind of document.
    intake.requirements decides what is missing; a form with no version in force is not asked."""

    list_display = ("__str__", "step", "consent_form", "document_kind", "waivable", "active")
    list_editable = ("waivable", "active")
    list_filter = ("step", "active", "waivable")
    fields = ("step", "consent_form", "document_kind", "waivable", "active")
    ordering = ("step", "pk")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Waivers point at requirements: one no longer wanted is taken out of force instead.
        return False


@admin.register(RequirementWaiver)
class RequirementWaiverAdmin(PatientReadAuditMixin, admin.ModelAdmin):
    """Clinicians' waivers, read-only (append-only; given on the staff patient page)."""

    list_display = ("patient", "requirement", "by", "at")
    list_filter = ("requirement__step",)
    fields = ("patient", "requirement", "reason", "by", "at")
    readonly_fields = fields
    ordering = ("-at", "-pk")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
