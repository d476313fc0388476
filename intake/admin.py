from typing import Any

from django.contrib import admin

from intake.models import OnCallClinician, Patient
from propel.admin import PatientReadAuditMixin


@admin.register(Patient)
class PatientAdmin(PatientReadAuditMixin, admin.ModelAdmin):
    """Every list page and patient page shown is audited (PatientReadAuditMixin)."""

    list_display = ("last_name", "first_name", "date_of_birth", "email", "mobile")
    search_fields = ("last_name", "first_name", "email")
    readonly_fields = ("consent_email_at", "consent_sms_at", "created_at", "updated_at")

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
