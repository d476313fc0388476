"""The appointment lifecycle: one pure table of states and actions, and what each action needs.

For every action: the statuses it starts from and the status it leads to (None: the status stays),
who may take it, on which clinic-local dates, and which preconditions must hold. Treatment visits
(appointment types that need a clinician's clearance: infusion, maintenance) have more
preconditions than consultations. `refusals` decides; it reads no database, no clock and no
settings, so it is tested exhaustively (tests/scheduling/test_lifecycle_table.py). The service
that applies it (locks the row, loads the facts, writes status history and audit) is
scheduling.transitions; every page, form, admin screen, command and task that changes an
appointment's status, or records a step of its visit, goes through it.

    docs/lifecycle.md holds the diagram, generated from this table (`diagram()`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from propel.roles import roles_of
from scheduling.models import AppointmentStatus as S


class Party(enum.StrEnum):
    """Who acts. The staff values are propel.roles.Role's; a patient acts through their link, the
    system through a command or task (demo data, closures)."""

    FRONT_DESK = "Front desk"
    CLINICIAN = "Clinician"
    ADMIN = "Admin"
    PATIENT = "patient"
    SYSTEM = "system"


def parties_of(actor: object, *, as_patient: bool = False) -> frozenset[Party]:
    """Who `actor` acts as: the patient through their link, the system when there is no actor
    (a command, a task, the demo data), else the staff user's roles (propel.roles; read once per
    user object)."""
    if as_patient:
        return frozenset({Party.PATIENT})
    if actor is None:
        return frozenset({Party.SYSTEM})
    return frozenset(Party(role.value) for role in roles_of(actor))


class Action(enum.StrEnum):
    BOOK = "book"
    CHECK_IN = "check_in"
    RECORD_VITALS = "record_vitals"
    SIGN_OFF = "sign_off"
    ACKNOWLEDGE_ITEM = "acknowledge_item"
    START = "start"
    END_INFUSION = "end_infusion"
    COMPLETE = "complete"
    DEFER = "defer"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    MOVE = "move"


class When(enum.StrEnum):
    """On which clinic-local dates an action may be taken (relative to the visit's start)."""

    BEFORE_START = "before the start"
    UP_TO_VISIT_DAY = "until the end of the visit's day"
    VISIT_DAY = "on the visit's day"
    AFTER_START = "after the start time"
    FROM_VISIT_DAY = "from the visit's day"


class Need(enum.StrEnum):
    """Preconditions. Each names what is missing and where staff do it (`WHERE`)."""

    CLEARANCE = "clearance"
    # What the clinic wants on file before the step (intake.requirements): the consents before a
    # consultation's check-in, the referral letter and photo ID before an infusion starts.
    PAPERWORK = "paperwork"
    IDENTITY = "identity"
    ESCORT = "escort"
    DAY_OF_ANSWERS = "day_of_answers"
    NO_A13 = "no_a13"
    NO_OPEN_ITEMS = "no_open_items"
    NO_URGENT_ALERT = "no_urgent_alert"
    VITALS = "vitals"
    INFUSION_ENDED = "infusion_ended"
    DISCHARGE = "discharge"


STAFF = frozenset({Party.FRONT_DESK, Party.CLINICIAN, Party.ADMIN})
DESK = frozenset({Party.FRONT_DESK, Party.ADMIN})
CLINICIAN = frozenset({Party.CLINICIAN})


@dataclasses.dataclass(frozen=True)
class Rule:
    sources: frozenset[str | None]
    target: str | None  # None: the status stays
    parties: frozenset[Party]
    when: When
    needs: tuple[Need, ...] = ()  # every appointment
    treatment_needs: tuple[Need, ...] = ()  # treatment visits only
    consultation_needs: tuple[Need, ...] = ()  # visits that are not treatment visits only
    treatment_only: bool = False
    # Where a treatment visit may come from when narrower than `sources`.
    treatment_sources: frozenset[str | None] | None = None
    # A step that only makes sense when there is something to do ("sign_off_asked": the vital
    # signs ask for a sign-off; "items_open": a day-of answer waits for acknowledgement).
    only_when: str = ""
    # Needs that the action's own form records (check-in: identity, escort, answers): pages do
    # not list them as missing beforehand; the service still checks them.
    form_fills: tuple[Need, ...] = ()
    label: StrOrPromise = ""

    def sources_for(self, treatment: bool) -> frozenset[str | None]:
        return self.treatment_sources if treatment and self.treatment_sources else self.sources


# The day-of gate of an infusion, in the order staff meet it.
START_GATE = (
    Need.CLEARANCE,
    Need.PAPERWORK,
    Need.IDENTITY,
    Need.ESCORT,
    Need.DAY_OF_ANSWERS,
    Need.NO_A13,
    Need.NO_OPEN_ITEMS,
    Need.NO_URGENT_ALERT,
    Need.VITALS,
)

RULES: dict[Action, Rule] = {
    Action.BOOK: Rule(
        sources=frozenset({None}),
        target=S.BOOKED,
        parties=STAFF | {Party.PATIENT, Party.SYSTEM},
        when=When.BEFORE_START,
        treatment_needs=(Need.CLEARANCE,),
        label=_("Book"),
    ),
    Action.CHECK_IN: Rule(
        sources=frozenset({S.BOOKED}),
        target=S.CHECKED_IN,
        parties=DESK,
        when=When.VISIT_DAY,
        needs=(Need.IDENTITY,),
        treatment_needs=(Need.ESCORT, Need.DAY_OF_ANSWERS, Need.NO_A13),
        # A consultation's paperwork is due at check-in; a treatment visit's at the start, not
        # here: the front desk checks the patient in and scans the ID they brought.
        consultation_needs=(Need.PAPERWORK,),
        form_fills=(Need.IDENTITY, Need.ESCORT, Need.DAY_OF_ANSWERS, Need.NO_A13),
        label=_("Check in"),
    ),
    Action.RECORD_VITALS: Rule(
        sources=frozenset({S.CHECKED_IN, S.IN_PROGRESS}),
        target=None,
        parties=CLINICIAN,
        when=When.VISIT_DAY,
        treatment_only=True,
        label=_("Record vital signs"),
    ),
    Action.SIGN_OFF: Rule(
        sources=frozenset({S.CHECKED_IN}),
        target=None,
        parties=CLINICIAN,
        when=When.VISIT_DAY,
        treatment_only=True,
        only_when="sign_off_asked",
        label=_("Sign off the vital signs"),
    ),
    Action.ACKNOWLEDGE_ITEM: Rule(
        sources=frozenset({S.BOOKED, S.CHECKED_IN}),
        target=None,
        parties=CLINICIAN,
        when=When.VISIT_DAY,
        treatment_only=True,
        only_when="items_open",
        label=_("Acknowledge a day-of answer"),
    ),
    Action.START: Rule(
        sources=frozenset({S.CHECKED_IN}),
        target=S.IN_PROGRESS,
        parties=CLINICIAN,
        when=When.VISIT_DAY,
        treatment_needs=START_GATE,
        treatment_only=True,
        label=_("Start the infusion"),
    ),
    Action.END_INFUSION: Rule(
        sources=frozenset({S.IN_PROGRESS}),
        target=None,
        parties=CLINICIAN,
        when=When.VISIT_DAY,
        treatment_only=True,
        label=_("End the infusion"),
    ),
    Action.COMPLETE: Rule(
        # A consultation completes from checked in; a treatment visit only from in progress,
        # by the discharge to the escort after the infusion has ended.
        sources=frozenset({S.CHECKED_IN, S.IN_PROGRESS}),
        target=S.COMPLETED,
        parties=STAFF,
        when=When.FROM_VISIT_DAY,
        treatment_needs=(Need.INFUSION_ENDED, Need.DISCHARGE),
        treatment_sources=frozenset({S.IN_PROGRESS}),
        form_fills=(Need.DISCHARGE,),
        label=_("Complete"),
    ),
    Action.DEFER: Rule(
        sources=frozenset({S.BOOKED, S.CHECKED_IN}),
        target=S.DEFERRED,
        parties=STAFF,
        when=When.VISIT_DAY,
        label=_("Defer today's visit"),
    ),
    Action.NO_SHOW: Rule(
        sources=frozenset({S.BOOKED}),
        target=S.NO_SHOW,
        parties=STAFF,
        when=When.AFTER_START,
        label=_("Mark no-show"),
    ),
    Action.CANCEL: Rule(
        sources=frozenset({S.BOOKED, S.CHECKED_IN}),
        target=S.CANCELLED,
        parties=STAFF | {Party.PATIENT, Party.SYSTEM},
        when=When.UP_TO_VISIT_DAY,
        label=_("Cancel"),
    ),
    Action.MOVE: Rule(
        sources=frozenset({S.BOOKED}),
        target=None,
        parties=STAFF | {Party.PATIENT},
        when=When.BEFORE_START,
        treatment_needs=(Need.CLEARANCE,),
        label=_("Move"),
    ),
}

# The status each status-changing action leads to, and back: a caller naming a target status
# names exactly one action.
ACTION_FOR_STATUS: dict[str, Action] = {
    rule.target: action
    for action, rule in RULES.items()
    if rule.target is not None and action != Action.BOOK
}


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the rules look at, as plain values (scheduling.transitions loads them)."""

    status: str | None  # None: not booked yet
    start: dt.datetime
    treatment: bool = False
    clearance: bool = False  # valid on the visit's clinic-local date
    paperwork: bool = False  # nothing the clinic wants on file for the visit's step is missing
    identity: bool = False
    escort: bool = False
    day_of_answers: bool = False
    a13_yes: bool = False  # alcohol or drugs before the visit, said at the desk
    open_items: int = 0  # day-of answers a clinician has not acknowledged
    urgent_alert: bool = False  # an unacknowledged crisis alert for the patient
    vitals: str = "missing"  # "passed", "missing", "repeat", "sign_off", "defer", "emergency"
    ended: bool = False
    discharged: bool = False


@dataclasses.dataclass(frozen=True)
class Refusal:
    """One reason an action is refused: `code` is a Need, or "role", "state", "type", or a When.
    `where` names the part of the visit screen (or the chart) where staff put it right."""

    code: str
    where: str = ""


# Where each missing precondition is put right: an anchor on the visit screen, or "chart".
WHERE: dict[Need, str] = {
    Need.CLEARANCE: "chart",
    Need.PAPERWORK: "on-file",
    Need.IDENTITY: "check-in",
    Need.ESCORT: "check-in",
    Need.DAY_OF_ANSWERS: "check-in",
    Need.NO_A13: "check-in",
    Need.NO_OPEN_ITEMS: "day-of-items",
    Need.NO_URGENT_ALERT: "chart",
    Need.VITALS: "vitals",
    Need.INFUSION_ENDED: "infusion",
    Need.DISCHARGE: "discharge",
}


def _satisfied(need: Need, facts: Facts) -> bool:
    return {
        Need.CLEARANCE: facts.clearance,
        Need.PAPERWORK: facts.paperwork,
        Need.IDENTITY: facts.identity,
        Need.ESCORT: facts.escort,
        Need.DAY_OF_ANSWERS: facts.day_of_answers,
        Need.NO_A13: not facts.a13_yes,
        Need.NO_OPEN_ITEMS: facts.open_items == 0,
        Need.NO_URGENT_ALERT: not facts.urgent_alert,
        Need.VITALS: facts.vitals == "passed",
        Need.INFUSION_ENDED: facts.ended,
        Need.DISCHARGE: facts.discharged,
    }[need]


def _applies(condition: str, facts: Facts) -> bool:
    return {
        "sign_off_asked": facts.vitals == "sign_off",
        "items_open": facts.open_items > 0,
    }[condition]


def date_allows(when: When, *, start: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> bool:
    today = now.astimezone(tz).date()
    visit_day = start.astimezone(tz).date()
    return {
        When.BEFORE_START: now < start,
        When.UP_TO_VISIT_DAY: today <= visit_day,
        When.VISIT_DAY: today == visit_day,
        When.AFTER_START: now >= start,
        When.FROM_VISIT_DAY: today >= visit_day,
    }[when]


def refusals(
    action: Action,
    facts: Facts,
    parties: Iterable[Party],
    *,
    now: dt.datetime,
    tz: ZoneInfo,
) -> list[Refusal]:
    """Why `parties` may not take `action` now; empty when they may.

    Checked in order, stopping at the first of: role, state, type (an infusion-only step on a
    consultation), nothing to do (a sign-off the vital signs did not ask for), date. Then every
    missing precondition is listed, so staff see all that is left to do at once.
    """
    rule = RULES[action]
    if not frozenset(parties) & rule.parties:
        return [Refusal("role")]
    if facts.status not in rule.sources_for(facts.treatment):
        return [Refusal("state")]
    if rule.treatment_only and not facts.treatment:
        return [Refusal("type")]
    if rule.only_when and not _applies(rule.only_when, facts):
        return [Refusal("nothing_to_do")]
    if not date_allows(rule.when, start=facts.start, now=now, tz=tz):
        return [Refusal(rule.when)]
    needs = rule.needs + (rule.treatment_needs if facts.treatment else rule.consultation_needs)
    return [Refusal(need, WHERE[need]) for need in needs if not _satisfied(need, facts)]


def offered(
    facts: Facts, parties: Iterable[Party], *, now: dt.datetime, tz: ZoneInfo
) -> list[Action]:
    """The actions a page offers these parties now: role, state, type and date allow them (a
    missing precondition is shown beside the action, not hidden). Every page that lists a
    visit's actions (calendar, day sheet, visit screen) lists these."""
    parties = frozenset(parties)
    found: list[Action] = []
    for action in RULES:
        if action == Action.BOOK:
            continue
        first = refusals(action, facts, parties, now=now, tz=tz)
        if not first or first[0].code in Need.__members__.values():
            found.append(action)
    return found


def diagram() -> str:
    """The lifecycle as a Mermaid state diagram, generated from RULES (docs/lifecycle.md)."""
    lines = ["stateDiagram-v2", "    [*] --> booked: book"]
    for action, rule in RULES.items():
        if action == Action.BOOK:
            continue
        for source in sorted(s for s in rule.sources if s is not None):
            target = rule.target or source
            narrower = rule.treatment_sources and source not in rule.treatment_sources
            note = " (consultations)" if narrower else ""
            lines.append(f"    {source} --> {target}: {action.value}{note}")
    for status in (S.COMPLETED, S.CANCELLED, S.NO_SHOW, S.DEFERRED):
        lines.append(f"    {status.value} --> [*]")
    return "\n".join(lines)


def table_markdown() -> str:
    """The table itself as Markdown: action, from, to, who, when, preconditions."""
    rows = [
        "| action | from | to | who | when | needs (all) | needs (treatment visits) "
        "| needs (other visits) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for action, rule in RULES.items():
        sources = ", ".join(sorted("(new)" if s is None else s for s in rule.sources))
        target = rule.target or "(same)"
        who = ", ".join(sorted(p.value for p in rule.parties))
        needs = ", ".join(n.value for n in rule.needs) or "-"
        treatment = ", ".join(n.value for n in rule.treatment_needs) or "-"
        if rule.treatment_only:
            treatment = f"infusion visits only; {treatment}"
        if rule.only_when:
            treatment = f"{treatment} (only when {rule.only_when.replace('_', ' ')})"
        if rule.treatment_sources:
            narrower = ", ".join(sorted(str(s) for s in rule.treatment_sources))
            treatment = f"from {narrower} only; {treatment}"
        others = ", ".join(n.value for n in rule.consultation_needs) or "-"
        rows.append(
            f"| {action.value} | {sources} | {target} | {who} | {rule.when.value} | {needs} "
            f"| {treatment} | {others} |"
        )
    return "\n".join(rows)


def document() -> str:
    """docs/lifecycle.md, whole: the diagram and the table, both generated from RULES
    (`manage.py lifecycle_doc` writes it; a test fails when the file is out of date)."""
    return "\n".join(
        [
            "# The visit lifecycle",
            "",
            "Generated from `scheduling/lifecycle.py` by `manage.py lifecycle_doc`; do not edit by "
            "hand (a test compares).",
            "",
            "Every change of an appointment's status, and every step of its visit, goes through "
            "one service (`scheduling/transitions.py`), which applies this table: who may "
            "take the action, on which clinic-local dates, and what must be done first. A refusal "
            "names every missing step and links to where it is done (HTTP 409); nothing changes.",
            "Treatment visits are the appointment types that need a clinician's clearance "
            "(infusion, maintenance). `paperwork` is what the clinic wants on file "
            "(`intake/requirements.py`): for a consultation, checked at check-in; for a treatment "
            "visit, at the start (the first infusion's requirements, at every start); other "
            "visits need none.",
            "",
            "```mermaid",
            diagram(),
            "```",
            "",
            table_markdown(),
            "",
            "Preconditions: " + "; ".join(f"`{need.value}`" for need in Need) + ".",
            "",
        ]
    )
