"""gridlink restore FILE [--force] · put a `gridlink backup` copy back as the SQLite database.

FILE is checked first (an SQLite database that passes `PRAGMA quick_check` and holds
gridlink's tables); anything wrong is reported and nothing is touched. An existing database
is replaced only with --force. The copy goes through SQLite's online backup API into the
database file, so the database is never left half written. Stop the server and worker
first; afterwards run `gridlink migrate` (when FILE is older than the code) and
`gridlink audit verify`.

On PostgreSQL the command refuses and names pg_restore (see docs/security.md).
"""

from __future__ import annotations

import sqlite3
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from gridlink.core.management.commands.backup import (
    is_gridlink_database,
    sqlite_copy,
    sqlite_database,
    sqlite_open,
)


def _open_backup(path: Path) -> sqlite3.Connection:
    """`path` opened read-only after checking it is a sound gridlink database."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        source = sqlite_open(path, read_only=True)
    except sqlite3.Error as exc:
        raise CommandError(f"{path}: cannot open: {exc}") from exc
    try:
        check = source.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise CommandError(f"{path}: the file is damaged ({check})")
        if not is_gridlink_database(source):
            raise CommandError(f"{path}: not a gridlink database (no gridlink tables)")
    except sqlite3.DatabaseError as exc:
        source.close()
        raise CommandError(f"{path}: not an SQLite database ({exc})") from exc
    except CommandError:
        source.close()
        raise
    return source


def _has_tables(database: Path) -> bool:
    if not database.is_file() or database.stat().st_size == 0:
        return False
    connection = sqlite3.connect(database)
    try:
        return bool(connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone())
    except sqlite3.DatabaseError:
        return True  # something is there; replacing it is the operator's decision
    finally:
        connection.close()


class Command(BaseCommand):
    help = "Replace the SQLite database with a copy made by `gridlink backup`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the backup to restore")
        parser.add_argument("--force", action="store_true", help="replace the existing database")

    def handle(self, *args: Any, **options: Any) -> None:
        database = sqlite_database()
        backup = Path(options["file"]).expanduser().resolve()
        if backup == database.resolve():
            raise CommandError(f"{backup} is the database itself; name a backup file")
        source = _open_backup(backup)
        try:
            if _has_tables(database) and not options["force"]:
                raise CommandError(
                    f"{database} holds a database; pass --force to replace it with {backup}"
                )
            connections.close_all()  # this process lets go of the file before it changes
            try:
                target = sqlite_open(database)
                try:
                    sqlite_copy(source, target, self._progress)
                    target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    target.close()
            except sqlite3.Error as exc:
                raise CommandError(f"restore failed: {exc}") from exc
        finally:
            source.close()
        self.stdout.write(
            f"restored {backup} into {database}; next: `gridlink migrate`, `gridlink audit verify`"
        )

    def _progress(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        self.stdout.write(f"copied {done} of {total} pages ({percent}%)")
