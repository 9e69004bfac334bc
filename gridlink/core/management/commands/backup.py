"""gridlink backup FILE [--force] · a consistent copy of the SQLite database, taken while it runs.

SQLite's online backup API (`sqlite3.Connection.backup`) copies the database page by page;
the server and worker may keep working meanwhile, and the copy is the database as it was at
one instant. The copy is written beside FILE and renamed into place when complete, so FILE
is never half written; an existing FILE is replaced only with --force. Restore it with
`gridlink restore FILE`.

On PostgreSQL the command refuses and names the tools to use instead (pg_dump / pg_restore,
see "Backups and operations" in docs/security.md).
"""

from __future__ import annotations

import sqlite3
from argparse import ArgumentParser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.backends.sqlite3._functions import (  # type: ignore[import-untyped]  # no stubs
    register as register_sql_functions,  # the SQL functions Django gives its SQLite connections
)

from gridlink.core.private_files import owner_only_file

PAGES_PER_STEP = 512
POSTGRES_HINT = (
    "the database is PostgreSQL: back it up with `pg_dump --format=custom --file=FILE DBNAME` "
    "and restore it with `pg_restore` (see 'Backups and operations' in docs/security.md)"
)

Progress = Callable[[int, int], None]


def sqlite_database(alias: str = "default") -> Path:
    """The file of the SQLite database `alias`; a CommandError on any other database."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        raise CommandError(POSTGRES_HINT)
    if connection.vendor != "sqlite":
        raise CommandError(f"backups are for SQLite databases, not {connection.vendor}")
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        raise CommandError(f"the database '{name}' is not a file")
    return Path(name)


def sqlite_open(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A plain connection to `path` with Django's SQL functions (the schema's CHECK
    constraints call REGEXP, so `PRAGMA quick_check` needs them)."""
    if read_only:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=20)
    else:
        owner_only_file(path)  # a new copy or database is 0600 from its first byte
        connection = sqlite3.connect(path, timeout=20)
    register_sql_functions(connection)
    return connection


def sqlite_copy(source: sqlite3.Connection, target: sqlite3.Connection, progress: Progress) -> None:
    """Copy every page of `source` into `target` (the online backup API), reporting progress
    as (pages copied, pages in all) after each step."""

    def step(_status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    source.backup(target, pages=PAGES_PER_STEP, progress=step)


def is_gridlink_database(connection: sqlite3.Connection) -> bool:
    """Whether the SQLite database holds gridlink's tables (its core app was migrated)."""
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'"
    ).fetchone()
    if row is None:
        return False
    return bool(connection.execute("SELECT 1 FROM django_migrations WHERE app = 'core'").fetchone())


class Command(BaseCommand):
    help = "Copy the SQLite database to FILE while it runs (SQLite's online backup)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="where to write the copy")
        parser.add_argument("--force", action="store_true", help="replace FILE if it exists")

    def handle(self, *args: Any, **options: Any) -> None:
        database = sqlite_database()
        target = Path(options["file"]).expanduser().resolve()
        if not database.is_file():
            raise CommandError(f"there is no database at {database} (run `gridlink migrate`)")
        if target == database.resolve():
            raise CommandError(f"{target} is the database itself; name another file")
        if target.exists() and not options["force"]:
            raise CommandError(f"{target} exists; pass --force to replace it")
        if target.exists() and not target.is_file():
            raise CommandError(f"{target} is not a file")
        if not target.parent.is_dir():
            raise CommandError(f"the directory {target.parent} does not exist")
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        try:
            self._copy(database, partial)
            partial.replace(target)
        except (sqlite3.Error, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"backup failed, {target} was not written: {exc}") from exc
        self.stdout.write(f"backed up {database} to {target} ({target.stat().st_size} bytes)")

    def _copy(self, database: Path, partial: Path) -> None:
        source = sqlite_open(database, read_only=True)
        try:
            target = sqlite_open(partial)
            try:
                sqlite_copy(source, target, self._progress)
                check = target.execute("PRAGMA quick_check").fetchone()
            finally:
                target.close()
        finally:
            source.close()
        if check is None or check[0] != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check: {check}")
        partial.chmod(0o600)  # residents' personal data: owner only

    def _progress(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        self.stdout.write(f"copied {done} of {total} pages ({percent}%)")
