from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from propel import formatting
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
