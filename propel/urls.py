from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("propel.site_urls")),
    path("", include("intake.urls")),
    path("", include("scheduling.urls")),
    # The FHIR R4 read API for the clinic's EHR (issue 23).
    path("fhir/R4/", include("scheduling.fhir.urls")),
    path("admin/", admin.site.urls),
]

# The clinic's own error pages (propel.error_pages). A database error raised outside a view (in a
# middleware) gets the calm 503 page from handler500 too.
handler400 = "propel.error_pages.bad_request"
handler403 = "propel.error_pages.permission_denied"
handler404 = "propel.error_pages.page_not_found"
handler500 = "propel.error_pages.server_error"
