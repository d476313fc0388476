"""The real URLconf plus the floors the bench compares against (never in the app's own URLs)."""

from django.urls import path

from bench import views
from propel.urls import handler500  # noqa: F401 (a URLconf's error handler)
from propel.urls import urlpatterns as propel_urlpatterns

urlpatterns = [
    path("bench/bare/", views.bare, name="bench-bare"),
    *propel_urlpatterns,
]
