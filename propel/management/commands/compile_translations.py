"""`manage.py compile_translations`: every locale's .po (LOCALE_PATHS) compiled to its .mo, with
GNU msgfmt when installed and with polib otherwise (propel.i18n). Fails, naming the file, on a
catalogue that does not parse or whose translations change a placeholder. `make run`, `make test`
(and so CI) and scripts/start-production run it: .mo files are build output, never committed.

    python manage.py compile_translations            # msgfmt if present, else polib
    python manage.py compile_translations --polib    # without gettext, as on a fresh machine
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from propel.i18n import CatalogueError, compile_catalogues


class Command(BaseCommand):
    help = "Compile every locale's .po file to .mo (msgfmt when installed, else polib)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        tools = parser.add_mutually_exclusive_group()
        tools.add_argument("--polib", action="store_true", help="use polib even if msgfmt exists")
        tools.add_argument("--msgfmt", action="store_true", help="require GNU msgfmt")

    def handle(self, *args: Any, **options: Any) -> None:
        use_msgfmt = True if options["msgfmt"] else False if options["polib"] else None
        try:
            done = compile_catalogues(use_msgfmt=use_msgfmt)
        except CatalogueError as error:
            raise CommandError(str(error)) from error
        for item in done:
            if options["verbosity"] >= 1:
                self.stdout.write(f"compiled {item.po} with {item.tool}")
