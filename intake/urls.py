from django.urls import path

from intake import staff_views, views

app_name = "intake"

urlpatterns = [
    path("p/<str:token>/intake/", views.start, name="start"),
    path("p/<str:token>/intake/review/", views.review, name="review"),
    path("p/<str:token>/intake/sent/<int:round>/", views.submitted, name="submitted"),
    path("p/<str:token>/intake/answers/<int:round>/", views.summary, name="summary"),
    path("p/<str:token>/intake/<slug:section_key>/", views.section, name="section"),
    path("staff/intake/", staff_views.submission_list, name="staff_submissions"),
    path(
        "staff/intake/<int:submission_id>/",
        staff_views.submission_detail,
        name="staff_submission",
    ),
]
