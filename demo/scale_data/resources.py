"""Resources: rooms and clinicians (with staff logins) topped up to the requested totals."""

from __future__ import annotations

from collections import Counter
from itertools import islice

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from demo.scale_data.parameters import INFUSION_ROOM_SHARE
from demo.seed import DEMO_BACKUP_CODES, DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, demo_totp_key
from propel.roles import Role
from scheduling.models import Clinician, OpeningHours, Room, RoomKind, WorkingHours


def _top_up_rooms(total: int) -> int:
    existing = Counter(Room.objects.filter(active=True).values_list("kind", flat=True))
    infusion = min(total - 1, max(1, round(total * INFUSION_ROOM_SHARE)))
    wanted = {RoomKind.INFUSION: infusion, RoomKind.CONSULT: total - infusion}
    missing = {kind: max(0, n - existing[kind]) for kind, n in wanted.items()}
    budget = max(0, total - sum(existing.values()))
    while sum(missing.values()) > budget:
        kind = max(missing, key=lambda k: (missing[k], k))
        missing[kind] -= 1
    names = {RoomKind.CONSULT: "Scale Consult Room", RoomKind.INFUSION: "Scale Infusion Suite"}
    Room.objects.bulk_create(
        Room(name=f"{names[kind]} {n:02d}", kind=kind)
        for kind, count in sorted(missing.items())
        for n in range(1, count + 1)
    )
    return sum(missing.values())


def _top_up_clinicians(total: int) -> int:
    """Clinicians with staff logins as demo.seed makes them (demo password, TOTP secret from
    demo_totp_key, the demo backup codes), working the clinic's opening hours."""
    count = max(0, total - Clinician.objects.filter(active=True).count())
    if not count:
        return 0
    password = make_password(DEMO_PASSWORD)  # hashed once: argon2 is slow on purpose
    group, _ = Group.objects.get_or_create(name=Role.CLINICIAN.value)
    opening = list(
        OpeningHours.objects.order_by("weekday", "opens").values_list("weekday", "opens", "closes")
    )
    taken = set(User.objects.values_list("username", flat=True))
    numbers = (n for n in range(1, 1000) if f"scaleclinician{n:02d}" not in taken)
    for n in islice(numbers, count):
        username = f"scaleclinician{n:02d}"
        user = User.objects.create(
            username=username,
            email=f"{username}@staff.{DEMO_EMAIL_DOMAIN}",
            first_name="Demo",
            last_name=Role.CLINICIAN.value,
            password=password,
        )
        user.groups.add(group)
        TOTPDevice.objects.create(
            user=user, name="Authenticator app", key=demo_totp_key(username), confirmed=True
        )
        backup = StaticDevice.objects.create(user=user, name="backup")
        StaticToken.objects.bulk_create(
            StaticToken(device=backup, token=code) for code in DEMO_BACKUP_CODES
        )
        clinician = Clinician.objects.create(user=user, display_name=f"Dr. Scale {n:02d} (demo)")
        WorkingHours.objects.bulk_create(
            WorkingHours(clinician=clinician, weekday=weekday, starts=opens, ends=closes)
            for weekday, opens, closes in opening
        )
    return count
