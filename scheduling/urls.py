from django.urls import path

from scheduling import patient_views, public_views, views

app_name = "scheduling"

appointment = "p/<str:token>/appointments/<int:appointment_id>/"

urlpatterns = [
    path("staff/", views.today, name="today"),
    path("staff/availability/", views.availability, name="availability"),
    # Online booking (anyone).
    path("book/", public_views.book, name="book"),
    path("book/hold/", public_views.book_hold, name="book_hold"),
    path("book/done/<str:token>/<int:appointment_id>/", public_views.book_done, name="book_done"),
    path("book/booked/<str:receipt>/", public_views.book_booked, name="book_booked"),
    path("book/<str:hold_key>/", public_views.book_details, name="book_details"),
    path("link/", public_views.link_request, name="link_request"),
    path("link/sent/", public_views.link_sent, name="link_sent"),
    # The patient's own page, by signed link.
    path("p/<str:token>/", patient_views.patient_home, name="patient_home"),
    path(f"{appointment}calendar.ics", patient_views.patient_ics, name="patient_ics"),
    path(f"{appointment}cancel/", patient_views.patient_cancel, name="patient_cancel"),
    path(
        "p/<str:token>/check-in/<int:appointment_id>/",
        patient_views.patient_check_in,
        name="check_in",
    ),
    path(
        f"{appointment}reschedule/",
        patient_views.patient_reschedule,
        name="patient_reschedule",
    ),
    path(
        f"{appointment}reschedule/confirm/",
        patient_views.patient_reschedule_confirm,
        name="patient_reschedule_confirm",
    ),
]
