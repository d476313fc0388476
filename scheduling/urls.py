"""Scheduling's addresses, one table per wing. Each table holds the paths under one prefix, so an
address reads as its prefix plus its path, and a wing's pages sit together."""

from django.urls import URLPattern, URLResolver, include, path

from scheduling import time_off_views, views
from scheduling.calendar import appointment_views, closure_views, feeds, new_patient_views
from scheduling.calendar import patient_views as staff_patient_views
from scheduling.calendar import views as calendar_views
from scheduling.courses import views as course_views
from scheduling.online import confirm_views, contact_views, patient_views, public_views
from scheduling.reminders import sms_webhook
from scheduling.reminders import views as reminder_views
from scheduling.reports import views as report_views
from scheduling.visits import day_sheet_views
from scheduling.visits import item_views as visit_item_views
from scheduling.visits import visit_views as day_views
from scheduling.waitlist import views as waitlist_views

app_name = "scheduling"

# staff/appointments/<appointment_id>/: the appointment page and its actions
# (scheduling.calendar.appointment_views), its calendar file (feeds) and its reminders
# (scheduling.reminders.views).
appointment_pages = [
    path("", appointment_views.appointment_detail, name="appointment"),
    path("status/", appointment_views.appointment_status, name="appointment_status"),
    path("cancel/", appointment_views.appointment_cancel, name="appointment_cancel"),
    path("move/", appointment_views.appointment_move, name="appointment_move"),
    path("calendar.ics", feeds.appointment_ics, name="appointment_ics"),
    path("reminders/", reminder_views.appointment_reminders, name="appointment_reminders"),
]

# staff/visits/<appointment_id>/: the visit screen and its steps (scheduling.visits).
visit_pages = [
    path("", day_views.visit_page, name="visit"),
    path("check-in/", day_views.visit_check_in, name="visit_check_in"),
    path("vitals/", day_views.visit_vitals, name="visit_vitals"),
    path("sign-off/", day_views.visit_sign_off, name="visit_sign_off"),
    path("start/", day_views.visit_start, name="visit_start"),
    path("end/", day_views.visit_end, name="visit_end"),
    path("discharge/", day_views.visit_discharge, name="visit_discharge"),
    path("defer/", day_views.visit_defer, name="visit_defer"),
    path("rebook/", day_views.visit_rebook, name="visit_rebook"),
    path(
        "items/acknowledge/",
        visit_item_views.visit_item_acknowledge,
        name="visit_item_acknowledge",
    ),
]

# staff/courses/<course_id>/: an infusion course (scheduling.courses.views).
course_pages = [
    path("", course_views.course_detail, name="course_detail"),
    path("move/", course_views.course_move, name="course_move"),
    path("cancel/", course_views.course_cancel, name="course_cancel"),
    path("maintenance/", course_views.course_maintenance, name="course_maintenance"),
]

# staff/: the staff side, signed in.
staff_pages: list[URLPattern | URLResolver] = [
    path("", views.today, name="today"),
    path("availability/", views.availability, name="availability"),
    path("calendar/", calendar_views.calendar_day, name="calendar"),
    path("calendar/week/", calendar_views.calendar_week, name="calendar_week"),
    path("appointments/new/", appointment_views.appointment_new, name="appointment_new"),
    path("appointments/<int:appointment_id>/", include(appointment_pages)),
    path("day/", day_sheet_views.day_sheet, name="day_sheet"),
    path("closures/new/", closure_views.closure_new, name="closure_new"),
    path("closures/<int:closure_id>/", closure_views.closure_detail, name="closure"),
    path("time-off/", time_off_views.time_off_list, name="time_off"),
    path("time-off/new/", time_off_views.time_off_new, name="time_off_new"),
    path(
        "time-off/<int:block_id>/delete/",
        time_off_views.time_off_remove,
        name="time_off_delete",
    ),
    path("visits/<int:appointment_id>/", include(visit_pages)),
    path("patients/new/", new_patient_views.patient_new, name="patient_new"),
    path("patients/<int:patient_id>/", staff_patient_views.patient_detail, name="patient"),
    path(
        "patients/<int:patient_id>/links/revoke/",
        staff_patient_views.patient_links_revoke_view,
        name="patient_links_revoke",
    ),
    path("patients/<int:patient_id>/course/new/", course_views.course_new, name="course_new"),
    path("courses/<int:course_id>/", include(course_pages)),
    path("feeds/", feeds.feed_settings, name="feed_settings"),
    path("feeds/<int:clinician_id>/revoke/", feeds.feed_revoke, name="feed_revoke"),
    path("reminders/", reminder_views.reminder_list, name="reminders"),
    path("waitlist/", waitlist_views.staff_waitlist, name="waitlist"),
    path(
        "reminders/<int:reminder_id>/resend/",
        reminder_views.reminder_resend,
        name="reminder_resend",
    ),
    path("reports/", report_views.reports, name="reports"),
    path("reports/<slug:key>.csv", report_views.report_csv, name="report_csv"),
]

# book/: online booking, open to anyone (scheduling.online.public_views, confirm_views).
# "hold/", "check-email/" and "confirm/" come before the hold key they would otherwise be read as.
booking_pages = [
    path("", public_views.book, name="book"),
    path("hold/", public_views.book_hold, name="book_hold"),
    path("check-email/", public_views.book_check_email, name="book_check_email"),
    path("confirm/", confirm_views.book_confirm, name="book_confirm"),
    path("confirm/<str:token>/", confirm_views.book_confirm_link, name="book_confirm_link"),
    path("<str:hold_key>/", public_views.book_details, name="book_details"),
]

# p/<token>/appointments/<appointment_id>/: one of the patient's own appointments.
patient_appointment_pages = [
    path("calendar.ics", patient_views.patient_ics, name="patient_ics"),
    path("cancel/", patient_views.patient_cancel, name="patient_cancel"),
    path("reschedule/", patient_views.patient_reschedule, name="patient_reschedule"),
    path(
        "reschedule/confirm/",
        patient_views.patient_reschedule_confirm,
        name="patient_reschedule_confirm",
    ),
]

# p/<token>/: the patient's own page, by signed link (scheduling.online.patient_views).
patient_pages: list[URLPattern | URLResolver] = [
    path("", patient_views.patient_home, name="patient_home"),
    path("appointments/<int:appointment_id>/", include(patient_appointment_pages)),
    path("check-in/<int:appointment_id>/", patient_views.patient_check_in, name="check_in"),
    path("contact/", contact_views.patient_contact, name="patient_contact"),
    path("waitlist/", waitlist_views.patient_waitlist, name="patient_waitlist"),
]

urlpatterns = [
    path("staff/", include(staff_pages)),
    path("book/", include(booking_pages)),
    path("link/", public_views.link_request, name="link_request"),
    path("link/sent/", public_views.link_sent, name="link_sent"),
    path("p/<str:token>/", include(patient_pages)),
    # A clinician's subscribable calendar feed, by signed address (scheduling.calendar.feeds).
    path("feeds/clinician/<str:token>.ics", feeds.clinician_feed, name="clinician_feed"),
    # Inbound SMS from the provider: STOP replies (scheduling.reminders.sms_webhook).
    path("webhooks/sms/", sms_webhook.sms_inbound, name="sms_webhook"),
]
