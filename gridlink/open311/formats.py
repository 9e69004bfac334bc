"""Render Open311 GeoReport v2 documents as XML (required by the spec) or JSON.

Views build plain Python values — dicts, lists, strings, numbers, booleans, None,
datetimes — and one function here renders them in the requested format. XML follows the
spec's shapes: a list is a wrapper element with one child per item (`<services><service>`),
`True`/`False` are `true`/`false`, None is an empty element, datetimes are W3C with their
offset; every XML document starts with the UTF-8 declaration. Characters XML 1.0 cannot
carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) are left out of both
formats (`core.inputs.text_safe`): intake refuses them, and data stored before that rule
must not make a public document unparseable for every client.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from gridlink.core.inputs import json_text_safe, text_safe

FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# The element name of one item of each list (the list's own element has the key's name).
ITEM_ELEMENT = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "status_history": "status_update",
}


def w3c(at: dt.datetime | None) -> str | None:
    """A W3C datetime in the server's time zone, with its offset (`…T10:00:00+08:00`)."""
    if at is None:
        return None
    return timezone.localtime(at).isoformat(timespec="seconds")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return w3c(value) or ""
    return text_safe(str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item_name = ITEM_ELEMENT[element.tag]
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    return (XML_DECLARATION + ET.tostring(element, encoding="unicode")).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return w3c(value)
    raise TypeError(type(value).__name__)


def to_json(value: Any) -> bytes:
    encoded = json.dumps(value, ensure_ascii=False, default=_json_default)
    return json_text_safe(encoded).encode("utf-8")


def render(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """One document: `root` names the XML root element (ignored by JSON)."""
    fmt = fmt if fmt in FORMATS else "xml"
    body = to_xml(root, value) if fmt == "xml" else to_json(value)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, errors: list[tuple[int, str]], *, status: int) -> HttpResponse:
    """The spec's error document: `<errors><error><code/><description/></error></errors>`."""
    items = [{"code": code, "description": description} for code, description in errors]
    return render(fmt, "errors", items, status=status)
