"""The crisis banner on every clinician and admin page (intake.crisis): open crisis alerts, until
someone acknowledges them. Front desk never sees it (no health information for front desk).

Lazy and cheap: nothing is read unless a page renders the banner, and then one query (the open
alerts, at most intake.crisis.BANNER_ROWS of them).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from intake.crisis import BannerAlert, open_alerts_for_banner
from propel.roles import Capability, can, second_factor_verified


class CrisisBanner:
    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def alerts(self) -> list[BannerAlert]:
        if not (second_factor_verified(self.user) and can(self.user, Capability.HEALTH_RECORD)):
            return []
        return open_alerts_for_banner()

    @cached_property
    def immediate(self) -> bool:
        return any(alert["priority"] == "immediate" for alert in self.alerts)

    @cached_property
    def first(self) -> BannerAlert | None:
        return self.alerts[0] if self.alerts else None


def crisis_banner(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"crisis_banner": CrisisBanner(user)}
