from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("propel.site_urls")),
    path("", include("intake.urls")),
    path("", include("scheduling.urls")),
    path("admin/", admin.site.urls),
]
