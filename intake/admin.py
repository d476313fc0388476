from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from intake.consent import consent_preferences_set
from intake.consent_forms import consent_version_publish
from intake.models import ConsentSource, OnCallClinician, Patient
from intake.paperwork_models import (
    ConsentForm,
    ConsentFormVersion,
    ConsentSignature,
    PatientDocument,
    Referral,
    Requirement,
    RequirementWaiver,
)
from intake.referrals import audit_referrals_viewed
from propel.admin import PatientReadAuditMixin, ReadOnlyAdminMixin

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


@admin.register(PatientDocument)
class PatientDocumentAdmin(
    ReadOnlyAdminMixin, PatientReadAuditMixin, admin.ModelAdmin[PatientDocument]
):
    """Uploads, read-only and without their files: a document is opened on the staff patient
    page (intake:staff_document, audited), added through intake.documents' checks and set aside
    there with a reason, never changed or deleted here."""

    list_display = ("id", "patient", "kind", "content_type", "size", "source", "uploaded_at")
    list_filter = ("kind", "source", ("removed_at", admin.EmptyFieldListFilter))
    list_select_related = ("patient",)
    fields = (
        "patient",
        "referral",
        "kind",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "source",
        "uploaded_by",
        "uploaded_at",
        "removed_at",
        "removed_by",
        "removed_reason",
    )
    readonly_fields = fields
    actions = None


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdminMixin, PatientReadAuditMixin, admin.ModelAdmin):
    """Referrals from other offices, read-only (the front desk works them on their queue,
    intake.referrals). Every list and page shown is audited as `referral.viewed`, and, for
    referrals linked to a patient, as `patient.viewed` (PatientReadAuditMixin)."""

    list_display = ("reference", "received_at", "referrer_practice", "status", "patient")
    list_filter = ("status",)
    search_fields = ("reference", "referrer_practice", "patient_last_name")
    ordering = ("-received_at", "-pk")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            audit_referrals_viewed(
                request,
                page="admin:intake_referral_changelist",
                referrals=list(changelist.result_list),
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = (getattr(response, "context_data", None) or {}).get("original")
        if original is not None:
            audit_referrals_viewed(
                request, page="admin:intake_referral_change", referrals=[original], clinical=True
            )
        return response


# --- Consent forms (issue 21): versions are append-only, signatures read-only ------------------


class ConsentFormVersionInline(admin.TabularInline):
    """The form's versions, read-only: a new version is added on its own page."""

    model = ConsentFormVersion
    fields = ("number", "effective_date", "resign_required", "created_at", "created_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentForm)
class ConsentFormAdmin(admin.ModelAdmin):
    """The clinic's forms: title, order, in use. Their texts are versions (add one with "Add
    consent form version"); a form is never deleted (signatures point at its versions)."""

    list_display = ("title", "kind", "order", "active")
    list_editable = ("order", "active")
    inlines = (ConsentFormVersionInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("kind",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentFormVersionAdminForm(forms.ModelForm):
    class Meta:
        model = ConsentFormVersion
        fields = ("form", "text", "effective_date", "resign_required")


@admin.register(ConsentFormVersion)
class ConsentFormVersionAdmin(admin.ModelAdmin):
    """Adding a version publishes it with the next number (intake.consent_forms
    .consent_version_publish); an existing version is shown read-only, never changed or deleted,
    so what a patient signed never changes."""

    form = ConsentFormVersionAdminForm
    list_display = ("form", "number", "effective_date", "resign_required", "created_at")
    list_filter = ("form",)
    readonly_fields = ("number", "created_at", "created_by")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        published = consent_version_publish(
            form_id=obj.form_id,
            text=obj.text,
            effective_date=obj.effective_date,
            resign_required=obj.resign_required,
            by=request.user,
            request=request,
        )
        obj.pk = published.pk
        obj.number = published.number
        obj._state.adding = False


@admin.register(ConsentSignature)
class ConsentSignatureAdmin(ReadOnlyAdminMixin, PatientReadAuditMixin, admin.ModelAdmin):
    """Signatures, read-only (no add, change or delete), audited like every patient list. The
    PDF is not linked here: staff open it from the patient page (audited, intake.consent_pages)."""

    list_display = ("patient", "version", "method", "signed_at")
    list_filter = ("method", "version__form")
    list_select_related = ("patient", "version__form")
    fields = (
        "patient",
        "version",
        "method",
        "signed_name",
        "signed_at",
        "ip",
        "user_agent",
        "text_sha256",
        "pdf_sha256",
        "recorded_by",
        "paper_document",
    )
    readonly_fields = fields


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
class RequirementWaiverAdmin(ReadOnlyAdminMixin, PatientReadAuditMixin, admin.ModelAdmin):
    """Clinicians' waivers, read-only (append-only; given on the staff patient page)."""

    list_display = ("patient", "requirement", "by", "at")
    list_filter = ("requirement__step",)
    fields = ("patient", "requirement", "reason", "by", "at")
    readonly_fields = fields
    ordering = ("-at", "-pk")
