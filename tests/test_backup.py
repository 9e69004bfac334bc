"""Backups and the restore drill (docs/security.md, "Backups and operations").

SQLite: `gridlink backup FILE` (the online backup API) and `gridlink restore FILE`, run as
real processes against the test database. PostgreSQL: pg_dump of the test database,
pg_restore into a fresh database. Either way the drill compares the row count of every
table and the audit chain heads before and after, and verifies the restored chain.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from gridlink.core.audit import audit_record
from tests.cases_support import build_world, ok, report
from tests.factories import DepartmentFactory


def _database_url(name: str | None = None) -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgres://{s['USER']}@{host}:{port}/{name or s['NAME']}"


def _gridlink(*args: str, database: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": _database_url(database)}
    return subprocess.run(
        [sys.executable, "-m", "gridlink.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _snapshot(cursor: Any, tables: list[str]) -> dict[str, Any]:
    """Rows in every table, and the chain heads."""
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    cursor.execute("SELECT * FROM core_chainhead ORDER BY chain")
    return {"counts": counts, "heads": [tuple(row) for row in cursor.fetchall()]}


def _here() -> dict[str, Any]:
    with connection.cursor() as cursor:
        return _snapshot(cursor, sorted(connection.introspection.table_names(cursor)))


def _some_of_everything(tree: Any, personas: Any) -> None:
    """A case through the API (case, event, outbox, access log), registry and audit rows."""
    world = build_world(tree, personas)
    ok(report(world.client("grid_worker")), 201)
    audit_record(actor=None, action="test.before_backup", data={"n": 1})


def _changes_after_the_backup() -> None:
    DepartmentFactory(code="LATE", name_zh="备份后新建")
    audit_record(actor=None, action="test.after_backup", data={"n": 2})


def _verify_output(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "chain intact" in result.stdout, result.stdout
    return result.stdout


def test_restore_drill_gives_back_every_row_and_the_audit_head(
    transactional_db, tree, personas, tmp_path
):
    _some_of_everything(tree, personas)
    before = _here()
    assert before["counts"]["cases_case"] == 1 and before["heads"]
    verified = _verify_output(_gridlink("audit", "verify"))
    if connection.vendor == "postgresql":
        _postgres_drill(before, verified, tmp_path)
    else:
        _sqlite_drill(before, verified, tmp_path)


def _sqlite_drill(before: dict[str, Any], verified: str, tmp_path: Path) -> None:
    file = tmp_path / "gridlink-backup.sqlite3"
    made = _gridlink("backup", str(file))
    assert made.returncode == 0, made.stderr
    assert "pages (100%)" in made.stdout and f"to {file}" in made.stdout
    assert file.stat().st_mode & 0o077 == 0  # owner only

    _changes_after_the_backup()
    assert _here() != before
    connections.close_all()
    refused = _gridlink("restore", str(file))
    assert refused.returncode != 0 and "pass --force" in refused.stderr
    restored = _gridlink("restore", str(file), "--force")
    assert restored.returncode == 0, restored.stderr
    assert "pages (100%)" in restored.stdout

    assert _here() == before
    assert _verify_output(_gridlink("audit", "verify")) == verified


def _postgres_drill(before: dict[str, Any], verified: str, tmp_path: Path) -> None:
    import psycopg

    s = connection.settings_dict
    server = ["-h", s["HOST"] or "127.0.0.1", "-p", str(s["PORT"] or 5432), "-U", s["USER"]]
    fresh = f"{s['NAME']}_restored"
    dump = tmp_path / "gridlink.dump"

    def run(*command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (command, done.stderr)

    run("pg_dump", *server, "--format=custom", f"--file={dump}", s["NAME"])
    _changes_after_the_backup()  # the live database moves on; the dump does not
    run("dropdb", *server, "--if-exists", fresh)
    run("createdb", *server, fresh)
    try:
        run("pg_restore", *server, "--no-owner", "--exit-on-error", f"--dbname={fresh}", str(dump))
        with psycopg.connect(_database_url(fresh)) as restored, restored.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "ORDER BY tablename"
            )
            tables = [name for (name,) in cursor.fetchall()]
            assert _snapshot(cursor, tables) == before
        assert _verify_output(_gridlink("audit", "verify", database=fresh)) == verified
    finally:
        connections.close_all()
        run("dropdb", *server, "--if-exists", fresh)


# --- Refusals: clear messages, nothing written --------------------------------------------


def _refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_backup_does_not_overwrite_without_force(db, tmp_path):
    if connection.vendor == "postgresql":
        for command in ("backup", "restore"):  # the tools for PostgreSQL are named instead
            message = _refused(command, str(tmp_path / "file"))
            assert "pg_dump" in message and "pg_restore" in message
        assert not (tmp_path / "file").exists()
        return
    file = tmp_path / "kept.sqlite3"
    file.write_bytes(b"an earlier backup")
    assert "exists; pass --force to replace it" in _refused("backup", str(file))
    assert file.read_bytes() == b"an earlier backup"
    assert "is the database itself" in _refused("backup", connection.settings_dict["NAME"])
    assert "does not exist" in _refused("backup", str(tmp_path / "no-such-dir" / "b.sqlite3"))


def test_restore_checks_the_file_before_touching_the_database(db, tmp_path):
    if connection.vendor == "postgresql":
        assert "pg_restore" in _refused("restore", str(tmp_path / "b"))
        return
    database = Path(connection.settings_dict["NAME"])
    size = database.stat().st_size
    text = tmp_path / "notes.txt"
    text.write_text("not a database", encoding="utf-8")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as foreign:
        foreign.execute("CREATE TABLE t (x INTEGER)")
    assert "no such file" in _refused("restore", str(tmp_path / "missing.sqlite3"))
    assert "not an SQLite database" in _refused("restore", str(text))
    assert "not a gridlink database" in _refused("restore", str(other))
    assert database.stat().st_size == size
