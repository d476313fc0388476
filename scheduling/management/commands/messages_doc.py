from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from scheduling.reminders.catalogue import document


class Command(BaseCommand):
    help = "Write docs/messages.md (the message catalogue and each reminder plan) from the code."

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.BASE_DIR) / "docs" / "messages.md"
        path.write_text(document(), encoding="utf-8")
        self.stdout.write(f"Wrote {path}")
