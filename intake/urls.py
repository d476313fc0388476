from django.urls import path

from intake import (
    about_questions,
    consent_pages,
    document_pages,
    language,
    opt_out_pages,
    referral_pages,
    requirement_pages,
    review_views,
    staff_views,
    views,
)

app_name = "intake"

urlpatterns = [
    # The language switch on every public and patient page (intake.language).
    path("i18n/setlang/", language.set_language, name="set_language"),
    # The one-click opt-out of email reminders in every email (intake.opt_out).
    path("email-reminders/stop/<str:token>/", opt_out_pages.email_opt_out, name="email_opt_out"),
    # Where the questionnaires' standard instruments come from (public, about no one).
    path("questions/about/", about_questions.about_questions, name="about_questions"),
    # Referrals from other clinicians' offices (intake.referrals): the public form, the queue.
    path("refer/", referral_pages.referral, name="referral"),
    path("refer/sent/", referral_pages.referral_sent, name="referral_sent"),
    path("staff/referrals/", referral_pages.referral_queue, name="referral_queue"),
    path(
        "staff/referrals/<int:referral_id>/",
        referral_pages.referral_detail,
        name="referral_detail",
    ),
    path(
        "staff/referrals/<int:referral_id>/documents/<int:document_id>/",
        referral_pages.referral_document,
        name="referral_document",
    ),
    path("p/<str:token>/intake/", views.start, name="start"),
    path("p/<str:token>/intake/review/", views.review, name="review"),
    path("p/<str:token>/intake/sent/<int:round>/", views.submitted, name="submitted"),
    path("p/<str:token>/intake/answers/<int:round>/", views.summary, name="summary"),
    path("p/<str:token>/intake/help-now/", views.crisis, name="crisis"),
    path("p/<str:token>/intake/<slug:section_key>/", views.section, name="section"),
    # Pre-infusion check-ins (opened by scheduling:check_in, which links a round to a visit).
    path("p/<str:token>/check-in/round/<int:round>/", views.check_in_start, name="check_in_start"),
    path(
        "p/<str:token>/check-in/round/<int:round>/review/",
        views.check_in_review,
        name="check_in_review",
    ),
    path(
        "p/<str:token>/check-in/round/<int:round>/sent/",
        views.check_in_submitted,
        name="check_in_submitted",
    ),
    path(
        "p/<str:token>/check-in/round/<int:round>/answers/",
        views.check_in_summary,
        name="check_in_summary",
    ),
    path(
        "p/<str:token>/check-in/round/<int:round>/help-now/",
        views.check_in_crisis,
        name="check_in_crisis",
    ),
    path(
        "p/<str:token>/check-in/round/<int:round>/<slug:section_key>/",
        views.check_in_section,
        name="check_in_section",
    ),
    # Documents (intake.document_pages): the patient's uploads on their link; staff open, upload
    # and set aside on the patient page.
    path("p/<str:token>/documents/", document_pages.documents, name="documents"),
    path(
        "staff/patients/<int:patient_id>/documents/<int:document_id>/",
        document_pages.staff_document,
        name="staff_document",
    ),
    path(
        "staff/patients/<int:patient_id>/documents/new/",
        document_pages.staff_document_upload,
        name="staff_document_upload",
    ),
    path(
        "staff/patients/<int:patient_id>/documents/<int:document_id>/set-aside/",
        document_pages.staff_document_set_aside,
        name="staff_document_set_aside",
    ),
    # Consent forms (intake.consent_pages): sign on the link, the signed PDFs.
    path("p/<str:token>/forms/", consent_pages.forms_page, name="forms"),
    path(
        "p/<str:token>/forms/signed/<int:signature_id>.pdf",
        consent_pages.form_signed_pdf,
        name="form_signed_pdf",
    ),
    path("p/<str:token>/forms/<slug:kind>/", consent_pages.form_sign, name="form_sign"),
    path(
        "staff/patients/<int:patient_id>/forms/<int:signature_id>.pdf",
        consent_pages.staff_signature_pdf,
        name="staff_signature_pdf",
    ),
    path(
        "staff/patients/<int:patient_id>/forms/paper/",
        consent_pages.staff_consent_paper,
        name="staff_consent_paper",
    ),
    path("staff/intake/", staff_views.submission_list, name="staff_submissions"),
    path(
        "staff/intake/<int:submission_id>/",
        staff_views.submission_detail,
        name="staff_submission",
    ),
    path("staff/review/", review_views.queue, name="review_queue"),
    path("staff/patients/<int:patient_id>/chart/", review_views.chart, name="chart"),
    path(
        "staff/patients/<int:patient_id>/chart/flags/<int:flag_id>/acknowledge/",
        review_views.flag_acknowledge_view,
        name="chart_flag_acknowledge",
    ),
    path(
        "staff/patients/<int:patient_id>/chart/alerts/<int:alert_id>/acknowledge/",
        review_views.alert_acknowledge_view,
        name="chart_alert_acknowledge",
    ),
    path(
        "staff/patients/<int:patient_id>/chart/decide/",
        review_views.decide_view,
        name="chart_decide",
    ),
    # What must be on file (intake.requirements): a clinician waives one item for a patient.
    path(
        "staff/patients/<int:patient_id>/requirements/<int:requirement_id>/waive/",
        requirement_pages.requirement_waive_view,
        name="requirement_waive",
    ),
]
