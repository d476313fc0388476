"""Clinic settings for admins: rooms, clinicians, hours, closures, types.

Appointments are shown read-only here: every booking and status change goes through
scheduling.booking, which keeps the no-overlap guarantee, the history and the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from scheduling.models import (
    Appointment,
    AppointmentStatusChange,
    AppointmentType,
    Clinician,
    Closure,
    ExtraOpening,
    OpeningHours,
    Room,
    WorkingHours,
)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "active")
    inlines = [WorkingHoursInline]


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "code",
        "duration_minutes",
        "room_kind",
        "self_bookable",
        "needs_clearance",
        "active",
    )


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ("weekday", "opens", "closes")


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ("start_date", "end_date", "reason")
    date_hierarchy = "start_date"


@admin.register(ExtraOpening)
class ExtraOpeningAdmin(admin.ModelAdmin):
    list_display = ("date", "opens", "closes", "note")


class StatusHistoryInline(admin.TabularInline):
    model = AppointmentStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "at", "by", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("start", "patient", "appointment_type", "room", "clinician", "status")
    list_filter = ("status", "appointment_type", "room")
    list_select_related = ("patient", "appointment_type", "room", "clinician")
    date_hierarchy = "start"
    inlines = [StatusHistoryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
