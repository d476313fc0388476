from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.banner import banner
from demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Create or top up the obviously fake demo clinic, and print the demo logins, a patient's "
        "links and where messages are written."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--url", default=None, help="the address to print (default: settings.SITE_URL)"
        )

    def handle(self, *args: Any, url: str | None, **options: Any) -> None:
        if settings.PRODUCTION:
            self.stderr.write("seed_demo refuses to run with PROPEL_MODE=production.")
            raise SystemExit(1)
        site = (url or settings.SITE_URL).rstrip("/")
        now = timezone.now()
        # The services log each step they take (reminders planned, cancelled...): a first run
        # shows only what went wrong, then the banner.
        logging.disable(logging.INFO)
        try:
            logins, booked = seed_demo(now=now)
        finally:
            logging.disable(logging.NOTSET)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({booked} new appointments).\n"))
        self.stdout.write("\n".join(banner(site=site, logins=logins, now=now)))
