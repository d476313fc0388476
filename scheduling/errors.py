"""The scheduling app's one domain error. Messages are written to be shown to staff or patients."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from propel.errors import DomainError


class SchedulingError(DomainError):
    messages = {
        "type_unavailable": _("This kind of appointment is not offered."),
        "not_self_bookable": _("This kind of appointment is booked by the clinic's staff."),
        # `why` (intake.clearance.clearance_refusal) says which: no decision yet, declined,
        # expired, ended by a new screening, or more information needed.
        "needs_clearance": _("This appointment needs a clinician's clearance. {why}"),
        "in_past": _("That time has already passed. Please choose a later time."),
        "closed": _("The clinic is closed on {day} ({reason})."),
        "outside_hours": _("The clinic is not open for the whole of that time."),
        "wrong_room_kind": _("{room} is not the right kind of room for this appointment."),
        "room_inactive": _("{room} is not in use."),
        "clinician_needed": _("This appointment needs a clinician."),
        "clinician_off": _("{clinician} is not working for the whole of that time."),
        "room_taken": _("{room} is already booked at that time."),
        "clinician_taken": _("{clinician} already has an appointment at that time."),
        "patient_taken": _("The patient already has an appointment at that time."),
        # Blocked time (scheduling.time_off): {reason} is its category, {span} when it runs.
        "clinician_blocked": _("{name} is off at that time ({reason}, {span})."),
        "room_blocked": _("{name} is blocked at that time ({reason}, {span})."),
        "time_off_dates": _("The end of blocked time must be after its start."),
        "time_off_resource": _("Choose a clinician or a room (one of them)."),
        "time_off_visits_changed": _(
            "The visits in that time changed since the list was shown. Nothing was saved: "
            "check the list again."
        ),
        "time_off_not_found": _("That blocked time could not be found."),
        "infusion_too_close": _(
            "Treatment visits must start at least {hours} hours apart; the patient has one on "
            "{when}."
        ),
        "infusion_week_full": _(
            "The patient already has {limit} treatment visits that week, the most allowed."
        ),
        "held": _(
            "That time is held for someone booking online. It frees up within a few minutes "
            "if they do not book."
        ),
        "no_resource": _("No room or clinician is free at that time. Please choose another time."),
        "busy": _("The calendar is busy right now. Please try again in a moment."),
        "bad_transition": _("No step of a visit leads to {target}."),
        # scheduling.lifecycle: every missing step, each saying where to do it.
        "lifecycle_refused": _("Not yet: {reasons}"),
        "not_allowed": _("Your role cannot make this change."),
        "stale": _("This appointment was changed by someone else. Please reload and try again."),
        "not_found": _("That appointment could not be found."),
        "patient_not_found": _("That patient could not be found."),
        # Closures (scheduling.closures): never leave booked visits on a closed day unannounced.
        "closure_dates": _("The last day of a closure cannot be before its first day."),
        "closure_has_visits": _(
            "{count} booked visit(s) fall on these days. Close the clinic from the calendar's "
            "“Close the clinic” page: it lists them, cancels them, emails each patient and "
            "leaves them for you to rebook. Or move them first."
        ),
        "closure_visits_changed": _(
            "The visits on these days changed since the list was shown (a booking was made or "
            "moved). Nothing was saved: check the list again."
        ),
        "closure_not_found": _("That closure could not be found."),
        # Online booking (scheduling.online.services): written for patients, calm, always a way
        # forward.
        "slot_gone": _("Sorry, that time is no longer free. Please choose another time."),
        "too_soon": _(
            "Online bookings need at least {hours} hours' notice. For a sooner time, please call "
            "us at {phone}."
        ),
        "too_far": _(
            "You can book up to {days} days ahead online. For a later date, please call us at "
            "{phone}."
        ),
        "too_many_upcoming": _(
            "You already have {limit} upcoming consultations booked. To book another, please "
            "call us at {phone}."
        ),
        "under_18": _(
            "We can only book online for adults aged 18 or over. Please call the clinic at "
            "{phone} and we will be glad to help."
        ),
        "care_team": _(
            "Thank you. Our care team will contact you about your next step. You can also call "
            "us at {phone}."
        ),
        "key_reused": _("This booking has already been made. Please start again to book another."),
        "too_many_attempts": _(
            "There have been too many attempts. Please wait a while, or call us at {phone} and we "
            "will book for you."
        ),
        "request_gone": _(
            "This link has expired or is no longer valid, so nothing was booked. Please choose a "
            "time again, or call us at {phone}."
        ),
        "change_closed": _(
            "This appointment starts in less than {hours} hours, so it can no longer be changed "
            "online. Please call us at {phone}."
        ),
        "not_changeable": _("To change this appointment, please call us at {phone}."),
        "own_clash": _("You already have an appointment at that time. Please choose another time."),
        "online_unavailable": _(
            "Online booking is not available right now. Please call us at {phone}."
        ),
        # Pre-infusion check-ins (scheduling.check_ins): written for patients.
        "check_in_not_infusion": _("This visit does not need a check-in."),
        "check_in_not_booked": _("This visit is no longer booked, so it needs no check-in."),
        "check_in_closed": _(
            "This visit has already started, so the check-in is closed. Please talk to the care "
            "team."
        ),
        "check_in_too_early": _(
            "Your check-in opens on {when}, {hours} hours before your visit. Please come back "
            "then; there is nothing you need to do before it opens."
        ),
        "check_in_other_open": _(
            "Please finish the check-in for your visit on {when} first. Then this one opens."
        ),
        # Infusion courses (scheduling.courses.planner and .services): written for staff.
        "course_sessions": _("A course has {min} to {max} infusions."),
        "course_weeks": _("A course spans {min} to {max} weeks."),
        "course_no_weekdays": _("Choose at least one weekday for the course."),
        "course_window": _("The time window must start no later than it ends."),
        "course_clearance_ended": _(
            "The patient's clearance ends on {date}, before the course would start."
        ),
        "course_too_few": _(
            "Only {found} of {wanted} infusions fit the rules between {first} and {last} on the "
            "chosen days and times ({why}). Choose more weekdays, a wider time window, fewer "
            "infusions or a longer span."
        ),
        "course_rules": _("The course breaks the rules: {problems}"),
        "course_session_clearance": _("Session {number} on {when}: {why}"),
        "course_session_past": _("Session {number} on {when} has already passed."),
        "course_conflict": _("{detail}"),
        "course_not_found": _("That course could not be found."),
        "course_not_active": _("This course is {status}, so it cannot be changed."),
        "course_not_completed": _(
            "Maintenance infusions follow a completed course; this course still has sessions to go."
        ),
        "course_end_reason": _("Choose why the course is ending."),
        "course_end_note": _("Say in a few words why the course is ending (reason: other)."),
        "not_course_session": _("This appointment is not part of an infusion course."),
        "not_movable": _("An appointment that is {status} cannot be moved."),
        # The day of a visit (scheduling.visits): written for staff.
        "visit_forbidden": _("Your role cannot do this step of a visit."),
        "visit_not_booked": _("This appointment is {status}, so the patient cannot be checked in."),
        "visit_not_checked_in": _("The patient is not checked in for this appointment."),
        "visit_identity": _("Confirm the patient's identity before checking them in."),
        "visit_escort_needed": _(
            "An infusion visit needs the name and phone number of the adult taking the patient "
            "home."
        ),
        "visit_escort_phone": _("The escort's phone number is not a valid phone number."),
        "visit_answer_needed": _("Please ask the patient: {question}"),
        "visit_implausible": _(
            "Please check the reading: {fields} is outside the range a monitor can show."
        ),
        "visit_unknown_symptom": _("Unknown symptom."),
        "visit_unknown_phase": _("Unknown reading phase."),
        "visit_repeat_too_soon": _(
            "The repeat reading is due {minutes} minutes after the first, at {when}."
        ),
        "visit_gate_decided": _(
            "The pre-infusion readings have already decided the gate; no more can be added."
        ),
        "visit_not_started": _("The infusion has not started."),
        "visit_already_started": _("The infusion has already started."),
        "visit_already_ended": _("The infusion has already ended."),
        "visit_not_ended": _("End the infusion before discharging the patient."),
        "visit_no_sign_off": _("This visit's vital signs do not call for a clinician's sign-off."),
        "visit_already_signed": _("This visit has already been signed off."),
        "visit_note_needed": _("Please write a note saying why the infusion may go ahead."),
        "visit_reason_needed": _("Please give a reason for deferring the visit."),
        "visit_cannot_start": _("The infusion cannot start yet: {reasons}"),
        "visit_discharge_checks": _("Before discharge, confirm: {missing}"),
        "visit_already_discharged": _("The patient has already been discharged."),
        "visit_patient_said_yes": _(
            "The patient answered yes about alcohol or recreational drugs in their pre-visit "
            "check-in. Please ask them again: yes defers today's visit; a no is recorded as the "
            "desk's answer, and a clinician must review the patient's answers before the infusion."
        ),
        # Sending a failed message again (scheduling.reminder_requeue): written for staff.
        "resend_visit_cancelled": _(
            "This message is about a visit that was cancelled, so it is not sent again."
        ),
        "resend_visit_past": _(
            "This message is about a visit whose time has passed, so it is not sent again."
        ),
        "resend_off": _(
            "This message is about a visit that is no longer booked, so it is not sent again."
        ),
        # Day-of items (scheduling.visits.items): written for clinicians.
        "visit_item_reason_needed": _(
            "Please write why the infusion may go ahead despite this item."
        ),
        "visit_item_unknown": _(
            "That item is not one of this visit's items now. Reload the page to see them."
        ),
        "visit_item_already_acknowledged": _("This item has already been acknowledged."),
    }

    # Parameters a message may be raised without.
    defaults: ClassVar[dict[str, dict[str, Any]]] = {"needs_clearance": {"why": ""}}
