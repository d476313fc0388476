"""The Django admin as the clinic's settings room: Admin role only, second factor verified.

The admin's own login page is never used; staff sign in through propel:login, which enforces the
password lockout and the second factor. The audit log is shown read-only.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from propel.account_lock import account_unlock
from propel.audit import audit_patients_viewed, audit_record
from propel.auth_views import logout_view
from propel.models import AccountLock, AuditEvent, AuditEventQuerySet
from propel.roles import Capability, can, second_factor_verified


def is_clinic_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active and can(user, Capability.CLINIC_ADMIN) and second_factor_verified(user)
    )


class PropelAdminSite(admin.AdminSite):
    site_header = _("Propel clinic settings")
    site_title = _("Propel clinic settings")
    index_title = _("Clinic settings")

    def has_permission(self, request: HttpRequest) -> bool:
        # Roles, not Django's is_staff flag, decide who may use the admin (propel.roles).
        return is_clinic_admin(request)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        user = request.user
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        if self.has_permission(request):
            return redirect(reverse("admin:index"))
        if user.is_authenticated and second_factor_verified(user):
            # Signed in properly but not an admin: sending them to sign in again would loop.
            raise PermissionDenied
        target = "propel:second_factor" if user.is_authenticated else "propel:login"
        # propel:login re-checks that `next` is safe before using it.
        return redirect(f"{reverse(target)}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")

    # django-stubs says AdminSite.logout returns a TemplateResponse; Django's own can redirect too.
    def logout(  # type: ignore[override]
        self, request: HttpRequest, extra_context: Any = None
    ) -> HttpResponse:
        # One sign-out path, so it is audited and ends the session the same way everywhere.
        return logout_view(request)


# admin.site is created by django.contrib.admin before this module is imported; changing its class
# keeps every app's `admin.site.register` and `admin.site.urls` pointing at the one site while
# giving it our access rule. (The alternative, AdminConfig.default_site, needs INSTALLED_APPS to
# name a custom AdminConfig instead of "django.contrib.admin".)
admin.site.__class__ = PropelAdminSite


class ReadOnlyAdminMixin:
    """For a ModelAdmin of rows the application writes through its services (uploads, signatures,
    referrals): shown, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PatientReadAuditMixin:
    """For a ModelAdmin whose pages show patients: its list page and its change page each write
    one "patient.viewed" row with the patients shown (propel.audit.audit_patients_viewed), as the
    staff pages do. `patient_id_of` says whose a row is (its `patient_id`, a patient's own pk)."""

    def patient_id_of(self, obj: Any) -> int | None:
        return cast(int | None, getattr(obj, "patient_id", None))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            self._audit(request, "changelist", changelist.result_list)
        return cast(HttpResponse, response)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(  # type: ignore[misc]
            request, object_id, form_url, extra_context
        )
        # Rendered pages only: a saved change answers with a redirect and no context.
        original = (getattr(response, "context_data", None) or {}).get("original")
        if original is not None:
            self._audit(request, "change", [original])
        return cast(HttpResponse, response)

    def _audit(self, request: HttpRequest, view: str, objects: Any) -> None:
        opts = self.model._meta  # type: ignore[attr-defined]
        ids = [pk for obj in objects if (pk := self.patient_id_of(obj)) is not None]
        page = f"admin:{opts.app_label}_{opts.model_name}_{view}"
        audit_patients_viewed(request, page=page, patient_ids=ids)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the log is append-only in the database too (migration 0002)."""

    list_display = ("at", "actor_label", "action", "patient_id", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("=patient_id",)
    search_help_text = _("Search by patient number.")
    date_hierarchy = "at"
    actions = None
    fields = (
        "at",
        "actor",
        "actor_label",
        "action",
        "patient_id",
        "object_type",
        "object_id",
        "ip_address",
        "detail",
    )
    readonly_fields = fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_clinic_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return is_clinic_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        patient_id = _patient_number(search_term)
        if patient_id is None:
            return (queryset.none() if search_term.strip() else queryset), False
        # The changelist's queryset comes from AuditEvent.objects.
        return cast(AuditEventQuerySet, queryset).for_patient(patient_id), False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        patient_id = _patient_number(request.GET.get(SEARCH_VAR, ""))
        if patient_id is not None and self.has_view_permission(request):
            # Looking up one patient's history is itself a read worth recording, as in
            # propel.views.audit_log.
            audit_record(
                action="audit.viewed",
                request=request,
                patient_id=patient_id,
                detail={"via": "admin"},
            )
        return super().changelist_view(request, extra_context)


def _patient_number(term: str) -> int | None:
    term = term.strip()
    return int(term) if term.isdigit() else None


@admin.register(AccountLock)
class AccountLockAdmin(admin.ModelAdmin[AccountLock]):
    """Accounts locked after too many failed passwords (propel.account_lock): read-only, with
    one action, unlock."""

    list_display = ("username", "locked_at", "failures", "notified_at", "unlocked_at")
    list_filter = (("unlocked_at", admin.EmptyFieldListFilter),)
    search_fields = ("=username",)
    actions = ["unlock"]
    fields = ("username", "locked_at", "failures", "notified_at", "unlocked_at", "unlocked_by")
    readonly_fields = fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_clinic_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: AccountLock | None = None) -> bool:
        return is_clinic_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AccountLock | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AccountLock | None = None) -> bool:
        return False

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return is_clinic_admin(request)

    @admin.action(description=_("Unlock sign-in for the selected accounts"), permissions=["unlock"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccountLock]) -> None:
        unlocked = sum(account_unlock(lock=lock, request=request) for lock in queryset)
        self.message_user(
            request,
            ngettext("%(count)d account unlocked.", "%(count)d accounts unlocked.", unlocked)
            % {"count": unlocked},
            messages.SUCCESS,
        )
