"""Who may do what. Every staff view asks this module; nothing else decides access.

Roles are Django groups. The table mirrors the design card:

| capability         | front desk | clinician | admin |
|--------------------|------------|-----------|-------|
| calendar, booking, patient contact details | yes | yes | yes |
| health status badge (pending/cleared)      | yes | yes | yes |
| questionnaire answers, scores, flags       | -   | yes | yes |
| clearance decisions                        | -   | yes | -   |
| rooms, hours, types, users, audit log      | -   | -   | yes |
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


class Role(enum.StrEnum):
    FRONT_DESK = "Front desk"
    CLINICIAN = "Clinician"
    ADMIN = "Admin"


class Capability(enum.StrEnum):
    CALENDAR = "calendar"
    HEALTH_STATUS = "health_status"
    HEALTH_RECORD = "health_record"
    CLEARANCE_DECIDE = "clearance_decide"
    CLINIC_ADMIN = "clinic_admin"


GRANTS: dict[Capability, frozenset[Role]] = {
    Capability.CALENDAR: frozenset({Role.FRONT_DESK, Role.CLINICIAN, Role.ADMIN}),
    Capability.HEALTH_STATUS: frozenset({Role.FRONT_DESK, Role.CLINICIAN, Role.ADMIN}),
    Capability.HEALTH_RECORD: frozenset({Role.CLINICIAN, Role.ADMIN}),
    Capability.CLEARANCE_DECIDE: frozenset({Role.CLINICIAN}),
    Capability.CLINIC_ADMIN: frozenset({Role.ADMIN}),
}

_ROLE_CACHE_ATTR = "_propel_roles"


def roles_of(user: Any) -> frozenset[Role]:
    """The user's roles, read once per request object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _ROLE_CACHE_ATTR, None)
    if cached is None:
        known = {role.value for role in Role}
        names = user.groups.filter(name__in=known).values_list("name", flat=True)
        cached = frozenset(Role(name) for name in names)
        setattr(user, _ROLE_CACHE_ATTR, cached)
    return cached


def is_staff_member(user: Any) -> bool:
    return bool(roles_of(user))


def can(user: Any, capability: Capability) -> bool:
    return bool(roles_of(user) & GRANTS[capability])


def second_factor_verified(user: Any) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def staff_required(
    capability: Capability,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Guard a staff view: signed in, second factor verified, and holding `capability`.

    Anonymous visitors go to the login page; a signed-in user without the second factor goes to it;
    a verified user without the capability gets 403.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not second_factor_verified(user):
                return redirect("propel:second_factor")
            if not can(user, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_capability = capability  # type: ignore[attr-defined]
        return wrapped

    return decorator


# Apps whose models the Admin role manages in the Django admin (clinic settings, users, devices).
ADMIN_MANAGED_APPS = frozenset({"scheduling", "intake", "auth", "otp_totp", "otp_static"})


class RolePermissionBackend:
    """Grants Django's model permissions from roles, so the admin shows an Admin-role user the
    clinic's settings without per-user permission rows. It authenticates nobody.

    Read-only models (appointments, the audit log) refuse changes in their ModelAdmin whatever
    this grants.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: int) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return (
            can(user_obj, Capability.CLINIC_ADMIN) and perm.partition(".")[0] in ADMIN_MANAGED_APPS
        )

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return can(user_obj, Capability.CLINIC_ADMIN) and app_label in ADMIN_MANAGED_APPS
