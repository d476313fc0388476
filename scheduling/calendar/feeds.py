"""Clinicians' calendar feeds: one signed, revocable .ics address per clinician that a calendar app
polls without signing in, plus the staff pages that hand the address out and revoke it.

A token names one clinician and the clinician's current `feed_version`, signed with the site's
secret (salt "propel.clinician-feed.v1"), after intake.links. It has no expiry — a calendar app
keeps polling the same address for months — so revoking is the way to end it: bumping
`feed_version` makes every address handed out so far answer 404. A token that fails any check
gets the same 404: no hint which check failed.

The feed leaves the building on phones and shared calendars, so it carries the minimum: the
appointment type's name (infusions as a neutral "Treatment visit"), the patient's initials, the
room. No name, email, phone, clearance, flag or note.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from icalendar import Event

from propel.audit import audit_record
from propel.roles import Capability, can, staff_required
from propel.secret_addresses import NO_REFERRER, secret_address
from propel.versioned_tokens import versioned_token, versioned_token_read
from scheduling.ics import CONTENT_TYPE, appointment_event, calendar_ics
from scheduling.ics_download import appointment_ics_download
from scheduling.models import (
    Appointment,
    Clinician,
    RoomKind,
)
from scheduling.models.spans import id_equals
from scheduling.slots import clinic_tz

SALT = "propel.clinician-feed.v1"
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=90)


# --- Tokens -----------------------------------------------------------------------------------


def clinician_feed_token(clinician: Clinician) -> str:
    return versioned_token(key="c", pk=clinician.pk, version=clinician.feed_version, salt=SALT)


def clinician_from_feed_token(token: str) -> Clinician | None:
    """The active clinician a valid, unrevoked token names, or None."""
    read = versioned_token_read(token, key="c", salt=SALT)
    if read is None:
        return None
    clinician_id, version = read
    return Clinician.objects.filter(pk=clinician_id, feed_version=version, active=True).first()


def clinician_feed_url(clinician: Clinician) -> str:
    path = reverse("scheduling:clinician_feed", kwargs={"token": clinician_feed_token(clinician)})
    return f"{settings.SITE_URL}{path}"


def clinician_feed_revoke(
    *, clinician_id: int, actor: Any = None, request: HttpRequest | None = None
) -> Clinician:
    """Make every feed address handed out so far for this clinician stop working (404), and
    return the clinician with the new version, whose `clinician_feed_url` is the new address.

    A conditional F() update, so two revokes at once both bump the version; audited in the same
    transaction. Raises Clinician.DoesNotExist for an unknown id.
    """
    with transaction.atomic():
        if not Clinician.objects.filter(pk=clinician_id).update(feed_version=F("feed_version") + 1):
            raise Clinician.DoesNotExist
        clinician = Clinician.objects.get(pk=clinician_id)
        audit_record(
            action="clinician_feed.revoked",
            actor=actor,
            request=request,
            obj=clinician,
            detail={"feed_version": clinician.feed_version},
        )
    return clinician


# --- The feed ---------------------------------------------------------------------------------


def patient_initials(first_name: str, last_name: str) -> str:
    letters = [part.strip()[:1].upper() for part in (first_name, last_name) if part.strip()]
    return "".join(f"{letter}." for letter in letters) or "?"


def _is_treatment(appointment: Appointment) -> bool:
    kind = appointment.appointment_type
    return kind.room_kind == RoomKind.INFUSION or kind.needs_clearance


def _feed_event(appointment: Appointment, *, now: dt.datetime) -> Event:
    kind = _("Treatment visit") if _is_treatment(appointment) else appointment.appointment_type.name
    initials = patient_initials(appointment.patient.first_name, appointment.patient.last_name)
    event = appointment_event(appointment, now=now)
    event.add("summary", f"{kind} · {initials}")
    event.add("location", appointment.room.name)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def clinician_feed_ics(clinician: Clinician, *, now: dt.datetime) -> bytes:
    """The clinician's active appointments from 30 days before `now` to 90 days after."""
    first, last = now - FEED_PAST, now + FEED_AHEAD
    appointments = list(
        Appointment.objects.active()
        .overlapping(first, last)
        .filter(id_equals("clinician_id", clinician.pk))
        .select_related("appointment_type", "room", "patient")
        .only(
            "start",
            "end",
            "sequence",
            "status",
            "appointment_type__name",
            "appointment_type__room_kind",
            "appointment_type__needs_clearance",
            "room__name",
            "patient__first_name",
            "patient__last_name",
        )
        .order_by("start", "id")
    )
    tz = clinic_tz()
    return calendar_ics(
        [_feed_event(appointment, now=now) for appointment in appointments],
        first=first.astimezone(tz).date(),
        last=last.astimezone(tz).date(),
        name=f"{settings.CLINIC_NAME} · {clinician.display_name}",
    )


# The feed's address is its secret: no-store, no Referer at all, no path in the 4xx log.
feed_address = secret_address(what="clinician feed", referrer_policy=NO_REFERRER)


@require_GET
@feed_address
def clinician_feed(request: HttpRequest, token: str) -> HttpResponse:
    clinician = clinician_from_feed_token(token)
    if clinician is None:
        return HttpResponse(_("Not found."), status=404, content_type="text/plain")
    response = HttpResponse(
        clinician_feed_ics(clinician, now=timezone.now()), content_type=CONTENT_TYPE
    )
    response["Content-Disposition"] = 'inline; filename="propel-calendar.ics"'
    return response


# --- Staff pages ------------------------------------------------------------------------------


@require_GET
@staff_required(Capability.CALENDAR)
@feed_address
def feed_settings(request: HttpRequest) -> HttpResponse:
    """A clinician's own feed address; for admins, every clinician's revoke button too."""
    assert request.user.is_authenticated  # staff_required
    own = Clinician.objects.filter(user=request.user).first()
    is_admin = can(request.user, Capability.CLINIC_ADMIN)
    others = list(Clinician.objects.filter(active=True)) if is_admin else []
    return render(
        request,
        "scheduling/courses/feeds.html",
        {
            "own": own,
            "own_url": clinician_feed_url(own) if own is not None and own.active else "",
            "others": others,
        },
    )


@require_POST
@staff_required(Capability.CALENDAR)
def feed_revoke(request: HttpRequest, clinician_id: int) -> HttpResponse:
    clinician = get_object_or_404(Clinician, pk=clinician_id)
    own = clinician.user_id is not None and clinician.user_id == request.user.pk
    if not own and not can(request.user, Capability.CLINIC_ADMIN):
        raise PermissionDenied
    clinician_feed_revoke(clinician_id=clinician.pk, actor=request.user, request=request)
    messages.success(
        request,
        _("The old calendar address for %(name)s no longer works.")
        % {"name": clinician.display_name}
        + (" " + _("Subscribe to the new address below.") if own else ""),
    )
    return redirect("scheduling:feed_settings")


@require_GET
@staff_required(Capability.CALENDAR)
def appointment_ics(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """One appointment as a calendar file, the same file the patient gets
    (scheduling.ics_download)."""
    appointment = get_object_or_404(Appointment.objects.with_type(), pk=appointment_id)
    response = appointment_ics_download(appointment)
    add_never_cache_headers(response)
    return response
