"""A name in the page's language: what templates (the `localname` filter) and views (chart
labels, CSV headers) both print."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language


def localname(obj: Any) -> str:
    """`name_en` on an English page when there is one, else `name_zh`."""
    lang = get_language() or ""
    name_en = getattr(obj, "name_en", "")
    return str(name_en if lang.startswith("en") and name_en else getattr(obj, "name_zh", obj))
