from django.urls import path

from scheduling import views
from scheduling.calendar import feeds
from scheduling.calendar import views as calendar_views
from scheduling.courses import views as course_views
from scheduling.online import patient_views, public_views
from scheduling.reminders import sms_webhook
from scheduling.reminders import views as reminder_views
from scheduling.visits import day_sheet_views
from scheduling.visits import item_views as visit_item_views
from scheduling.visits import visit_views as day_views

app_name = "scheduling"

appointment = "p/<str:token>/appointments/<int:appointment_id>/"

urlpatterns = [
    path("staff/", views.today, name="today"),
    path("staff/availability/", views.availability, name="availability"),
    # Staff calendar and appointment actions (scheduling.calendar.views).
    path("staff/calendar/", calendar_views.calendar_day, name="calendar"),
    path("staff/calendar/week/", calendar_views.calendar_week, name="calendar_week"),
    path("staff/appointments/new/", calendar_views.appointment_new, name="appointment_new"),
    path(
        "staff/appointments/<int:appointment_id>/",
        calendar_views.appointment_detail,
        name="appointment",
    ),
    path(
        "staff/appointments/<int:appointment_id>/status/",
        calendar_views.appointment_status,
        name="appointment_status",
    ),
    path(
        "staff/appointments/<int:appointment_id>/cancel/",
        calendar_views.appointment_cancel,
        name="appointment_cancel",
    ),
    path(
        "staff/appointments/<int:appointment_id>/move/",
        calendar_views.appointment_move,
        name="appointment_move",
    ),
    # The day sheet and the visit screen (scheduling.visits.day_sheet_views, visit_views).
    path("staff/day/", day_sheet_views.day_sheet, name="day_sheet"),
    path("staff/visits/<int:appointment_id>/", day_views.visit_page, name="visit"),
    path(
        "staff/visits/<int:appointment_id>/check-in/",
        day_views.visit_check_in,
        name="visit_check_in",
    ),
    path("staff/visits/<int:appointment_id>/vitals/", day_views.visit_vitals, name="visit_vitals"),
    path(
        "staff/visits/<int:appointment_id>/sign-off/",
        day_views.visit_sign_off,
        name="visit_sign_off",
    ),
    path("staff/visits/<int:appointment_id>/start/", day_views.visit_start, name="visit_start"),
    path("staff/visits/<int:appointment_id>/end/", day_views.visit_end, name="visit_end"),
    path(
        "staff/visits/<int:appointment_id>/discharge/",
        day_views.visit_discharge,
        name="visit_discharge",
    ),
    path("staff/visits/<int:appointment_id>/defer/", day_views.visit_defer, name="visit_defer"),
    path("staff/visits/<int:appointment_id>/rebook/", day_views.visit_rebook, name="visit_rebook"),
    path(
        "staff/visits/<int:appointment_id>/items/acknowledge/",
        visit_item_views.visit_item_acknowledge,
        name="visit_item_acknowledge",
    ),
    # Infusion courses (scheduling.courses.views).
    path(
        "staff/patients/<int:patient_id>/course/new/",
        course_views.course_new,
        name="course_new",
    ),
    path("staff/courses/<int:course_id>/", course_views.course_detail, name="course_detail"),
    path("staff/courses/<int:course_id>/move/", course_views.course_move, name="course_move"),
    path("staff/courses/<int:course_id>/cancel/", course_views.course_cancel, name="course_cancel"),
    path(
        "staff/courses/<int:course_id>/maintenance/",
        course_views.course_maintenance,
        name="course_maintenance",
    ),
    # Calendar feeds (scheduling.calendar.feeds): a clinician's subscribable feed, by signed
    # address.
    path("feeds/clinician/<str:token>.ics", feeds.clinician_feed, name="clinician_feed"),
    path("staff/feeds/", feeds.feed_settings, name="feed_settings"),
    path("staff/feeds/<int:clinician_id>/revoke/", feeds.feed_revoke, name="feed_revoke"),
    path(
        "staff/appointments/<int:appointment_id>/calendar.ics",
        feeds.appointment_ics,
        name="appointment_ics",
    ),
    # Reminders sent and failed, with a resend action (scheduling.reminders.views).
    path("staff/reminders/", reminder_views.reminder_list, name="reminders"),
    path(
        "staff/reminders/<int:reminder_id>/resend/",
        reminder_views.reminder_resend,
        name="reminder_resend",
    ),
    path(
        "staff/appointments/<int:appointment_id>/reminders/",
        reminder_views.appointment_reminders,
        name="appointment_reminders",
    ),
    # Inbound SMS from the provider: STOP replies (scheduling.reminders.sms_webhook).
    path("webhooks/sms/", sms_webhook.sms_inbound, name="sms_webhook"),
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
