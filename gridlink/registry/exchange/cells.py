"""Turn the text of one cell into a typed value, or say in one sentence what is wrong.

`RowParser` applies the rule for blank cells that every kind shares:

- a column missing from the file leaves the field as it is (or its default, for a new row);
- a blank cell in a column that can be empty empties the field;
- a blank cell in a column that cannot be empty but has a default (counts, validity start,
  residence type) keeps the current value (or the default) — so a file stays idempotent;
- a blank cell in a required column is an error.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import Choices
from django.utils import translation
from django.utils.translation import gettext as _

LIST_SEPARATORS = re.compile(r"[;；]")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PHONE_NOISE = re.compile(r"[\s\-()]")


class CellError(ValueError):
    """One cell's text cannot become the value its column needs."""


class RowErrors:
    """The messages of one row, by column, in the order they were found.

    Each message has a short code too (`invalid` unless said otherwise), for the API's
    `errors` list; the import report shows the messages only.
    """

    def __init__(self, number: int) -> None:
        self.number = number
        self.by_column: dict[str, list[str]] = {}
        self.codes: dict[tuple[str, str], str] = {}  # (column, message) → code
        self.refused = False  # the row lies outside the user's scope (see `refuse`)

    def add(self, column: str, message: str, *, code: str = "invalid") -> None:
        messages = self.by_column.setdefault(column, [])
        if message not in messages:
            messages.append(message)
            self.codes[column, message] = code

    def refuse(self, column: str, message: str) -> None:
        """Make the scope refusal `message` the row's one message, dropping any before it."""
        self.by_column = {column: [message]}
        self.codes = {(column, message): "out_of_scope"}
        self.refused = True

    def code(self, column: str, message: str) -> str:
        return self.codes.get((column, message), "invalid")

    def has(self, column: str) -> bool:
        return column in self.by_column

    def __bool__(self) -> bool:
        return bool(self.by_column)


KEEP = "keep"  # blank keeps the current value / the default
REQUIRED = "required"  # blank is an error
EMPTY = "empty"  # blank empties the field


class RowParser:
    """Parse the cells of one row into `fields` (model attribute → value)."""

    def __init__(self, values: Mapping[str, str], errors: RowErrors) -> None:
        self.values = values
        self.errors = errors
        self.fields: dict[str, Any] = {}

    def present(self, column: str) -> bool:
        return column in self.values

    def raw(self, column: str) -> str:
        return self.values.get(column, "")

    def take(
        self,
        column: str,
        field: str,
        convert: Callable[[str], Any] = str,
        *,
        blank: str = EMPTY,
        empty: Any = "",
    ) -> None:
        if column not in self.values:
            return
        raw = self.values[column]
        if raw == "":
            if blank == REQUIRED:
                self.errors.add(column, _("A value is required."), code="required")
            elif blank == EMPTY:
                self.fields[field] = empty
            return
        try:
            self.fields[field] = convert(raw)
        except CellError as exc:
            self.errors.add(column, str(exc))


def parse_int(raw: str, *, minimum: int = 0, maximum: int = 2_147_483_647) -> int:
    text = raw.replace(",", "")
    if text.endswith(".0"):
        text = text[:-2]
    try:
        value = int(text)
    except ValueError:
        raise CellError(_("%(value)r is not a whole number.") % {"value": raw}) from None
    if not minimum <= value <= maximum:
        raise CellError(
            _("%(value)d is outside %(min)d–%(max)d.")
            % {"value": value, "min": minimum, "max": maximum}
        )
    return value


def float_parser(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise CellError(_("%(value)r is not a number.") % {"value": raw}) from None
        if not math.isfinite(value) or not low <= value <= high:
            raise CellError(
                _("%(value)s is outside %(low)s–%(high)s.")
                % {"value": raw, "low": low, "high": high}
            )
        return value

    return parse


def parse_date(raw: str) -> dt.date:
    match = _DATE.match(raw) or _COMPACT_DATE.match(raw)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise CellError(_("%(value)r is not a date; write it as YYYY-MM-DD.") % {"value": raw})


def choice_parser(
    choices: type[Choices], synonyms: Mapping[str, Any] | None = None
) -> Callable[[str], Any]:
    """Accept a choice by its stored value, its member name or its English/Chinese label."""
    lookup: dict[str, Any] = {}
    for member in choices:
        value = member.value
        lookup[str(value).lower()] = value
        lookup[member.name.lower()] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup.setdefault(str(member.label).strip().lower(), value)
    for word, value in (synonyms or {}).items():
        lookup[word.lower()] = value
    allowed = ", ".join(str(m.value) for m in choices)

    def parse(raw: str) -> Any:
        try:
            return lookup[raw.strip().lower()]
        except KeyError:
            raise CellError(
                _("%(value)r is not one of: %(allowed)s.") % {"value": raw, "allowed": allowed}
            ) from None

    return parse


def split_list(raw: str) -> list[str]:
    """`a; b；c` → ['a', 'b', 'c'] (ASCII or full-width semicolons)."""
    return [part.strip() for part in LIST_SEPARATORS.split(raw) if part.strip()]


def parse_json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise CellError(
            _("This is not valid GeoJSON text (%(error)s).") % {"error": detail}
        ) from None
    if not isinstance(value, dict):
        raise CellError(_('GeoJSON must be an object such as {"type": "Polygon", …}.'))
    if _holds_nul(value):
        # "\u0000" in the JSON text: PostgreSQL's jsonb cannot store it.
        raise CellError(_("This cell holds a NUL character (U+0000), which cannot be stored."))
    return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def unmasked(raw: str) -> str:
    """Refuse a value masked by an export (370211********1234): it cannot be imported."""
    if "*" in raw:
        raise CellError(
            _("%(value)s is a masked value from an export; import the full value.") % {"value": raw}
        )
    return raw


def normalise_phone(raw: str) -> str:
    """'138-0013 8000' or '+86 13800138000' → '13800138000' (validation comes later)."""
    value = _PHONE_NOISE.sub("", unmasked(raw))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    return value
