"""Django's SQLite backend, creating the database file owner-only (`0600`) before SQLite
opens it; SQLite then gives its `-wal` and `-shm` files the same mode. The ENGINE of every
SQLite database in gridlink's settings (`gridlink.core.sqlite`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.backends.sqlite3 import base

from gridlink.core.private_files import owner_only_file


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        name = str(conn_params.get("database", ""))
        if name and name != ":memory:" and not name.startswith("file:"):
            path = Path(name)
            if path.parent.is_dir():
                owner_only_file(path)
        return super().get_new_connection(conn_params)
