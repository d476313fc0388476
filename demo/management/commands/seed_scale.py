from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.scale_data import ScaleSeedError, scale_seed


class Command(BaseCommand):
    help = (
        "Fill the database with a busy, obviously fake clinic for benchmarks (after seed_demo; "
        "once per database; never in production)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--appointments", type=int, default=10_000, help="exactly this many")
        parser.add_argument("--patients", type=int, default=2_000, help="scale patients to add")
        parser.add_argument("--rooms", type=int, default=12, help="rooms in all, demo's included")
        parser.add_argument(
            "--clinicians", type=int, default=8, help="clinicians in all, demo's included"
        )
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data")

    def handle(self, *args: Any, **options: Any) -> None:
        began = time.perf_counter()
        try:
            summary = scale_seed(
                appointments=options["appointments"],
                patients=options["patients"],
                rooms=options["rooms"],
                clinicians=options["clinicians"],
                seed=options["seed"],
                now=timezone.now(),
            )
        except ScaleSeedError as error:
            raise CommandError(str(error)) from error
        seconds = time.perf_counter() - began
        self.stdout.write(self.style.SUCCESS(f"Scale data in {seconds:.1f} s: {summary.line()}"))
