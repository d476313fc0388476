from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("propel.site_urls")),
    path("", include("intake.urls")),
    path("", include("scheduling.urls")),
    path("admin/", admin.site.urls),
]

# A database error raised outside a view (in a middleware) gets the calm 503 page too.
handler500 = "propel.db_unavailable.server_error"
