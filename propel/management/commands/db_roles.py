"""`manage.py db_roles`: create or update the owner and app roles and hand the database to the
owner (propel.db_roles). Run by a PostgreSQL superuser, against the site's database, once before the
first migrate and again whenever you like: every statement is idempotent.

    DATABASE_URL=postgres://postgres@db/propel DATABASE_OWNER_PASSWORD=... \\
        DATABASE_APP_PASSWORD=... python manage.py db_roles

`--sql` prints the statements instead of running them (passwords shown as given).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from propel import db_roles


class Command(BaseCommand):
    help = "Create or update the PostgreSQL owner and app roles and their grants (superuser)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sql", action="store_true", help="print the SQL, run nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("db_roles: the database is not PostgreSQL; nothing to do.")
            return
        owner = db_roles.checked_role(settings.DATABASE_OWNER_ROLE, "DATABASE_OWNER_ROLE")
        app = db_roles.checked_role(settings.DATABASE_APP_ROLE, "DATABASE_APP_ROLE")
        with connection.cursor() as cursor:
            statements = self._statements(cursor, owner, app)
            if options["sql"]:
                self.stdout.write("\n".join(statements))
                return
            self._require_superuser(cursor)
            with transaction.atomic():
                for statement in statements:
                    cursor.execute(statement)
        self.stdout.write(
            f"db_roles: {owner} owns database {connection.settings_dict['NAME']}; "
            f"{app} has its grants ({len(statements)} statements)."
        )

    def _statements(self, cursor: Any, owner: str, app: str) -> list[str]:
        return [
            *db_roles.roles_sql(
                owner=owner,
                owner_password=settings.DATABASE_OWNER_PASSWORD,
                app=app,
                app_password=settings.DATABASE_APP_PASSWORD,
            ),
            *db_roles.ownership_sql(
                database=connection.settings_dict["NAME"], owner=owner, app=app
            ),
            *db_roles.grants_sql(app=app, append_only_tables=db_roles.append_only_tables(cursor)),
        ]

    def _require_superuser(self, cursor: Any) -> None:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not (row and row[0]):
            raise CommandError(
                "db_roles must run as a PostgreSQL superuser: set DATABASE_URL to the "
                "superuser's connection for this command (docs/deployment.md)."
            )
