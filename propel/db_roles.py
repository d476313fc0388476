"""Least privilege in PostgreSQL: the owner role that runs migrations and the app role the site
connects as (issue 16, finding 5; docs/deployment.md shows this SQL).

- `propel_owner` owns the schema and every table; migrations run as it.
- `propel_app` may SELECT, INSERT, UPDATE and DELETE rows and use the sequences; on append-only
  tables (those with propel.append_only's triggers) only SELECT and INSERT; TRUNCATE nowhere; it is
  no superuser and cannot create databases, roles or tables.

`manage.py db_roles` (run once, and again at will, by a superuser) creates the roles and hands the
database to the owner; after every `migrate` the grants are applied again (propel.apps), so a new
table is never left without them. Every statement is built here, as text, so the command can print
exactly what it runs (`manage.py db_roles --sql`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
APPEND_ONLY_REVOKED = "UPDATE, DELETE"

# Tables guarded by the append-only function (propel migrations 0002 and 0003).
APPEND_ONLY_TABLES_SQL = """
SELECT DISTINCT c.relname FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = 'public' AND p.proname = 'propel_audit_append_only'
ORDER BY c.relname
"""


def checked_role(name: str, setting: str) -> str:
    """A role name safe to write into SQL unquoted (lower case, letters, digits, underscore)."""
    if not ROLE_NAME.fullmatch(name):
        raise ImproperlyConfigured(
            f"{setting} must be a PostgreSQL role name in lower case letters, digits and _, "
            f"not {name!r}"
        )
    return name


def quote_literal(value: str) -> str:
    """A SQL string literal (for a password inside a DO block, where no parameter can go)."""
    return "'" + value.replace("'", "''") + "'"


def _role_sql(role: str, password: str, attributes: str) -> list[str]:
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f"THEN CREATE ROLE {role}; END IF; END $$;",
        f"ALTER ROLE {role} WITH {attributes};",
    ]
    if password:
        statements.append(f"ALTER ROLE {role} WITH PASSWORD {quote_literal(password)};")
    return statements


def roles_sql(*, owner: str, owner_password: str, app: str, app_password: str) -> list[str]:
    """Create both roles when missing and (re)set their attributes and passwords."""
    restricted = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    return [
        *_role_sql(owner, owner_password, f"{restricted} INHERIT"),
        *_role_sql(app, app_password, f"{restricted} NOINHERIT"),
    ]


def ownership_sql(*, database: str, owner: str, app: str) -> list[str]:
    """Give the database, the public schema and everything in it to the owner; only the owner and
    the app may connect."""
    return [
        f'ALTER DATABASE "{database}" OWNER TO {owner};',
        f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC;',
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {app};',
        f"ALTER SCHEMA public OWNER TO {owner};",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        # Role names are checked (checked_role): safe to write in.
        f"""DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND pg_get_userbyid(c.relowner) <> '{owner}'
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER %s public.%I OWNER TO {owner}',
            CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.relname);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS function FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{owner}'
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO {owner}', r.function);
    END LOOP;
END $$;""",  # noqa: S608
    ]


def grants_sql(*, app: str, append_only_tables: Sequence[str]) -> list[str]:
    """The app role's privileges, all of them, from scratch (run in one transaction)."""
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {app};",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app};",
        f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {app};",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app};",
    ]
    if append_only_tables:
        tables = ", ".join(append_only_tables)
        statements.append(f"REVOKE {APPEND_ONLY_REVOKED} ON {tables} FROM {app};")
    return statements


def append_only_tables(cursor: Any) -> list[str]:
    cursor.execute(APPEND_ONLY_TABLES_SQL)
    return [name for (name,) in cursor.fetchall()]


def role_exists(cursor: Any, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def apply_grants(cursor: Any, app: str) -> list[str]:
    """Grant the app role its privileges on the current database (the caller holds a transaction).
    Returns the statements run."""
    statements = grants_sql(app=app, append_only_tables=append_only_tables(cursor))
    for statement in statements:
        cursor.execute(statement)
    return statements


def keep_app_grants(sender: object, using: str = "default", **kwargs: object) -> None:
    """post_migrate (propel.apps): apply the app role's grants again after every migrate, so a
    table a migration just made has them. Skipped on SQLite, when the app role does not exist in
    this cluster (a developer's database: nothing to grant to), and when the connection is the app
    role itself (it could not grant anything)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    app = checked_role(settings.DATABASE_APP_ROLE, "DATABASE_APP_ROLE")
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
        if current == app or not role_exists(cursor, app):
            return
        apply_grants(cursor, app)
