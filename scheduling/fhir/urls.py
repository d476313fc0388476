"""/fhir/R4/: the FHIR read API (scheduling.fhir.views)."""

from django.urls import path

from scheduling.fhir import binary_views, views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("auth/token", views.token, name="token"),
    path(".well-known/smart-configuration", views.smart_configuration, name="smart_configuration"),
    path("Binary/<str:fhir_id>", binary_views.binary, name="binary"),
    path("<str:resource_type>", views.search, name="search"),
    path("<str:resource_type>/<str:fhir_id>", views.read, name="read"),
    path("<path:rest>", views.unknown, name="unknown"),
]
