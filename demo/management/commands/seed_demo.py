from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.seed import DEMO_BACKUP_CODES, DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create or top up the obviously fake demo clinic, and print the demo logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="URL to print")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        if settings.PRODUCTION:
            self.stderr.write("seed_demo refuses to run with PROPEL_MODE=production.")
            raise SystemExit(1)
        logins, booked = seed_demo(now=timezone.now())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({booked} new appointments)."))
        self.stdout.write(f"\n  Propel is at {url}  (staff sign-in: {url}accounts/login/)\n")
        self.stdout.write(f"  Every demo login has the password: {DEMO_PASSWORD}")
        self.stdout.write(
            "  Second factor: a code from an authenticator app set up with the secret below,\n"
            f"  or a one-time backup code: {', '.join(DEMO_BACKUP_CODES)} (reset on every run)\n"
        )
        for login in logins:
            self.stdout.write(
                f"    {login.username:<11} {login.role:<11} TOTP secret {login.totp_secret}"
            )
        self.stdout.write("")
