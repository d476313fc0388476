from django.contrib import admin

from intake.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "date_of_birth", "email", "mobile")
    search_fields = ("last_name", "first_name", "email")
    readonly_fields = ("consent_email_at", "consent_sms_at", "created_at", "updated_at")
