"""Residents' data on disk is owner-only whatever the umask: the data directory (0700), the
embedded SQLite database and its -wal/-shm files (0600), case photos and their folders under
media/ (0600 / 0700), and backups (0600). Every test runs under umask 000, the loosest."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.utils import load_backend

from gridlink.core.management.commands.backup import sqlite_open
from gridlink.core.private_files import owner_only_dir, owner_only_file

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _loose_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_helpers_create_owner_only_and_leave_existing_alone(tmp_path):
    folder = owner_only_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700 and mode(folder) == 0o700
    assert owner_only_file(folder / "f") is True and mode(folder / "f") == 0o600
    (folder / "f").write_text("kept")
    (folder / "f").chmod(0o640)  # an operator's choice is not changed
    assert owner_only_file(folder / "f") is False
    assert mode(folder / "f") == 0o640 and (folder / "f").read_text() == "kept"


def test_the_sqlite_backend_creates_the_database_and_its_wal_and_shm_owner_only(
    tmp_path, django_db_blocker
):
    """The ENGINE gridlink's settings give every SQLite database, in WAL mode as configured."""
    assert django_settings.SQLITE_ENGINE == "gridlink.core.sqlite"
    backend = load_backend(django_settings.SQLITE_ENGINE)
    name = tmp_path / "gridlink.sqlite3"
    wrapper = backend.DatabaseWrapper(
        {
            "ENGINE": django_settings.SQLITE_ENGINE,
            "NAME": str(name),
            "OPTIONS": dict(django_settings.SQLITE_OPTIONS),
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
        },
        alias="permissions",
    )
    with django_db_blocker.unblock():  # its own file, not the test database
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("CREATE TABLE t (x TEXT)")
                cursor.execute("INSERT INTO t VALUES ('resident')")
                cursor.execute("PRAGMA journal_mode")
                assert cursor.fetchone()[0] == "wal"
            files = [name, Path(f"{name}-wal"), Path(f"{name}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        finally:
            wrapper.close()


def test_the_embedded_default_creates_its_data_directory_and_database_owner_only(tmp_path):
    """A real process with gridlink's settings and no DATABASE_URL, started under umask 000."""
    data = tmp_path / "var" / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(GRIDLINK_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="gridlink.settings")
    env.pop("GRIDLINK_SECRET_KEY", None)
    env.pop("GRIDLINK_AUDIT_KEY", None)  # generated into the data directory, as `make run`
    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('CREATE TABLE t (x TEXT)'); c.execute(\"INSERT INTO t VALUES ('r')\")\n"
        "print(connection.settings_dict['NAME'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120, umask=0, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    database = Path(done.stdout.strip().splitlines()[-1])
    assert database == data / "gridlink.sqlite3"
    assert mode(data) == 0o700 and mode(data.parent) == 0o700
    assert mode(database) == 0o600
    for suffix in ("-wal", "-shm"):  # SQLite removes them on a clean close; if left, 0600
        extra = Path(f"{database}{suffix}")
        assert not extra.exists() or mode(extra) == 0o600
    assert mode(data / "keys") == 0o700 and mode(data / "keys" / "audit_key") == 0o600


def test_case_photos_and_their_folders_are_owner_only(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    saved = default_storage.save("case-photos/2026/12/x.jpg", ContentFile(b"\xff\xd8 photo"))
    path = tmp_path / "media" / saved
    assert mode(path) == 0o600
    for folder in (path.parent, path.parent.parent, tmp_path / "media" / "case-photos"):
        assert mode(folder) == 0o700, folder
    assert mode(tmp_path / "media") == 0o700


def test_backups_and_restored_databases_are_owner_only_from_the_first_byte(tmp_path):
    """`sqlite_open` (backup's copy, restore's target) creates the file 0600 before SQLite
    writes to it, so no reader can open it while it fills."""
    target = tmp_path / ".backup.sqlite3.partial"
    connection = sqlite_open(target)
    try:
        assert mode(target) == 0o600
        connection.execute("CREATE TABLE t (x TEXT)")
        connection.commit()
    finally:
        connection.close()
    assert mode(target) == 0o600
