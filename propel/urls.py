from django.urls import include, path

urlpatterns = [
    path("", include("propel.site_urls")),
    path("", include("intake.urls")),
    path("", include("scheduling.urls")),
]
