"""Files and directories that hold residents' data are owner-only, whatever the umask.

The embedded database (`GRIDLINK_DATA_DIR/gridlink.sqlite3`, and the `-wal` / `-shm` files
SQLite creates beside it with the database file's own mode), the data directory, uploaded
case photos (`media/`, through `FILE_UPLOAD_PERMISSIONS`) and backups are created `0600`
(files) and `0700` (directories). Nothing here loosens or tightens what already exists: an
install made under a loose umask is fixed with `chmod` (docs/security.md).
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def owner_only_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as `0700` unless it exists; return it."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it first
        folder.chmod(DIR_MODE)  # mkdir's mode is filtered through the umask
    return path


def owner_only_file(path: Path) -> bool:
    """Create an empty `path` as `0600` unless it exists; True if this call created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)  # os.open's mode is filtered through the umask too
    finally:
        os.close(fd)
    return True
