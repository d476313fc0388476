"""/fhir/R4/: the FHIR read API (scheduling.fhir.views)."""

from django.urls import path

from scheduling.fhir import binary_views, bulk_views, views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("auth/token", views.token, name="token"),
    path(".well-known/smart-configuration", views.smart_configuration, name="smart_configuration"),
    path("Binary/<str:fhir_id>", binary_views.binary, name="binary"),
    # The bulk export (scheduling.fhir.bulk_views), before the generic type/id patterns.
    path("$export", bulk_views.system_export, name="export"),
    path("Patient/$export", bulk_views.patient_export, name="patient_export"),
    path("$export-status/<str:job_id>", bulk_views.export_status, name="export_status"),
    path("$export-file/<str:job_id>/<str:file_name>", bulk_views.export_file, name="export_file"),
    path("<str:resource_type>", views.search, name="search"),
    path("<str:resource_type>/<str:fhir_id>", views.read, name="read"),
    path("<path:rest>", views.unknown, name="unknown"),
]
