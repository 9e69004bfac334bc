"""The database's append-only guard on the log tables (triggers added by migration
0006_signed_log_heads_and_guards), and lifting it for `gridlink flush`.

Lifting needs what an owner of the tables has anyway (DROP/ALTER); it is how the test
suite empties its database, and how the tamper tests play an attacker who owns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

GUARDED_TABLES = ("core_auditevent", "core_accessrecord", "core_prunerecord", "core_chainhead")


@contextmanager
def log_guards_lifted(connection: BaseDatabaseWrapper) -> Iterator[None]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename = ANY(%s)",
                [list(GUARDED_TABLES)],
            )
            tables = [name for (name,) in cursor.fetchall()]
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for table in tables:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'gridlink_guard_%'"
            )
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f"DROP TRIGGER {name}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for _, sql in triggers:
                    cursor.execute(sql)
        return
    yield
