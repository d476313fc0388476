"""Clinic policy changes as the audit log records them, for the pages clinicians work from.

The apps that own a policy (scheduling.policy) write one "policy.changed" event per change with
detail {"what", "before", "after", "reason", "labels"}; this module reads the latest back in one
query. It lives in propel because intake's pages show it and intake may not import scheduling.
The detail holds thresholds, flags and an admin's reason, never a patient's health information,
so any staff member may read it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from propel.models import AuditEvent

POLICY_CHANGED = "policy.changed"
PANEL_SIZE = 10


@dataclasses.dataclass(frozen=True)
class PolicyChange:
    at: dt.datetime
    who: str
    what: str
    # (label, before, after) per changed value, as text.
    changes: tuple[tuple[str, str, str], ...]
    reason: str


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def _as_change(event: AuditEvent) -> PolicyChange:
    detail = event.detail or {}
    before, after = detail.get("before") or {}, detail.get("after") or {}
    labels = detail.get("labels") or {}
    changes = tuple(
        (
            str(labels.get(name, name.replace("_", " "))),
            _text(before.get(name)),
            _text(after.get(name)),
        )
        for name in sorted(set(before) | set(after))
    )
    actor = event.actor
    who = (actor.get_full_name() or actor.get_username()) if actor else event.actor_label
    return PolicyChange(
        at=event.at,
        who=who,
        what=str(detail.get("what", "")),
        changes=changes,
        reason=str(detail.get("reason", "")),
    )


def recent_policy_changes(limit: int = PANEL_SIZE) -> list[PolicyChange]:
    """The latest `limit` policy changes, newest first: one query, however many there are."""
    events = AuditEvent.objects.filter(action=POLICY_CHANGED).select_related("actor")[:limit]
    return [_as_change(event) for event in events]
