"""Uploaded import files waiting between the admin's check and its "Apply".

Each upload is stored in `DATA_DIR/import-uploads/` under a random token (32 hex digits)
that only the uploading session knows, readable and writable by the server's user only
(mode 0600, in a 0700 folder). It is deleted when the import is applied or cancelled, and
any upload older than `UPLOAD_MAX_AGE` is deleted by `purge_stale_uploads` — on every
request to an admin import page, and from a periodic job if the deployment has one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

UPLOAD_MAX_AGE = dt.timedelta(hours=1)
TOKEN = re.compile(r"^[0-9a-f]{32}$")


def upload_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "import-uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)  # made before uploads were private, or under a loose umask
    return folder


def upload_path(token: str) -> Path | None:
    """Where the upload `token` is kept, or None for anything that is not a token."""
    return upload_dir() / token if TOKEN.match(token) else None


def upload_store(chunks: Iterable[bytes]) -> str:
    """Write an uploaded file, owner-only, under a new random token; return the token."""
    token = secrets.token_hex(16)
    path = upload_dir() / token
    # O_EXCL: never write through a file (or link) that is already there.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)  # whatever the umask
        for chunk in chunks:
            out.write(chunk)
    return token


def upload_discard(token: str) -> None:
    path = upload_path(token)
    if path is not None:
        path.unlink(missing_ok=True)


def purge_stale_uploads(older_than: dt.timedelta = UPLOAD_MAX_AGE) -> int:
    """Delete the waiting uploads last written more than `older_than` ago; return how many."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in upload_dir().iterdir():
        if not TOKEN.match(path.name) or not path.is_file() or path.is_symlink():
            continue
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue  # removed meanwhile by another request or process
        removed += 1
    return removed
