"""What must be on file, at the visit (issue 21, item 4): the lifecycle holds a consultation's
check-in until the consents are signed and an infusion's start until the referral letter and
photo ID are on file or waived by a clinician (audited), never the infusion's check-in; the day
sheet, the visit screen, the staff patient page and the patient's own page say what is missing;
the waiver page refuses the front desk and admin, an item that may not be waived and an empty
reason."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.paperwork_models import (
    ConsentFormKind,
    ConsentFormVersion,
    DocumentKind,
    RequirementWaiver,
)
from propel.models import AuditEvent
from scheduling.errors import SchedulingError
from scheduling.models import AppointmentStatus
from scheduling.visits import visit_check_in, visit_record_vitals, visit_start
from tests.clinic_time import TUESDAY, at
from tests.factories import AppointmentFactory, PatientFactory, RoomFactory, infusion_type
from tests.intake.requirement_factories import (
    PatientDocumentFactory,
    RequirementWaiverFactory,
    clinic_defaults,
    give_all,
    sign,
)
from tests.patient_links import open_session
from tests.propel.html_validity import parse_errors
from tests.scheduling.visit_walk import NORMAL, check_in, clinician, start_infusion

pytestmark = pytest.mark.django_db

NOW = at(TUESDAY, 9, 30)
REASON = "Referral letter read on the phone with Dr. Example; copy follows."


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def defaults(db):
    return clinic_defaults()


def infusion(patient=None, hour: int = 10):
    return AppointmentFactory(
        patient=patient or PatientFactory(escorted=True, cleared=True),
        appointment_type=infusion_type(),
        room=RoomFactory(infusion=True),
        start=at(TUESDAY, hour),
    )


def consultation(patient=None, hour: int = 10):
    return AppointmentFactory(patient=patient or PatientFactory(), start=at(TUESDAY, hour))


def signed_consents(patient, defaults) -> None:
    for kind in ConsentFormKind.values:
        sign(patient, defaults[kind])


# --- The gate ----------------------------------------------------------------------------------


def test_the_first_infusion_does_not_start_without_the_documents(defaults, clock):
    appointment = infusion()
    check_in(appointment, now=NOW)  # the desk checks the patient in all the same
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN
    with pytest.raises(SchedulingError) as refused:
        start_infusion_after_check_in(appointment)
    message = refused.value.message
    assert "Upload or bring: Referral letter" in message and "Photo ID" in message
    (missing,) = [m for m in refused.value.missing if "Referral" in m.message]
    patient_page = reverse("scheduling:patient", args=[appointment.patient_id])
    assert missing.url == f"{patient_page}#on-file"
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


def start_infusion_after_check_in(appointment):
    actor = clinician()
    visit_record_vitals(appointment_id=appointment.pk, actor=actor, now=NOW, **NORMAL)
    visit_start(appointment_id=appointment.pk, actor=actor, now=NOW)


def test_the_infusion_starts_with_the_documents_on_file_or_waived(
    defaults, clock, client_for, clinician_user
):
    appointment = infusion()
    signed_consents(appointment.patient, defaults)
    PatientDocumentFactory(patient=appointment.patient, kind=DocumentKind.PHOTO_ID)
    response = client_for(clinician_user).post(
        reverse(
            "intake:requirement_waive",
            args=[appointment.patient_id, defaults[DocumentKind.REFERRAL].pk],
        ),
        {"reason": REASON},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#on-file")
    event = AuditEvent.objects.get(action="requirement.waived")
    assert event.patient_id == appointment.patient_id and event.actor == clinician_user
    start_infusion(appointment, now=NOW)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.IN_PROGRESS


def test_an_infusion_asks_again_for_a_form_signed_before_a_new_version(defaults, clock):
    """The consultation's forms are checked at every infusion start too: a version that asks
    patients to sign again holds the next infusion until they have."""
    appointment = infusion()
    give_all(appointment.patient, defaults)
    form = defaults[ConsentFormKind.TREATMENT].consent_form
    latest = form.versions.order_by("-number").first()
    ConsentFormVersion.objects.create(
        form=form,
        number=latest.number + 1,
        text="[PLACEHOLDER] A material change.",
        effective_date=NOW.date(),
        resign_required=True,
    )
    check_in(appointment, now=NOW)
    with pytest.raises(SchedulingError, match="Sign: Informed consent for treatment"):
        start_infusion_after_check_in(appointment)


def test_a_set_aside_document_stops_counting_at_the_start(defaults, clock):
    appointment = infusion()
    give_all(appointment.patient, defaults)
    photo = appointment.patient.documents.get(kind=DocumentKind.PHOTO_ID)
    photo.removed_at = NOW
    photo.save()
    check_in(appointment, now=NOW)
    with pytest.raises(SchedulingError, match="Photo ID"):
        start_infusion_after_check_in(appointment)


def test_a_consultation_is_not_checked_in_without_the_consents(defaults, clock, front_desk):
    appointment = consultation()
    sign(appointment.patient, defaults[ConsentFormKind.ELECTRONIC])
    with pytest.raises(SchedulingError) as refused:
        visit_check_in(
            appointment_id=appointment.pk, actor=front_desk, identity_confirmed=True, now=NOW
        )
    message = refused.value.message
    assert "Sign: Financial policy" in message and "signs forms on their link" in message
    assert "electronic records" not in message  # signed already
    assert "Referral" not in message  # the infusion's step, not the consultation's
    signed_consents(appointment.patient, defaults)
    visit_check_in(
        appointment_id=appointment.pk, actor=front_desk, identity_confirmed=True, now=NOW
    )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_a_follow_up_visit_needs_no_paperwork(defaults, clock, front_desk):
    appointment = AppointmentFactory(
        appointment_type__code="follow_up",
        appointment_type__name="Follow-up",
        start=at(TUESDAY, 10),
    )
    visit_check_in(
        appointment_id=appointment.pk, actor=front_desk, identity_confirmed=True, now=NOW
    )


# --- Waiver page -------------------------------------------------------------------------------


def waive_url(patient_id: int, requirement_id: int) -> str:
    return reverse("intake:requirement_waive", args=[patient_id, requirement_id])


@pytest.mark.parametrize("persona", ["front_desk", "admin_user"])
def test_the_front_desk_and_admin_may_not_waive(persona, request, defaults, patient, client_for):
    user = request.getfixturevalue(persona)
    url = waive_url(patient.pk, defaults[DocumentKind.PHOTO_ID].pk)
    assert client_for(user).post(url, {"reason": REASON}).status_code == 403
    assert not RequirementWaiver.objects.exists()


def test_an_item_that_may_not_be_waived_is_refused_on_the_page(
    defaults, patient, client_for, clinician_user
):
    url = waive_url(patient.pk, defaults[ConsentFormKind.TREATMENT].pk)
    response = client_for(clinician_user).post(url, {"reason": REASON})
    assert response.status_code == 400
    assert "may not be waived" in response.content.decode()
    assert not RequirementWaiver.objects.exists()


def test_a_short_reason_shows_the_form_again_with_the_words_kept(
    defaults, patient, client_for, clinician_user
):
    url = waive_url(patient.pk, defaults[DocumentKind.PHOTO_ID].pk)
    response = client_for(clinician_user).post(url, {"reason": "seen it"})
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "seen it</textarea>" in html and 'aria-describedby="id_reason_help id_reason_error"' in html
    )
    assert not RequirementWaiver.objects.exists()


def test_a_second_waiver_is_refused_and_unknown_ids_are_404(
    defaults, patient, client_for, clinician_user
):
    client = client_for(clinician_user)
    url = waive_url(patient.pk, defaults[DocumentKind.PHOTO_ID].pk)
    assert client.post(url, {"reason": REASON}).status_code == 302
    again = client.post(url, {"reason": REASON})
    assert again.status_code == 400 and "already waived" in again.content.decode()
    assert client.post(waive_url(patient.pk + 999, 1), {"reason": REASON}).status_code == 404
    assert client.post(waive_url(patient.pk, 99999), {"reason": REASON}).status_code == 404
    assert client.get(url).status_code == 405
    assert RequirementWaiver.objects.count() == 1


# --- Where it shows ----------------------------------------------------------------------------


def page(client, patient) -> str:
    response = client.get(reverse("scheduling:patient", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_staff_patient_page_lists_what_must_be_on_file(
    defaults, patient, client_for, clinician_user, front_desk, admin_user
):
    RequirementWaiverFactory(
        patient=patient, requirement=defaults[DocumentKind.REFERRAL], reason=REASON
    )
    as_clinician = page(client_for(clinician_user), patient)
    assert 'id="on-file"' in as_clinician and "Sign: " not in as_clinician
    assert "Informed consent for treatment" in as_clinician and REASON in as_clinician
    # A waiver form for the photo ID only: the consents may not be waived, the letter was.
    assert section(as_clinician).count('name="reason"') == 1
    assert waive_url(patient.pk, defaults[DocumentKind.PHOTO_ID].pk) in as_clinician
    as_desk = section(page(client_for(front_desk), patient))
    assert "Waived by a clinician." in as_desk and REASON not in as_desk
    assert 'name="reason"' not in as_desk
    as_admin = section(page(client_for(admin_user), patient))
    assert REASON in as_admin and 'name="reason"' not in as_admin


def section(html: str) -> str:
    return html.split('id="on-file"')[1].split("</section>")[0]


def test_the_day_sheet_shows_what_is_missing_in_a_fixed_number_of_queries(
    defaults, clock, client_for, front_desk
):
    client = client_for(front_desk)
    day = reverse("scheduling:day_sheet") + f"?date={TUESDAY.isoformat()}"
    first = infusion(hour=9)
    done = infusion(hour=11)
    give_all(done.patient, defaults)
    client.get(day)
    with CaptureQueriesContext(connection) as few:
        response = client.get(day)
    html = response.content.decode()
    row = html.split(f'id="day-row-{first.pk}"')[1].split("</tr>")[0]
    assert "Upload or bring: Referral letter" in row and "Upload or bring: Photo ID" in row
    row = html.split(f'id="day-row-{done.pk}"')[1].split("</tr>")[0]
    assert "Complete" in row and "Upload or bring" not in row
    for n in range(8):
        visit = (infusion if n % 2 else consultation)(hour=12 + n // 2)
        if n % 3 == 0:
            give_all(visit.patient, defaults)
    with CaptureQueriesContext(connection) as many:
        response = client.get(day)
    assert len(response.context["rows"]) == 10
    assert len(few) == len(many)


def test_the_visit_screen_says_what_is_missing_near_the_gate(defaults, clock, client_for):
    appointment = infusion()
    check_in(appointment, now=NOW)
    user = clinician()
    html = client_for(user).get(reverse("scheduling:visit", args=[appointment.pk])).content
    html = html.decode()
    assert 'id="visit-paperwork"' in html and "Upload or bring: Photo ID" in html
    reasons = html.split('id="start-reasons"')[1].split("</ul>")[0]
    assert "Not on file yet" in reasons


def test_the_patients_page_says_what_to_sign_and_bring_before_the_visit(defaults, clock, client):
    patient = PatientFactory()
    consultation(patient)
    sign(patient, defaults[ConsentFormKind.ELECTRONIC])
    token = open_session(client, patient)
    html = client.get(reverse("scheduling:patient_home", args=[token])).content.decode()
    card = html.split('id="before-your-visit"')[1].split("</section>")[0]
    assert "Before your visit on" in card
    assert "Sign: Financial policy" in card and "Sign: Consent to electronic" not in card
    assert reverse("intake:forms", args=[token]) in card
    assert reverse("intake:documents", args=[token]) not in card  # nothing to upload for it


def test_the_patients_page_says_nothing_when_nothing_is_missing(defaults, clock, client):
    patient = PatientFactory()
    consultation(patient)
    signed_consents(patient, defaults)
    token = open_session(client, patient)
    html = client.get(reverse("scheduling:patient_home", args=[token])).content.decode()
    assert "Before your visit" not in html


def test_an_infusion_lists_documents_to_upload_or_bring(defaults, clock, client):
    patient = PatientFactory(escorted=True, cleared=True)
    infusion(patient, hour=10)
    token = open_session(client, patient)
    html = client.get(reverse("scheduling:patient_home", args=[token])).content.decode()
    assert "Upload or bring: Photo ID" in html
    assert reverse("intake:documents", args=[token]) in html
    assert "bring the document with you" in html


def test_the_pages_that_show_it_are_valid_html(
    defaults, clock, client, client_for, clinician_user, front_desk
):
    appointment = infusion()
    RequirementWaiverFactory(
        patient=appointment.patient, requirement=defaults[DocumentKind.REFERRAL], reason=REASON
    )
    staff = client_for(clinician_user)
    pages = {
        "patient page": staff.get(reverse("scheduling:patient", args=[appointment.patient_id])),
        "day sheet": client_for(front_desk).get(reverse("scheduling:day_sheet")),
        "visit": staff.get(reverse("scheduling:visit", args=[appointment.pk])),
        "waiver refused": staff.post(
            waive_url(appointment.patient_id, defaults[DocumentKind.PHOTO_ID].pk), {"reason": "x"}
        ),
    }
    token = open_session(client, appointment.patient)
    pages["patient's own page"] = client.get(reverse("scheduling:patient_home", args=[token]))
    for name, response in pages.items():
        html = response.content.decode()
        assert "Photo ID" in html, name
        assert parse_errors(html) == [], name
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), (name, sorted(i for i in ids if ids.count(i) > 1))
