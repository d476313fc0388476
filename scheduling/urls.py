from django.urls import path

from scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("staff/", views.today, name="today"),
    path("staff/availability/", views.availability, name="availability"),
]
