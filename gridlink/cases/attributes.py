"""Values of a sub-class's extra attributes (`CategoryAttribute`): the one check every door
uses. The JSON API sends typed values, Open311 sends text (`attribute[code]=…`), which
`attribute_value_from_text` turns into the same typed values first; `case_create` then
checks every value with `attribute_value_problem`, so both doors refuse exactly the same
things, each with a message naming what is expected — never an exception.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gridlink.cases.models import CategoryAttribute, Datatype
from gridlink.core.inputs import (
    DATETIME_MAX,
    DATETIME_MIN,
    NUMBER_MAX,
    datetime_in_range,
    number_in_range,
    text_problem,
)

STRING_MAX = 200
TEXT_MAX = 2000
CHOICES_MAX = 50  # a multi-value list never has more values than this
_NUMBER_TEXT = re.compile(r"^[+-]?(\d{1,16}(\.\d{0,16})?|\.\d{1,16})([eE][+-]?\d{1,3})?$")


def _keys(attribute: CategoryAttribute) -> list[str]:
    return [str(v["key"]) for v in attribute.values if isinstance(v, dict) and "key" in v]


def _datetime_problem(value: Any) -> str | None:
    expected = _("A date and time (ISO 8601) is expected, e.g. 2026-01-31T09:30:00+08:00.")
    if not isinstance(value, str) or len(value) > 40:
        return expected
    try:
        at = parse_datetime(value.strip())
    except ValueError:  # well formed but impossible, e.g. 2026-02-30T10:00
        at = None
    if at is None:
        return expected
    in_range = (
        datetime_in_range(at)
        if at.tzinfo is not None
        else DATETIME_MIN.replace(tzinfo=None) <= at <= DATETIME_MAX.replace(tzinfo=None)
    )
    if not in_range:
        return _("The date and time must lie between the years %(lo)s and %(hi)s.") % {
            "lo": DATETIME_MIN.year,
            "hi": DATETIME_MAX.year,
        }
    return None


def attribute_value_problem(attribute: CategoryAttribute, value: Any) -> str | None:
    """Why `value` is not an answer to `attribute`, or None (the value is then stored as is)."""
    keys = _keys(attribute)
    choices = ", ".join(sorted(keys))
    match attribute.datatype:
        case Datatype.NUMBER:
            if number_in_range(value):
                return None
            return _("A number is expected, at most %(max)s in size.") % {"max": f"{NUMBER_MAX:,}"}
        case Datatype.DATETIME:
            return _datetime_problem(value)
        case Datatype.STRING | Datatype.TEXT:
            limit = STRING_MAX if attribute.datatype == Datatype.STRING else TEXT_MAX
            if not isinstance(value, str):
                return _("Text is expected.")
            if len(value) > limit:
                return _("At most %(max)s characters.") % {"max": limit}
            return text_problem(value, single_line=attribute.datatype == Datatype.STRING)
        case Datatype.SINGLE_VALUE_LIST:
            if isinstance(value, str) and value in keys:
                return None
            return _("Choose one of: %(keys)s.") % {"keys": choices}
        case Datatype.MULTI_VALUE_LIST:
            ok = (
                isinstance(value, list)
                and 0 < len(value) <= CHOICES_MAX
                and all(isinstance(v, str) and v in keys for v in value)
            )
            return None if ok else _("Choose from: %(keys)s.") % {"keys": choices}
    return _("Unsupported attribute.")


def _number(raw: str) -> Any:
    """A number written as text, or the text itself when it is none (then refused)."""
    text = raw.strip()
    if not _NUMBER_TEXT.match(text):
        return raw
    value = float(text)
    if not number_in_range(value):
        return raw
    if value.is_integer() and "." not in text and "e" not in text.lower():
        return int(text)
    return value


def attribute_value_from_text(datatype: str | None, values: list[str]) -> Any:
    """An attribute's typed value from the text values of a form (`attribute[code]`, once,
    or `attribute[code][]`, repeated). Anything that is no value of the datatype is left as
    it is, for `attribute_value_problem` to refuse with its message."""
    present = [v for v in values if v != ""]
    if datatype == Datatype.MULTI_VALUE_LIST:
        return present
    if not present:
        return ""
    if len(present) > 1:
        return present  # several values for a single one: refused
    if datatype == Datatype.NUMBER:
        return _number(present[0])
    return present[0]
