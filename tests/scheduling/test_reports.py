"""Issue 20, item 6: each report's numbers against a hand-built clinic, the role sections, the
date range, CSV safety and constant queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from propel.models import AuditEvent
from scheduling.models import (
    AppointmentStatus,
    AppointmentStatusChange,
    BookingRequest,
    CourseEndReason,
    CourseStatus,
    InfusionCourse,
    Reminder,
    ReminderChannel,
    ReminderState,
    Visit,
    WorkingHours,
)
from scheduling.reports.attendance import attendance
from scheduling.reports.bars import bar_chart
from scheduling.reports.clinical import courses, outcomes
from scheduling.reports.csv_export import safe_cell
from scheduling.reports.delivery import deferrals, delivery
from scheduling.reports.lead_times import lead_times
from scheduling.reports.period import Period, PeriodForm, default_period
from scheduling.reports.utilisation import utilisation
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    ClosureFactory,
    PatientFactory,
    RoomFactory,
    SubmittedScreeningFactory,
    open_weekdays,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(dt.datetime(2027, 1, 20, 20, tzinfo=dt.UTC), tick=False):
        yield


UTC = dt.UTC
WEEK = Period(dt.date(2027, 1, 4), dt.date(2027, 1, 10))  # Monday to Sunday


def at(day: int, hour: int) -> dt.datetime:
    """January 2027, `hour` Pacific (UTC-8)."""
    return dt.datetime(2027, 1, day, hour + 8, tzinfo=UTC)


@pytest.fixture
def clinic():
    open_weekdays()  # Monday to Friday, 9 to 7: 600 minutes a day
    ClosureFactory(start_date=dt.date(2027, 1, 6), end_date=dt.date(2027, 1, 6))
    room = RoomFactory(name="Consult A")
    clinician = ClinicianFactory(display_name="Dr Example")
    WorkingHours.objects.filter(clinician=clinician).delete()  # the factory's full week
    WorkingHours.objects.create(clinician=clinician, weekday=0, starts=dt.time(9), ends=dt.time(13))
    WorkingHours.objects.create(clinician=clinician, weekday=1, starts=dt.time(9), ends=dt.time(19))
    return room, clinician


def visit(clinic, start, status=AppointmentStatus.BOOKED, **fields):
    room, clinician = clinic
    return AppointmentFactory(room=room, clinician=clinician, start=start, status=status, **fields)


def cancelled(clinic, start, before):
    appointment = visit(clinic, start, AppointmentStatus.CANCELLED)
    AppointmentStatusChange.objects.create(
        appointment=appointment,
        from_status=AppointmentStatus.BOOKED,
        to_status=AppointmentStatus.CANCELLED,
        at=start - before,
    )
    return appointment


def rows(report):
    return {row[0] if len(row) < 6 else (row[0], row[1], row[2]): row for row in report.rows}


# --- utilisation ------------------------------------------------------------------------------


def test_utilisation_counts_active_minutes_over_open_minutes(clinic):
    visit(clinic, at(4, 9), AppointmentStatus.COMPLETED)  # 60 minutes, Monday
    visit(clinic, at(5, 10))  # 60 minutes, Tuesday
    visit(clinic, at(5, 12), AppointmentStatus.CANCELLED)  # not counted
    visit(clinic, at(11, 9))  # the next week: outside the range
    report = utilisation(WEEK)
    by_name = {row[1]: row for row in report.rows}
    # Four open days (Wednesday closed) of 600 minutes; the clinician works 240 + 600.
    assert by_name["Consult A"][2:] == (dt.date(2027, 1, 4), 120, 2400, 5.0)
    assert by_name["Dr Example"][2:] == (dt.date(2027, 1, 4), 120, 840, 14.3)


def test_overlapping_hours_count_once(clinic):
    _room, clinician = clinic
    WorkingHours.objects.create(
        clinician=clinician, weekday=0, starts=dt.time(12), ends=dt.time(14)
    )
    by_name = {row[1]: row for row in utilisation(WEEK).rows}
    assert by_name["Dr Example"][4] == 900  # Monday 9 to 2, Tuesday 9 to 7


def test_utilisation_splits_weeks_and_counts_extra_openings(clinic):
    visit(clinic, at(11, 9))
    report = utilisation(Period(dt.date(2027, 1, 4), dt.date(2027, 1, 12)))
    weeks = {(row[1], row[2]): row[3:] for row in report.rows}
    assert weeks[("Consult A", dt.date(2027, 1, 11))] == (60, 1200, 5.0)
    assert weeks[("Consult A", dt.date(2027, 1, 4))] == (0, 2400, 0.0)


# --- attendance -------------------------------------------------------------------------------


def test_no_show_and_late_cancel_rates(clinic, settings):
    settings.ONLINE_CHANGE_CUTOFF = dt.timedelta(hours=24)
    visit(clinic, at(4, 9), AppointmentStatus.COMPLETED)
    visit(clinic, at(4, 11))
    visit(clinic, at(5, 9), AppointmentStatus.NO_SHOW)
    cancelled(clinic, at(5, 11), dt.timedelta(hours=2))  # late
    cancelled(clinic, at(5, 14), dt.timedelta(days=3))  # in good time
    visit(clinic, at(12, 9), AppointmentStatus.NO_SHOW)  # outside the range
    report = attendance(WEEK)
    total = report.rows[-1]
    assert total == ("All", 5, 1, 20.0, 2, 1, 20.0)
    assert report.bars == [("No-show", 20.0), ("Late cancellation", 20.0)]


def test_late_means_inside_the_cutoff_setting(clinic, settings):
    settings.ONLINE_CHANGE_CUTOFF = dt.timedelta(hours=1)
    cancelled(clinic, at(5, 11), dt.timedelta(hours=2))
    assert attendance(WEEK).rows[-1][5] == 0


# --- lead times -------------------------------------------------------------------------------


def test_time_from_first_contact_median_and_p90(clinic):
    first = visit(clinic, at(5, 9), AppointmentStatus.COMPLETED)
    second = visit(clinic, at(7, 9))
    first.patient.__class__.objects.filter(pk=first.patient_id).update(created_at=at(1, 9))
    second.patient.__class__.objects.filter(pk=second.patient_id).update(created_at=at(1, 9))
    # The second patient first asked online ten days before their consultation.
    BookingRequest.objects.create(
        first_name="Test",
        last_name="Example",
        date_of_birth=dt.date(1980, 1, 1),
        email="t@example.com",
        mobile="+19165550100",
        start=at(7, 9),
        hold_key="k",
        expires_at=at(7, 9),
        appointment=second,
    )
    BookingRequest.objects.filter(hold_key="k").update(
        created_at=dt.datetime(2026, 12, 28, 17, tzinfo=UTC)
    )
    visit(clinic, at(6, 9), AppointmentStatus.NO_SHOW)  # a no-show is not a first consultation
    report = lead_times(WEEK)
    consultation, infusion = report.rows
    assert consultation == ("Consultation", 2, 7.0, 9.4)  # 4 and 10 days
    assert infusion == ("First infusion", 0, None, None)


# --- deferrals and delivery -------------------------------------------------------------------


def test_deferrals_by_reason_and_count(clinic):
    for hour, reason in ((9, "Blood pressure"), (11, "Blood pressure"), (14, "Unwell")):
        Visit.objects.create(
            appointment=visit(clinic, at(5, hour), AppointmentStatus.DEFERRED),
            deferred_reason=reason,
            deferred_at=at(5, hour),
        )
    assert deferrals(WEEK, with_reasons=True).rows == [("Blood pressure", 2), ("Unwell", 1)]
    counted = deferrals(WEEK, with_reasons=False)
    assert counted.rows == [("All reasons", 3)]
    assert not counted.clinical


def test_reminder_delivery_by_channel():
    patient = PatientFactory()
    for channel, state, day in (
        (ReminderChannel.EMAIL, ReminderState.SENT, 4),
        (ReminderChannel.EMAIL, ReminderState.SENT, 5),
        (ReminderChannel.EMAIL, ReminderState.SENT, 6),
        (ReminderChannel.EMAIL, ReminderState.FAILED, 6),
        (ReminderChannel.SMS, ReminderState.SKIPPED, 7),
        (ReminderChannel.SMS, ReminderState.SENT, 7),
        (ReminderChannel.SMS, ReminderState.FAILED, 12),  # outside
    ):
        Reminder.objects.create(
            patient=patient, kind="patient_link", channel=channel, state=state, due_at=at(day, 9)
        )
    email, sms = delivery(WEEK).rows
    assert email == ("Email", 3, 1, 0, 0, 0, 75.0)
    assert sms == ("Text message", 1, 0, 1, 0, 0, 50.0)


# --- courses and outcomes ---------------------------------------------------------------------


def course(status, reason="", created=None):
    made = InfusionCourse.objects.create(
        patient=PatientFactory(),
        planned_sessions=6,
        span_weeks=6,
        status=status,
        end_reason=reason,
        ended_at=at(6, 9) if reason else None,
    )
    InfusionCourse.objects.filter(pk=made.pk).update(created_at=created or at(5, 9))
    return made


def test_course_completion_and_dropout_reasons():
    course(CourseStatus.COMPLETED)
    course(CourseStatus.ENDED_EARLY, CourseEndReason.SIDE_EFFECTS)  # after some sessions
    course(CourseStatus.CANCELLED, CourseEndReason.COST)  # before any
    course(CourseStatus.ACTIVE)
    course(CourseStatus.COMPLETED, created=at(12, 9))  # outside
    by_label = {row[0]: row[1:] for row in courses(WEEK).rows}
    assert by_label["Completed"] == (1, 33.3)
    assert by_label["Ended early: Side effects"] == (1, 33.3)
    assert by_label["Ended early: Cost"] == (1, 33.3)
    assert by_label["Ended early: Moved away"] == (0, 0.0)
    assert by_label["Still in progress"] == (1, None)


def scores(phq9, gad7, pain):
    return {"phq9": {"total": phq9}, "gad7": {"total": gad7}, "nrs11_pain": {"score": pain}}


def ended_course(session_end_day, rounds):
    made = course(CourseStatus.COMPLETED, created=at(1, 9))
    session_start = at(session_end_day, 9) if isinstance(session_end_day, int) else session_end_day
    AppointmentFactory(
        patient=made.patient,
        course=made,
        infusion=True,
        start=session_start,
        status=AppointmentStatus.COMPLETED,
    )
    for number, (day, values) in enumerate(rounds, start=1):
        SubmittedScreeningFactory(
            patient=made.patient, round=number, submitted_at=day, scores=values
        )
    return made


def test_response_and_remission_at_course_end(clinic):
    # Responds and remits on PHQ-9 (20 -> 4), GAD-7 only responds (12 -> 6), pain responds (8 -> 2);
    # a later round after the course's last session is not read.
    ended_course(
        5,
        [
            (dt.datetime(2026, 12, 1, 18, tzinfo=UTC), scores(20, 12, 8)),
            (at(5, 8), scores(4, 6, 2)),
            (at(8, 8), scores(20, 20, 10)),
        ],
    )
    # No response (10 -> 8).
    ended_course(
        7,
        [
            (dt.datetime(2026, 12, 2, 18, tzinfo=UTC), scores(10, 10, 6)),
            (at(6, 8), scores(8, 8, 5)),
        ],
    )
    # Only a baseline: not counted.
    ended_course(7, [(dt.datetime(2026, 12, 3, 18, tzinfo=UTC), scores(15, 15, 7))])
    phq9, gad7, pain = outcomes(WEEK).rows
    assert phq9[1:] == (3, 2, 1, 50.0, 1, 50.0)
    assert gad7[1:] == (3, 2, 1, 50.0, 0, 0.0)
    assert pain[1:] == (3, 2, 1, 50.0, None, None)


# --- range, roles, CSV, queries ---------------------------------------------------------------


def test_default_range_is_the_last_twelve_weeks():
    assert default_period(dt.date(2027, 3, 31)) == Period(dt.date(2027, 1, 7), dt.date(2027, 3, 31))


@pytest.mark.parametrize(
    "data",
    [
        {"first": "2027-02-01", "last": "2027-01-01"},
        {"first": "nonsense", "last": "2027-01-01"},
        {"first": "2020-01-01", "last": "2027-01-01"},
        {"first": "", "last": ""},
    ],
)
def test_bad_ranges_are_form_errors(data, client_for, admin_user):
    assert not PeriodForm(data).is_valid()
    client = client_for(admin_user)
    response = client.get(reverse("scheduling:reports"), data)
    assert response.status_code == 400
    assert "is-invalid" in response.content.decode() or "range-errors" in response.content.decode()
    assert (
        client.get(reverse("scheduling:report_csv", args=["attendance"]), data).status_code == 400
    )


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell):
    assert safe_cell(cell) == "'" + cell
    assert safe_cell("Dr Example") == "Dr Example"
    assert safe_cell(None) == ""


def test_csv_streams_a_report_with_safe_cells(clinic, client_for, clinician_user):
    Visit.objects.create(
        appointment=visit(clinic, at(5, 9), AppointmentStatus.DEFERRED),
        deferred_reason='=HYPERLINK("http://evil.example")',
        deferred_at=at(5, 9),
    )
    client = client_for(clinician_user)
    response = client.get(
        reverse("scheduling:report_csv", args=["deferrals-by-reason"]),
        {"first": "2027-01-04", "last": "2027-01-10"},
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == ["Reason", "Deferred visits"]
    assert table[1] == ['\'=HYPERLINK("http://evil.example")', "1"]
    assert AuditEvent.objects.filter(action="report.viewed").count() == 1


CLINICAL = {"courses", "deferrals-by-reason", "outcomes"}
OPERATIONAL = {"utilisation", "attendance", "lead-times", "deferrals", "delivery"}


@pytest.mark.parametrize("persona", ["front desk", "clinician", "admin"])
def test_sections_by_role(persona, personas, client_for):
    client = client_for(personas[persona])
    page = client.get(reverse("scheduling:reports")).content.decode()
    for key in OPERATIONAL:
        assert f'id="{key}"' in page
    for key in CLINICAL:
        assert (f'id="{key}"' in page) == (persona != "front desk")
    audited = AuditEvent.objects.filter(action="report.viewed").count()
    assert audited == (0 if persona == "front desk" else 1)


def test_front_desk_cannot_download_clinical_reports(client_for, front_desk):
    client = client_for(front_desk)
    for key in CLINICAL:
        assert client.get(reverse("scheduling:report_csv", args=[key])).status_code == 403
    assert client.get(reverse("scheduling:report_csv", args=["nope"])).status_code == 404
    assert client.get(reverse("scheduling:report_csv", args=["delivery"])).status_code == 200


def test_chart_is_an_image_with_escaped_text():
    svg = bar_chart("chart-x", "A <b> title", [("<script>", 12.5)], "%")
    assert 'role="img"' in svg
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def build_clinic_data(clinic, weeks, first_week=0):
    for week in range(first_week, first_week + weeks):
        start = dt.datetime(2027, 1, 4, 17, tzinfo=UTC) + dt.timedelta(weeks=week)
        visit(clinic, start, AppointmentStatus.COMPLETED)
        cancelled(clinic, start + dt.timedelta(hours=2), dt.timedelta(hours=1))
        Reminder.objects.create(
            patient=PatientFactory(),
            kind="patient_link",
            channel=ReminderChannel.EMAIL,
            state=ReminderState.SENT,
            due_at=start,
        )
        course(CourseStatus.CANCELLED, CourseEndReason.COST, created=start)
        ended_course(
            start + dt.timedelta(days=1),
            [(start - dt.timedelta(days=30), scores(20, 12, 8)), (start, scores(4, 6, 2))],
        )
        Visit.objects.create(
            appointment=visit(clinic, start + dt.timedelta(hours=4), AppointmentStatus.DEFERRED),
            deferred_reason=f"Reason {week}",
            deferred_at=start,
        )


def test_page_queries_do_not_grow_with_the_data(clinic, client_for, admin_user):
    client = client_for(admin_user)
    url = reverse("scheduling:reports")
    query = {"first": "2026-12-01", "last": "2027-03-31"}
    counts = []
    for first_week, weeks in ((0, 1), (1, 8)):
        build_clinic_data(clinic, weeks, first_week)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    page = response.content.decode()
    assert "Reason 8" in page  # the larger data set is on the page
    assert "<td>9</td><td>9</td>" in page  # nine courses, each with a baseline and a later score


@pytest.mark.parametrize("weeks", [1, 6])
def test_page_queries_are_constant(
    weeks, clinic, client_for, admin_user, django_assert_max_num_queries
):
    build_clinic_data(clinic, weeks)
    client = client_for(admin_user)
    with django_assert_max_num_queries(30):
        response = client.get(
            reverse("scheduling:reports"), {"first": "2026-12-01", "last": "2027-03-31"}
        )
    assert response.status_code == 200


def test_long_chart_labels_are_shortened():
    svg = bar_chart("c", "t", [("Clinician: " + "x" * 60, 1.0)])
    description, drawn = svg.split("</desc>")
    assert "x" * 60 in description  # read whole by a screen reader
    assert "x" * 60 not in drawn
    assert "\N{HORIZONTAL ELLIPSIS}" in drawn
