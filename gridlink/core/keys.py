"""The secret key and the audit key: explicit in a deployment, generated for the embedded
default.

Read by `gridlink.settings` before Django is set up, so this module uses only the standard
library and Django's `ImproperlyConfigured`.

- With `DATABASE_URL` set (a deployment), both `GRIDLINK_SECRET_KEY` and
  `GRIDLINK_AUDIT_KEY` must be given, long enough and different: `deployment_keys`.
- Without it (the embedded SQLite default, `make run`), a missing key is generated once
  and kept in `GRIDLINK_DATA_DIR/keys/` (directory 0700, files 0600): `embedded_key`.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_MIN = 50  # what `check --deploy` asks of SECRET_KEY
AUDIT_KEY_MIN = 32


def deployment_keys(secret_key: str, audit_key: str) -> tuple[str, str]:
    """The two keys of a deployment, or ImproperlyConfigured saying what is missing."""
    missing = [
        name
        for name, value in (("GRIDLINK_SECRET_KEY", secret_key), ("GRIDLINK_AUDIT_KEY", audit_key))
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"{' and '.join(missing)} must be set when DATABASE_URL is set: a deployment "
            "never runs on a default key. Generate each with "
            '`python3 -c "import secrets; print(secrets.token_urlsafe(64))"` and keep '
            "GRIDLINK_AUDIT_KEY out of the database and stable (see README, Deploying)."
        )
    if len(secret_key) < SECRET_KEY_MIN:
        raise ImproperlyConfigured(
            f"GRIDLINK_SECRET_KEY is too short: at least {SECRET_KEY_MIN} characters."
        )
    if len(audit_key) < AUDIT_KEY_MIN:
        raise ImproperlyConfigured(
            f"GRIDLINK_AUDIT_KEY is too short: at least {AUDIT_KEY_MIN} characters."
        )
    if secret_key == audit_key:
        raise ImproperlyConfigured(
            "GRIDLINK_AUDIT_KEY must differ from GRIDLINK_SECRET_KEY (a leaked session key "
            "must not let anyone re-forge the audit chain)."
        )
    return secret_key, audit_key


def embedded_key(folder: Path, name: str) -> str:
    """The key stored in `folder/name`, generated on first use (owner-only permissions).

    Several processes may start at once: the key is written to a temporary file and linked
    into place, so a reader sees either no file or the whole key, and the first writer wins.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"{folder} holds gridlink's keys but others may read it (mode {mode:04o}); "
            f"run `chmod 700 {folder}`."
        )
    path = folder / name
    if not path.exists():
        temp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(64) + "\n")
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process was first; use its key
        finally:
            temp.unlink()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"{path} holds a gridlink key but others may read it (mode {mode:04o}); "
            f"run `chmod 600 {path}`."
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < AUDIT_KEY_MIN:
        raise ImproperlyConfigured(f"{path} does not hold a key (too short); delete it.")
    return key
