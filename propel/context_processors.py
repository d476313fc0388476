from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from propel import formatting
from propel.i18n import staff_path
from propel.roles import Capability, can, second_factor_verified


def clinic(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    verified = user is not None and second_factor_verified(user)
    return {
        "clinic": {
            "name": settings.CLINIC_NAME,
            "address": settings.CLINIC_ADDRESS,
            "phone": formatting.phone(settings.CLINIC_PHONE),
        },
        "staff_nav": {
            "calendar": verified and can(user, Capability.CALENDAR),
            "review": verified and can(user, Capability.HEALTH_RECORD),
            "admin": verified and can(user, Capability.CLINIC_ADMIN),
        },
    }


def languages(request: HttpRequest) -> dict[str, Any]:
    """The language switch (templates/components/_language_switch.html): on every page but the
    staff ones (always English, propel.i18n), each language named in itself ("Español")."""
    current = translation.get_language() or settings.LANGUAGE_CODE
    return {
        "language_switch": {
            "show": not staff_path(request.path_info),
            "current": translation.get_supported_language_variant(current),
            "choices": [(code, str(name)) for code, name in settings.LANGUAGES],
        }
    }
