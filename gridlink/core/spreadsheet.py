"""Safe cell values for CSV/XLSX files people open in spreadsheet programs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

# A cell starting with one of these is evaluated as a formula by Excel/WPS/LibreOffice
# (CSV injection, OWASP): "=HYPERLINK(...)", "+cmd|...", "-2+3", "@SUM(...)".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: Any) -> Any:
    """Text that a spreadsheet would evaluate gets a leading apostrophe; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def private_temp_beside(path: Path) -> tuple[int, Path]:
    """A new file next to `path`, readable only by its owner (for write-then-rename)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, 0o600)
    return fd, Path(name)
