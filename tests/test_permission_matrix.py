"""Issue 8, item 4: every URL pattern, every persona, exactly the intended answer.

MATRIX names every URL of the project (namespace:name). A URL added without a row fails
`test_every_url_has_a_row`, naming it. Each row says how to build the address from the fixture
objects, which method to use, and what each persona must get:

- anonymous: no session, and no patient link (token routes get an invalid token);
- patient: the patient's own valid link, no session (a GET is swapped for a session and followed
  once, as a browser does: intake.link_pages);
- other_link: a valid link of ANOTHER patient, with THIS patient's object ids (must be 404);
- front_desk, clinician, admin: a signed-in staff member with the second factor passed, carrying
  no patient link (a staff session never opens a patient's pages).

Expected answers: an int status, or LOGIN (302 to the sign-in page). The design's Roles table:
health record (answers, flags, chart, review) only clinician + admin; clearance decisions only
clinicians; audit log only admin; calendar, booking, day sheet, visits, reminders all staff roles;
patient routes only by the patient's own valid token.

POST-only rows are checked with a POST (empty form); a refused persona must change nothing, and a
GET must answer 405.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from intake.consent_defaults import consent_defaults_add
from intake.consent_forms import consent_sign
from intake.documents import CleanDocument, document_store
from intake.link_sessions import ME
from intake.links import patient_link_token
from intake.models import (
    ClearanceDecision,
    CrisisAlert,
    FlagAcknowledgement,
    IntakeSubmission,
    Patient,
)
from intake.opt_out import email_opt_out_token
from intake.paperwork_models import (
    ConsentForm,
    ConsentFormVersion,
    DocumentKind,
    DocumentSource,
    PatientDocument,
    Referral,
    Requirement,
    RequirementWaiver,
)
from scheduling.booking_tokens import booking_confirm_token
from scheduling.calendar.feeds import clinician_feed_token
from scheduling.fhir.ids import fhir_id
from scheduling.models import (
    Appointment,
    AppointmentStatusChange,
    BlockedReason,
    BlockedTime,
    Clinician,
    Closure,
    InfusionCourse,
    Reminder,
    Visit,
    VitalReading,
)
from tests.factories import (
    AppointmentFactory,
    CheckInSubmissionFactory,
    ClinicianFactory,
    CrisisAlertFactory,
    FlagFactory,
    PatientFactory,
    ReferralFactory,
    SlotHoldFactory,
    UserFactory,
    clear_patient,
)
from tests.personas import verified_client

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "patient", "other_link", "front_desk", "clinician", "admin")
STAFF = ("front_desk", "clinician", "admin")
LOGIN = "login"  # 302 to the sign-in page
ALLOWED = "allowed"  # a POST that passes every access check (see _mismatch)
BAD_TOKEN = "not-a-valid-patient-link"


def _all_url_names() -> set[str]:
    """Every named URL pattern as namespace:name, except the Django admin's own."""
    names: set[str] = set()

    def walk(resolver: URLResolver, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or namespace
                if inner == "admin":
                    continue
                walk(entry, inner)
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(f"{namespace}:{entry.name}" if namespace else entry.name)

    walk(get_resolver(), None)
    return names


# --- The fixture world -------------------------------------------------------------------------


@dataclass
class World:
    patient: Any
    other: Any
    appointment: Any  # the patient's consultation, far enough ahead to change online
    infusion: Any  # the patient's infusion visit, part of a course
    course: Any
    submission: Any  # the patient's sent screening round, with a flag and a crisis alert
    flag: Any
    alert: Any
    check_in_draft: Any
    check_in_sent: Any
    reminder: Any
    clinician: Any
    hold: Any
    users: dict[str, Any]


def build_world() -> World:
    patient = PatientFactory()
    other = PatientFactory()
    clinician_user = UserFactory(username="clinician", clinician=True)
    clinician = ClinicianFactory(user=clinician_user)
    appointment = AppointmentFactory(patient=patient, clinician=clinician)
    clear_patient(patient)
    course = InfusionCourse.objects.create(patient=patient, planned_sessions=4, span_weeks=4)
    infusion = AppointmentFactory(
        patient=patient,
        infusion=True,
        clinician=clinician,
        start=dt.datetime(2027, 1, 6, 17, 0, tzinfo=dt.UTC),
        course=course,
    )
    Visit.objects.create(appointment=infusion)
    submission = IntakeSubmission.objects.screenings().filter(patient=patient).get()
    flag = FlagFactory(submission=submission)
    alert = CrisisAlertFactory(submission=submission)
    rounds = IntakeSubmission.objects.filter(patient=patient).count()
    check_in_draft = CheckInSubmissionFactory(patient=patient, round=rounds + 1)
    check_in_sent = CheckInSubmissionFactory(
        patient=patient,
        round=rounds + 2,
        complete=True,
        status="submitted",
        submitted_at=dt.datetime(2027, 1, 5, 18, 0, tzinfo=dt.UTC),
    )
    reminder = Reminder.objects.create(
        appointment=appointment,
        kind="consultation_24h",
        channel="email",
        due_at=appointment.start - dt.timedelta(hours=24),
        state="failed",
    )
    users = {
        "front_desk": UserFactory(username="frontdesk", front_desk=True),
        "clinician": clinician_user,
        "admin": UserFactory(username="admin", admin=True),
    }
    return World(
        patient=patient,
        other=other,
        appointment=appointment,
        infusion=infusion,
        course=course,
        submission=submission,
        flag=flag,
        alert=alert,
        check_in_draft=check_in_draft,
        check_in_sent=check_in_sent,
        reminder=reminder,
        clinician=clinician,
        hold=SlotHoldFactory(),
        users=users,
    )


def token_for(world: World, persona: str) -> str:
    if persona == "patient":
        return patient_link_token(world.patient)
    if persona == "other_link":
        return patient_link_token(world.other)
    return BAD_TOKEN


def client_for_persona(world: World, persona: str) -> Client:
    if persona in STAFF:
        return verified_client(world.users[persona])
    return Client()


def snapshot() -> tuple:
    """Everything a refused POST could change, read cheaply."""
    return (
        list(Appointment.objects.order_by("pk").values_list("pk", "status", "start", "end")),
        AppointmentStatusChange.objects.count(),
        list(Visit.objects.order_by("pk").values_list("updated_at")),
        VitalReading.objects.count(),
        list(InfusionCourse.objects.order_by("pk").values_list("status", "updated_at")),
        list(Reminder.objects.order_by("pk").values_list("state", "attempts", "updated_at")),
        list(Clinician.objects.order_by("pk").values_list("pk", "feed_version")),
        list(Patient.objects.order_by("pk").values_list("pk", "link_version")),
        FlagAcknowledgement.objects.count(),
        ClearanceDecision.objects.count(),
        list(CrisisAlert.objects.values_list("acknowledged_at")),
        RequirementWaiver.objects.count(),
    )


# --- The matrix --------------------------------------------------------------------------------

Kwargs = Callable[[World, str], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    kwargs: Kwargs
    expect: dict[str, int | str]
    method: str = "GET"


def none(world: World, token: str) -> dict[str, Any]:
    return {}


def tok(world: World, token: str) -> dict[str, Any]:
    return {"token": token}


def tok_round(attr: str) -> Kwargs:
    return lambda w, t: {"token": t, "round": getattr(w, attr).round}


def tok_appt(w: World, t: str) -> dict[str, Any]:
    return {"token": t, "appointment_id": w.appointment.pk}


def appt(w: World, t: str) -> dict[str, Any]:
    return {"appointment_id": w.appointment.pk}


def visit(w: World, t: str) -> dict[str, Any]:
    return {"appointment_id": w.infusion.pk}


def course(w: World, t: str) -> dict[str, Any]:
    return {"course_id": w.course.pk}


def closure(w: World, t: str) -> dict[str, Any]:
    day = dt.date(2027, 7, 5)  # a Monday with nothing booked
    row, _ = Closure.objects.get_or_create(
        start_date=day, end_date=day, defaults={"reason": "Independence Day (observed)"}
    )
    return {"closure_id": row.pk}


def blocked(w: World, t: str) -> dict[str, Any]:
    start = dt.datetime(2027, 7, 6, 16, 0, tzinfo=dt.UTC)
    row, _ = BlockedTime.objects.get_or_create(
        clinician=w.clinician,
        start=start,
        defaults={"end": start + dt.timedelta(hours=2), "reason": BlockedReason.TRAINING},
    )
    return {"block_id": row.pk}


def pat(w: World, t: str) -> dict[str, Any]:
    return {"patient_id": w.patient.pk}


def tok_document(w: World, t: str) -> dict[str, Any]:
    """The patient's photo ID, stored once per world through the real service."""
    from intake.documents import CleanDocument, document_store
    from intake.paperwork_models import PatientDocument

    document = PatientDocument.objects.filter(patient=w.patient).first()
    if document is None:
        clean = CleanDocument(
            data=b"%PDF-1.4\n%%EOF\n",
            content_type="application/pdf",
            extension=".pdf",
            original_name="id.pdf",
        )
        document = document_store(
            clean=clean, kind="photo_id", source="staff", patient_id=w.patient.pk
        )
    return {"patient_id": w.patient.pk, "document_id": document.pk}


def _signature(w: World) -> Any:
    """The patient's signature of the consent to electronic records (made once per world)."""
    consent_defaults_add(ConsentForm, ConsentFormVersion)
    return consent_sign(
        patient_id=w.patient.pk,
        form_kind="electronic",
        date_of_birth=w.patient.date_of_birth,
        agreed=True,
        typed_name=f"{w.patient.first_name} {w.patient.last_name}",
        drawn_signature_png=None,
        ip=None,
        user_agent="",
    )


def tok_form(w: World, t: str) -> dict[str, Any]:
    consent_defaults_add(ConsentForm, ConsentFormVersion)
    return {"token": t, "kind": "electronic"}


def tok_signature(w: World, t: str) -> dict[str, Any]:
    return {"token": t, "signature_id": _signature(w).pk}


def pat_signature(w: World, t: str) -> dict[str, Any]:
    return {"patient_id": w.patient.pk, "signature_id": _signature(w).pk}


def referral(w: World, t: str) -> dict[str, Any]:
    row = Referral.objects.filter(patient=w.patient).first() or ReferralFactory(patient=w.patient)
    return {"referral_id": row.pk}


def referral_document(w: World, t: str) -> dict[str, Any]:
    referral_id = referral(w, t)["referral_id"]
    document = PatientDocument.objects.filter(referral_id=referral_id).first() or document_store(
        clean=CleanDocument(b"%PDF-1.4\n%%EOF\n", "application/pdf", "pdf", "letter.pdf"),
        kind=DocumentKind.REFERRAL,
        source=DocumentSource.REFERRAL,
        referral_id=referral_id,
    )
    return {"referral_id": referral_id, "document_id": document.pk}


def requirement(w: World, t: str) -> dict[str, Any]:
    row, _ = Requirement.objects.get_or_create(
        step="first_infusion", consent_form=None, document_kind=DocumentKind.PHOTO_ID
    )
    return {"patient_id": w.patient.pk, "requirement_id": row.pk}


def who(
    anonymous: int | str,
    patient: int | str,
    other_link: int | str,
    front_desk: int | str,
    clinician: int | str,
    admin: int | str,
) -> dict[str, int | str]:
    return dict(
        zip(PERSONAS, (anonymous, patient, other_link, front_desk, clinician, admin), strict=True)
    )


def everyone(status: int) -> dict[str, int | str]:
    return who(*([status] * len(PERSONAS)))


# Patient routes: only the patient's own link; anyone else the same 404. Routes whose address
# holds no id but the token (intake:start, patient_home...) show another patient's link that
# patient's OWN pages: never this patient's (the test checks the name does not appear).
def own_link(status: int) -> dict[str, int | str]:
    return who(404, status, 404, 404, 404, 404)


ALL_STAFF = who(LOGIN, LOGIN, LOGIN, 200, 200, 200)
HEALTH = who(LOGIN, LOGIN, LOGIN, 403, 200, 200)
ADMIN_ONLY = who(LOGIN, LOGIN, LOGIN, 403, 403, 200)


def staff_post(front_desk: int | str, clinician: int | str, admin: int | str) -> dict:
    """A POST-only staff action, posted empty: refused (403) or ALLOWED per staff role."""
    return who(LOGIN, LOGIN, LOGIN, front_desk, clinician, admin)


OK = ALLOWED
EVERY_STAFF_POST = staff_post(OK, OK, OK)
# scheduling.visits: arrival steps by front desk and admin, clinical steps by clinicians.
ARRIVAL_POST = staff_post(OK, 403, OK)
CLINICAL_POST = staff_post(403, OK, 403)
# Clearance decisions (and acknowledging flags and alerts on the way): clinicians only.
CLEARANCE_POST = staff_post(403, OK, 403)


MATRIX: dict[str, Row] = {
    # propel
    "propel:home": Row(none, everyone(200)),
    # 503 when the test run has no worker heartbeat: the answer is about health, not access.
    "propel:healthz": Row(none, who(*([(200, 503)] * len(PERSONAS)))),
    "propel:login": Row(none, who(200, 200, 200, 302, 302, 302)),
    "propel:logout": Row(none, everyone(302), "POST"),
    "propel:second_factor": Row(none, who(LOGIN, LOGIN, LOGIN, 302, 302, 302)),
    "propel:second_factor_enrol": Row(none, who(LOGIN, LOGIN, LOGIN, 200, 200, 200)),
    # Shows freshly made codes once; without any it goes back to the enrolment page.
    "propel:backup_codes": Row(none, who(LOGIN, LOGIN, LOGIN, 302, 302, 302)),
    "propel:audit_log": Row(none, ADMIN_ONLY),
    "intake:about_questions": Row(none, everyone(200)),
    # intake: the patient's questionnaire by link
    "intake:start": Row(tok, who(404, 302, 302, 404, 404, 404)),
    "intake:review": Row(tok, who(404, 302, 302, 404, 404, 404)),
    "intake:submitted": Row(tok_round("submission"), own_link(200)),
    "intake:summary": Row(tok_round("submission"), own_link(200)),
    "intake:section": Row(
        lambda w, t: {"token": t, "section_key": "about"}, who(404, 302, 200, 404, 404, 404)
    ),
    # Crisis resources after a step with a positive item 9 (the patient's round has an alert);
    # without one, on to the questionnaire.
    "intake:crisis": Row(tok, who(404, 200, 302, 404, 404, 404)),
    # Consent forms (intake.consent_pages): the link's own patient's forms; their own PDFs.
    "intake:forms": Row(tok, who(404, 200, 200, 404, 404, 404)),
    "intake:form_sign": Row(tok_form, who(404, 200, 200, 404, 404, 404)),
    "intake:form_signed_pdf": Row(tok_signature, own_link(200)),
    # A signed form's PDF (audited) and a paper signature: every staff role.
    "intake:staff_signature_pdf": Row(pat_signature, ALL_STAFF),
    "intake:staff_consent_paper": Row(pat, EVERY_STAFF_POST, "POST"),
    "intake:check_in_crisis": Row(tok_round("check_in_draft"), own_link(302)),
    "intake:check_in_start": Row(tok_round("check_in_draft"), own_link(302)),
    "intake:check_in_review": Row(tok_round("check_in_draft"), own_link(200)),
    "intake:check_in_submitted": Row(tok_round("check_in_sent"), own_link(200)),
    "intake:check_in_summary": Row(tok_round("check_in_sent"), own_link(200)),
    "intake:check_in_section": Row(
        lambda w, t: {"token": t, "round": w.check_in_draft.round, "section_key": "phq9"},
        own_link(200),
    ),
    # intake: staff (health record)
    # Old address of the review queue: redirects there, for the health-record roles only.
    "intake:staff_submissions": Row(none, who(LOGIN, LOGIN, LOGIN, 403, 302, 302)),
    "intake:staff_submission": Row(lambda w, t: {"submission_id": w.submission.pk}, HEALTH),
    "intake:review_queue": Row(none, HEALTH),
    "intake:chart": Row(pat, HEALTH),
    # clearance decisions: clinicians only
    "intake:chart_flag_acknowledge": Row(
        lambda w, t: {"patient_id": w.patient.pk, "flag_id": w.flag.pk},
        CLEARANCE_POST,
        "POST",
    ),
    "intake:chart_alert_acknowledge": Row(
        lambda w, t: {"patient_id": w.patient.pk, "alert_id": w.alert.pk},
        CLEARANCE_POST,
        "POST",
    ),
    "intake:chart_decide": Row(pat, CLEARANCE_POST, "POST"),
    # Documents (intake.document_pages): the patient's own on their link (another link shows
    # its own patient's page); staff open (the world's is a photo ID, which front desk may open:
    # a clinical kind answers front desk 403, tests/intake/test_document_pages.py), upload and
    # set aside.
    "intake:documents": Row(tok, who(404, 200, 200, 404, 404, 404)),
    "intake:staff_document": Row(tok_document, ALL_STAFF),
    "intake:staff_document_upload": Row(pat, EVERY_STAFF_POST, "POST"),
    "intake:staff_document_set_aside": Row(tok_document, EVERY_STAFF_POST, "POST"),
    # What must be on file: a clinician waives an item (empty reason: the form again, 400).
    "intake:requirement_waive": Row(requirement, CLEARANCE_POST, "POST"),
    # scheduling: staff calendar and appointments
    "scheduling:today": Row(none, ALL_STAFF),
    "scheduling:availability": Row(none, ALL_STAFF),
    "scheduling:calendar": Row(none, ALL_STAFF),
    "scheduling:calendar_week": Row(none, ALL_STAFF),
    "scheduling:appointment_new": Row(none, ALL_STAFF),
    "scheduling:patient_new": Row(none, ALL_STAFF),
    "scheduling:appointment": Row(appt, ALL_STAFF),
    "scheduling:appointment_status": Row(appt, EVERY_STAFF_POST, "POST"),
    "scheduling:appointment_cancel": Row(appt, EVERY_STAFF_POST, "POST"),
    "scheduling:appointment_move": Row(appt, ALL_STAFF),
    # Closing the clinic over booked visits (scheduling.calendar.closure_views): the calendar's
    # staff, like every calendar change.
    "scheduling:closure_new": Row(none, ALL_STAFF),
    "scheduling:closure": Row(closure, ALL_STAFF),
    # Time off and blocked time (scheduling.time_off_views): every staff role sees it; front desk
    # and admin change it.
    "scheduling:time_off": Row(none, ALL_STAFF),
    "scheduling:time_off_new": Row(none, who(LOGIN, LOGIN, LOGIN, 200, 403, 200)),
    "scheduling:time_off_delete": Row(blocked, staff_post(OK, 403, OK), "POST"),
    # day sheet and visits
    "scheduling:day_sheet": Row(none, ALL_STAFF),
    "scheduling:visit": Row(visit, ALL_STAFF),
    "scheduling:visit_check_in": Row(visit, ARRIVAL_POST, "POST"),
    "scheduling:visit_vitals": Row(visit, CLINICAL_POST, "POST"),
    "scheduling:visit_sign_off": Row(visit, CLINICAL_POST, "POST"),
    "scheduling:visit_start": Row(visit, CLINICAL_POST, "POST"),
    "scheduling:visit_end": Row(visit, CLINICAL_POST, "POST"),
    "scheduling:visit_discharge": Row(visit, CLINICAL_POST, "POST"),
    # Deferring today's visit: any staff role the lifecycle allows (scheduling.lifecycle DEFER).
    "scheduling:visit_defer": Row(visit, EVERY_STAFF_POST, "POST"),
    "scheduling:visit_rebook": Row(visit, EVERY_STAFF_POST, "POST"),
    # Acknowledging a day-of item (scheduling.visits.item_views): clinicians only.
    "scheduling:visit_item_acknowledge": Row(visit, CLINICAL_POST, "POST"),
    # infusion courses
    "scheduling:course_new": Row(pat, ALL_STAFF),
    # The staff patient page and its "Revoke all links" (scheduling.calendar.patient_views).
    "scheduling:patient": Row(pat, ALL_STAFF),
    "scheduling:patient_links_revoke": Row(pat, EVERY_STAFF_POST, "POST"),
    "scheduling:course_detail": Row(course, ALL_STAFF),
    "scheduling:course_move": Row(course, EVERY_STAFF_POST, "POST"),
    "scheduling:course_cancel": Row(course, EVERY_STAFF_POST, "POST"),
    "scheduling:course_maintenance": Row(course, EVERY_STAFF_POST, "POST"),
    # calendar feeds: the clinician's feed is reached by its own signed address
    "scheduling:clinician_feed": Row(
        lambda w, t: {"token": clinician_feed_token(w.clinician)}, everyone(200)
    ),
    "scheduling:feed_settings": Row(none, ALL_STAFF),
    # Revoking a feed: its own clinician or an admin.
    "scheduling:feed_revoke": Row(
        lambda w, t: {"clinician_id": w.clinician.pk}, staff_post(403, OK, OK), "POST"
    ),
    "scheduling:appointment_ics": Row(appt, ALL_STAFF),
    # reminders
    "scheduling:reminders": Row(none, ALL_STAFF),
    "scheduling:reminder_resend": Row(
        lambda w, t: {"reminder_id": w.reminder.pk}, EVERY_STAFF_POST, "POST"
    ),
    "scheduling:appointment_reminders": Row(appt, ALL_STAFF),
    # reports: every staff role; the clinical reports' CSV only clinicians and admin
    "scheduling:reports": Row(none, ALL_STAFF),
    "scheduling:report_csv": Row(lambda w, t: {"key": "delivery"}, ALL_STAFF),
    # inbound SMS: only with the provider's signature (none here)
    "scheduling:sms_webhook": Row(none, everyone(403), "POST"),
    # online booking and link requests: anyone
    "scheduling:book": Row(none, everyone(200)),
    "scheduling:book_hold": Row(none, everyone(302), "POST"),
    "scheduling:book_details": Row(lambda w, t: {"hold_key": w.hold.key}, everyone(200)),
    "scheduling:book_check_email": Row(none, everyone(200)),
    # The emailed link only moves its token into the session; without one the page is "expired".
    "scheduling:book_confirm_link": Row(
        lambda w, t: {"token": booking_confirm_token(1)}, everyone(302)
    ),
    "scheduling:book_confirm": Row(none, everyone(410)),
    "scheduling:link_request": Row(none, everyone(200)),
    "scheduling:link_sent": Row(none, everyone(200)),
    # the patient's own pages, by link
    "scheduling:patient_home": Row(tok, who(404, 200, 200, 404, 404, 404)),
    "scheduling:patient_ics": Row(tok_appt, own_link(200)),
    # How we contact you: the link's own patient (another link shows its own patient's page).
    "scheduling:patient_contact": Row(tok, who(404, 200, 200, 404, 404, 404)),
    # The waitlist (scheduling.waitlist.views): the link's own patient; the front desk's list.
    "scheduling:patient_waitlist": Row(tok, who(404, 200, 200, 404, 404, 404)),
    "scheduling:waitlist": Row(none, ALL_STAFF),
    # The opt-out link in every email: its own signed token, whoever opens it (GET changes
    # nothing).
    "intake:email_opt_out": Row(
        lambda w, t: {"token": email_opt_out_token(w.patient.pk)}, everyone(200)
    ),
    "scheduling:patient_cancel": Row(tok_appt, own_link(200)),
    # The world's infusion is far off: the patient gets the calm "opens on ..." page.
    "scheduling:check_in": Row(
        lambda w, t: {"token": t, "appointment_id": w.infusion.pk}, own_link(200)
    ),
    "scheduling:patient_reschedule": Row(tok_appt, own_link(200)),
    "scheduling:patient_reschedule_confirm": Row(tok_appt, own_link(302)),
    # Referrals (intake.referrals): the public form; its "sent" page only after a referral (the
    # reference is in the session); the front desk's queue; the letter for clinicians and admin.
    # The language switch (intake.language): anyone, back to the page it came from.
    "intake:set_language": Row(none, everyone(302), "POST"),
    "intake:referral": Row(none, everyone(200)),
    "intake:referral_sent": Row(none, everyone(302)),
    "intake:referral_queue": Row(none, ALL_STAFF),
    "intake:referral_detail": Row(referral, ALL_STAFF),
    "intake:referral_document": Row(referral_document, HEALTH),
    # The FHIR API (scheduling.fhir): not a staff or patient page. Its clients authenticate with
    # their own credentials (tests/fhir), never a session or a patient link: without them every
    # persona gets the 401 OperationOutcome; the CapabilityStatement and the SMART configuration
    # are public; the token endpoint answers an empty form with OAuth's 400.
    "fhir:metadata": Row(none, everyone(200)),
    "fhir:smart_configuration": Row(none, everyone(200)),
    "fhir:token": Row(none, everyone(400), "POST"),
    "fhir:search": Row(lambda w, t: {"resource_type": "Patient"}, everyone(401)),
    "fhir:read": Row(
        lambda w, t: {"resource_type": "Patient", "fhir_id": fhir_id("Patient", w.patient.pk)},
        everyone(401),
    ),
    "fhir:binary": Row(lambda w, t: {"fhir_id": "x"}, everyone(401)),
    "fhir:unknown": Row(lambda w, t: {"rest": "Patient/x/_history"}, everyone(404)),
    # The bulk export (scheduling.fhir.bulk_views): the same client credentials, nothing else.
    "fhir:export": Row(none, everyone(401)),
    "fhir:patient_export": Row(none, everyone(401)),
    "fhir:export_status": Row(lambda w, t: {"job_id": "0" * 32}, everyone(401)),
    "fhir:export_file": Row(
        lambda w, t: {"job_id": "0" * 32, "file_name": "Patient-1-0.ndjson"}, everyone(401)
    ),
    # The Django admin has its own tests; here only that it is shut to everyone but admins.
    "admin:index": Row(none, who(LOGIN, LOGIN, LOGIN, 302, 302, 200)),
}

POST_ONLY = sorted(name for name, row in MATRIX.items() if row.method == "POST")


def test_every_url_has_a_row() -> None:
    names = _all_url_names() | {"admin:index"}
    missing = sorted(names - set(MATRIX))
    stale = sorted(set(MATRIX) - names)
    assert not missing, f"URLs without a row in the permission MATRIX: {missing}"
    assert not stale, f"MATRIX rows for URLs that no longer exist: {stale}"


def _mismatch(response: Any, expected: int | str | tuple[int, ...]) -> str | None:
    status = response.status_code
    location = response.get("Location", "")
    if expected == LOGIN:
        if status == 302 and location.startswith((reverse("propel:login"), "/admin/login/")):
            return None
        return f"{status} {location}".strip() + ", expected a redirect to sign in"
    if expected == ALLOWED:
        # Past every access check: the action answers for itself (empty form: 400/409 or done).
        if status in (200, 302, 400, 409) and not location.startswith(reverse("propel:login")):
            return None
        return f"{status}, expected the action to be allowed"
    wanted = expected if isinstance(expected, tuple) else (expected,)
    return None if status in wanted else f"{status}, expected {expected}"


def _request(client: Client, method: str, url: str, link: str) -> Any:
    """A persona's request; a GET to an address holding a valid patient `link` is first swapped
    for a session (intake.link_pages: a 302 to the same address with `me`), which is followed
    once, as a browser does."""
    response = client.generic(method, url)
    if method == "GET" and link != BAD_TOKEN and f"/{link}/" in url:
        assert response.status_code == 302, f"{url}: no swap for a valid link"
        assert response["Location"] == url.replace(link, ME), response["Location"]
        response = client.get(response["Location"])
    return response


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_persona_gets_exactly_the_intended_answer(name: str) -> None:
    """One fixture world per URL, every persona against it (a world per persona took > 30 s)."""
    row = MATRIX[name]
    world = build_world()
    secret = world.patient.first_name
    failures = []
    for persona in PERSONAS:
        link = token_for(world, persona)
        url = reverse(name, kwargs=row.kwargs(world, link))
        expected = row.expect[persona]
        refused = expected in (LOGIN, 403, 404)
        before = snapshot() if row.method == "POST" and refused else None
        response = _request(client_for_persona(world, persona), row.method, url, link)
        problem = _mismatch(response, expected)
        if problem is None and before is not None and snapshot() != before:
            problem = "refused, but the POST changed data"
        if problem is None and persona == "other_link" and response.get("Content-Type", ""):
            body = response.content.decode(errors="replace")
            if secret in body:
                problem = "another patient's link showed this patient's name"
        if problem:
            failures.append(f"{row.method} {name} as {persona}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_endpoints_answer_get_with_405(name: str) -> None:
    row = MATRIX[name]
    world = build_world()
    allowed = next(
        (p for p in ("clinician", "admin", "front_desk") if row.expect[p] != 403), "anonymous"
    )
    url = reverse(name, kwargs=row.kwargs(world, BAD_TOKEN))
    response = client_for_persona(world, allowed).get(url)
    assert response.status_code == 405, f"GET {name} as {allowed}: {response.status_code}"
