"""Staff pages for infusion courses: plan and book a course for a cleared patient on one page
(two submits: propose, book), then follow it on the course page (progress, outcome measures
for clinicians and admin, move one session, end the course early with a reason, add maintenance).

The views check access, bind a form and call one service of scheduling.courses.services; the rules
(how many sessions, how far apart, what is free) live there. Every SchedulingError becomes a form
error on the page it came from, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from intake.clearance import clearance_status
from intake.models import Patient
from propel.roles import Capability, can, staff_required
from scheduling.audit import audit_patient_event, audit_shown
from scheduling.courses.forms import (
    CourseEndForm,
    CoursePlanForm,
    CourseSessionsForm,
    MaintenanceForm,
    SessionMoveForm,
    to_local_input,
)
from scheduling.courses.outcomes import course_outcomes
from scheduling.courses.services import (
    CourseConflict,
    course_add_maintenance,
    course_book,
    course_end,
    course_progress,
    course_propose,
    course_session_move,
)
from scheduling.errors import SchedulingError
from scheduling.models import Appointment, AppointmentStatus, CourseStatus, InfusionCourse

TOO_LARGE = gettext_lazy("That was more than we can accept. Please check the form and try again.")


def _bind(form: Any, data: Any, *, field: str | None) -> Any:
    """`form` as given, or, when the body could not be read (`data` is None: too large), the same
    form showing only that problem on `field`."""
    if data is None:
        form.is_valid()
        form.errors.clear()
        form.add_error(field, TOO_LARGE)
    return form


def _post_data(request: HttpRequest) -> QueryDict | None:
    """request.POST, or None when the body is beyond DATA_UPLOAD_MAX_MEMORY_SIZE."""
    try:
        return request.POST
    except RequestDataTooBig:
        return None


# --- Planner ----------------------------------------------------------------------------------


NEW_PAGE = "scheduling/courses/new.html"


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@staff_required(Capability.CALENDAR)
def course_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    # Every answer but the redirect after booking shows the patient; one row per request.
    audit_shown(request, [patient.pk])
    today = timezone.localdate()
    clearance = clearance_status(patient.pk, today=today)
    context: dict[str, Any] = {
        "patient": patient,
        "clearance": clearance,
        "courses": patient.courses.all()[:10],
        "conflict": None,
        "sessions_form": None,
    }
    if not clearance.is_cleared:
        # No plan for a patient a clinician has not cleared; a forged POST gets the same page.
        return render(request, NEW_PAGE, context, status=403 if request.method == "POST" else 200)
    if request.method != "POST":
        context["plan_form"] = CoursePlanForm(today=today)
        return render(request, NEW_PAGE, context)
    data = _post_data(request)
    plan_form = CoursePlanForm({} if data is None else data, today=today)
    context["plan_form"] = _bind(plan_form, data, field=None)
    if data is None:
        return render(request, NEW_PAGE, context, status=400)
    if data.get("action") == "propose":
        context["sessions_form"] = _propose(plan_form, patient)
        return render(request, NEW_PAGE, context, status=200 if plan_form.is_valid() else 400)
    return _book(request, context, CourseSessionsForm.from_post(data), patient)


def _propose(plan_form: CoursePlanForm, patient: Patient) -> CourseSessionsForm | None:
    """The proposed sessions' form, or None with the plan form saying why not."""
    if not plan_form.is_valid():
        return None
    try:
        starts = course_propose(patient_id=patient.pk, **plan_form.proposal())
    except SchedulingError as error:
        plan_form.add_error(None, error.message)
        return None
    return CourseSessionsForm.proposed(starts)


def _book(
    request: HttpRequest,
    context: dict[str, Any],
    sessions_form: CourseSessionsForm,
    patient: Patient,
) -> HttpResponse:
    """Book the sessions as submitted; a conflict shows its alternatives on the page."""
    context["sessions_form"] = sessions_form
    if not sessions_form.is_valid():
        return render(request, NEW_PAGE, context, status=400)
    plan_form = context["plan_form"]
    try:
        course = course_book(
            patient_id=patient.pk,
            starts=sessions_form.cleaned_data["starts"],
            actor=request.user,
            # The span chosen in the plan, when the plan is still there to read.
            weeks=plan_form.cleaned_data["weeks"] if plan_form.is_valid() else None,
            request=request,
        )
    except CourseConflict as conflict:
        context["conflict"] = sessions_form.conflict(conflict)
        return render(request, NEW_PAGE, context, status=409)
    except SchedulingError as error:
        sessions_form.add_error(None, error.message)
        return render(request, NEW_PAGE, context, status=400)
    count = len(sessions_form.cleaned_data["starts"])
    messages.success(
        request,
        ngettext(
            "Booked a course of %(count)d infusion.",
            "Booked a course of %(count)d infusions.",
            count,
        )
        % {"count": count},
    )
    return redirect("scheduling:course_detail", course_id=course.pk)


# --- The course page --------------------------------------------------------------------------


def _course_or_404(course_id: int) -> InfusionCourse:
    return get_object_or_404(
        InfusionCourse.objects.select_related("patient", "ended_by"), pk=course_id
    )


def _render_detail(
    request: HttpRequest,
    course: InfusionCourse,
    *,
    move_form: SessionMoveForm | None = None,
    move_for: int | None = None,
    end_form: CourseEndForm | None = None,
    maintenance_form: MaintenanceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    progress = course_progress(course)
    sessions = list(
        course.sessions.select_related("appointment_type", "room", "clinician").order_by(
            "start", "id"
        )
    )
    now = timezone.now()
    rows = []
    for session in sessions:
        if move_for == session.pk and move_form is not None:
            form = move_form
        else:
            form = SessionMoveForm(
                initial={"appointment_id": session.pk, "new_start": to_local_input(session.start)},
                auto_id=f"move-{session.pk}-%s",
            )
            # A session in the hour that happens twice shows which one it is (the question asked,
            # its own answer chosen), so the form sent back unchanged means the same instant.
            form.show_instant("new_start", session.start)
        rows.append(
            {
                "appointment": session,
                "movable": session.status == AppointmentStatus.BOOKED and session.start > now,
                "form": form,
            }
        )
    # All sessions over and at least one done: course_add_maintenance completes the course first.
    all_done = (
        course.status == CourseStatus.ACTIVE
        and progress["upcoming"] == 0
        and progress.get("to_record", 0) == 0
        and progress["done"] > 0
    )
    audit_shown(request, [course.patient_id])
    # Scores are health information: clinicians and admin only, and each read is audited.
    outcomes = None
    if can(request.user, Capability.HEALTH_RECORD):
        outcomes = course_outcomes(course, progress["sessions"])
        audit_patient_event(course, "course.outcomes_viewed", actor=request.user, request=request)
    context = {
        "course": course,
        "patient": course.patient,
        "progress": progress,
        "rows": rows,
        # Ending early: an active course with fewer sessions done than planned.
        "can_end": course.status == CourseStatus.ACTIVE
        and (progress["remaining"] > 0 or progress["done"] < course.planned_sessions),
        "outcomes": outcomes,
        "can_add_maintenance": course.status == CourseStatus.COMPLETED or all_done,
        "end_form": end_form or CourseEndForm(auto_id="end-%s"),
        "maintenance_form": maintenance_form or MaintenanceForm(auto_id="maintenance-%s"),
    }
    return render(request, "scheduling/courses/detail.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
@staff_required(Capability.CALENDAR)
def course_detail(request: HttpRequest, course_id: int) -> HttpResponse:
    return _render_detail(request, _course_or_404(course_id))


def _course_action(
    request: HttpRequest,
    course: InfusionCourse,
    form: Any,
    *,
    act: Callable[[dict[str, Any]], str],
    error_field: str | None,
    shown: dict[str, Any],
) -> HttpResponse:
    """One POST action on the course page: when `form` is valid, `act` calls one service with its
    cleaned data and returns the success message, and the course page comes back (PRG); a refusal
    goes on `error_field` and the page shows the form again (400), passed as `shown`."""
    if form.is_valid():
        try:
            message = act(form.cleaned_data)
        except SchedulingError as error:
            form.add_error(error_field, error.message)
        else:
            messages.success(request, message)
            return redirect("scheduling:course_detail", course_id=course.pk)
    return _render_detail(request, course, status=400, **shown)


@never_cache
@require_POST
@staff_required(Capability.CALENDAR)
def course_move(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_or_404(course_id)
    data = _post_data(request)
    if data is None:
        messages.error(request, TOO_LARGE)
        return _render_detail(request, course, status=400)
    form = SessionMoveForm(data)
    appointment_id = form.data.get("appointment_id")
    session = (
        Appointment.objects.filter(pk=cast(str, appointment_id), course=course).first()
        if str(appointment_id or "").isdigit()
        else None
    )
    if session is None:
        messages.error(request, _("That session is not part of this course."))
        return _render_detail(request, course, status=400)

    def move(cleaned: dict[str, Any]) -> str:
        course_session_move(
            appointment_id=session.pk,
            new_start=cleaned["new_start"],
            actor=request.user,
            request=request,
            notice_reason=cleaned.get("notice_reason") or "",
        )
        return _("Session moved.")

    form = SessionMoveForm(data, auto_id=f"move-{session.pk}-%s")
    shown = {"move_form": form, "move_for": session.pk}
    return _course_action(request, course, form, act=move, error_field="new_start", shown=shown)


# An action on the whole course: (request, course, the form's cleaned data) -> success message.
CourseAct = Callable[[HttpRequest, InfusionCourse, dict[str, Any]], str]


def _course_form_view(
    form_class: Any, name: str, *, field: str, error_field: str | None, act: CourseAct
) -> Callable[[HttpRequest, int], HttpResponse]:
    """The POST view of a course-wide action: its form (`<name>_form` on the page, ids
    `<name>-*`) bound to the body, then `_course_action`. A body too large to read leaves the form
    invalid, showing only that problem on `field`."""

    @never_cache
    @require_POST
    @staff_required(Capability.CALENDAR)
    def view(request: HttpRequest, course_id: int) -> HttpResponse:
        course = _course_or_404(course_id)
        data = _post_data(request)
        form = _bind(form_class(data or {}, auto_id=f"{name}-%s"), data, field=field)
        return _course_action(
            request,
            course,
            form,
            act=lambda cleaned: act(request, course, cleaned),
            error_field=error_field,
            shown={f"{name}_form": form},
        )

    return view


def _act_end(request: HttpRequest, course: InfusionCourse, cleaned: dict[str, Any]) -> str:
    count = course_end(
        course_id=course.pk,
        actor=request.user,
        end_reason=cleaned["end_reason"],
        end_note=cleaned.get("end_note") or "",
        request=request,
        notice_reason=cleaned.get("notice_reason") or "",
    )
    return ngettext(
        "Course ended; %(count)d remaining session cancelled.",
        "Course ended; %(count)d remaining sessions cancelled.",
        count,
    ) % {"count": count}


def _act_maintenance(request: HttpRequest, course: InfusionCourse, cleaned: dict[str, Any]) -> str:
    course_add_maintenance(
        course_id=course.pk, start=cleaned["start"], actor=request.user, request=request
    )
    return _("Maintenance infusion booked.")


# The URL keeps its name (scheduling:course_cancel); the action ends the course early.
course_cancel = _course_form_view(
    CourseEndForm, "end", field="end_reason", error_field=None, act=_act_end
)
course_maintenance = _course_form_view(
    MaintenanceForm, "maintenance", field="start", error_field="start", act=_act_maintenance
)
