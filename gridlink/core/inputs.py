"""What every input of gridlink must satisfy, whichever door it came in by (pure functions).

- Text: no NUL and no other C0 control character except tab, line feed and carriage return;
  no lone surrogate and no U+FFFE/U+FFFF (neither can be stored in PostgreSQL text or
  written in an XML 1.0 document). `text_problem` says why a value is refused, `text_safe`
  removes such characters from stored data on the way out (XML and JSON documents).
- Datetimes: aware, and between `DATETIME_MIN` and `DATETIME_MAX` once converted to UTC,
  so arithmetic on them (a 90-day window, a deadline) never leaves Python's range.
- Numbers: finite and at most `NUMBER_MAX` in size (a 401-digit integer is refused, not
  converted to a float that overflows).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

# C0 controls but tab, LF, CR; lone surrogates; the two XML non-characters.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORBIDDEN_SINGLE_LINE = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")

DATETIME_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
DATETIME_MAX = dt.datetime(2999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
DATE_MIN = DATETIME_MIN.date()
DATE_MAX = DATETIME_MAX.date()
NUMBER_MAX = 10**15  # larger than any count, area or amount a form asks for


def text_problem(value: str, *, single_line: bool = False) -> str | None:
    """Why `value` cannot be accepted as text, or None."""
    pattern = _FORBIDDEN_SINGLE_LINE if single_line else _FORBIDDEN
    match = pattern.search(value)
    if match is None:
        return None
    char = match.group()
    if char == "\x00":
        return "The text contains a NUL character (U+0000), which no field accepts."
    return f"The text contains the control character U+{ord(char):04X}, which is not accepted."


def text_safe(value: str) -> str:
    """`value` without the characters `text_problem` refuses (for output of stored data)."""
    return _FORBIDDEN.sub("", value)


def value_text_problem(value: Any, *, path: str = "") -> tuple[str, str] | None:
    """The first (path, problem) among the strings (keys included) inside a decoded JSON
    value, or None. Paths are dotted (`attributes.code`, `photo_keys.0`)."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return where, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                key_text = str(key)
                inner = f"{where}.{key_text}" if where else key_text
                problem = text_problem(key_text)
                if problem:
                    return inner, problem
                stack.append((inner, child))
        elif isinstance(item, list):
            stack.extend((f"{where}.{i}" if where else str(i), c) for i, c in enumerate(item))
    return None


def datetime_in_range(at: dt.datetime) -> bool:
    """An aware datetime between DATETIME_MIN and DATETIME_MAX (in UTC)."""
    if at.tzinfo is None or at.utcoffset() is None:
        return False
    try:
        utc = at.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is past year 9999 in UTC
        return False
    return DATETIME_MIN <= utc <= DATETIME_MAX


def date_in_range(day: dt.date) -> bool:
    return DATE_MIN <= day <= DATE_MAX


def number_in_range(value: Any) -> bool:
    """An int or float (not a bool), finite and at most NUMBER_MAX in size."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return -NUMBER_MAX <= value <= NUMBER_MAX
    return math.isfinite(value) and -NUMBER_MAX <= value <= NUMBER_MAX


# A JSON escape of a refused control character (\u0000-\u0008, \u000b, \u000c,
# \u000e-\u001f, and the short forms \b and \f) preceded by an even number of backslashes
# (so it is an escape, not the text "\u0001" whose own backslash is escaped).
_JSON_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F])|[bf])")


def json_text_safe(encoded: str) -> str:
    """A JSON document encoded with `ensure_ascii=False` without the characters `text_safe`
    removes: control characters (json.dumps writes them as escapes) and lone surrogates and
    U+FFFE/U+FFFF (written raw; a real character beyond U+FFFF is one code point, never a
    surrogate, in a Python string)."""
    return text_safe(_JSON_ESCAPE.sub(r"\1", encoded))


def date_parse(raw: str) -> dt.date | None:
    """A YYYY-MM-DD date between DATE_MIN and DATE_MAX, else None (never an exception:
    Django's parse_date raises ValueError for 2026-02-30)."""
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if date_in_range(day) else None
