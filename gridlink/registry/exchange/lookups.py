"""Lookups shared by the per-kind rules: where the acting user may write, areas by code, and
rows referenced by code in a chunk of a file (or in the one row of an API request)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import scope_paths
from gridlink.geo.models import Area, Level
from gridlink.registry.exchange.cells import CellError
from gridlink.registry.exchange.readers import NUL

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

LEAF_LEVELS = (Level.GRID, Level.MICRO_GRID)


class Scope:
    """Where the acting user may write: None means everywhere (no user, or a superuser).

    `capability` is the one the write needs there: `registry.import` for a file import,
    `registry.edit` for a record saved through the API.
    """

    def __init__(self, actor: AnyUser | None, capability: str) -> None:
        self.capability = capability
        self.paths: list[str] | None = None
        if actor is not None and not actor.is_superuser:
            self.paths = scope_paths(actor, capability)

    def covers(self, path: str) -> bool:
        return self.paths is None or any(path.startswith(p) for p in self.paths)

    @property
    def unrestricted(self) -> bool:
        return self.paths is None

    def q(self, path_field: str = "grid__path") -> Q:
        """A filter for rows inside the scope (rows a file may refer to, such as households)."""
        if self.paths is None:
            return Q()
        q = Q(pk__in=[])
        for path in self.paths:
            q |= Q(**{f"{path_field}__startswith": path})
        return q


_AREA_FIELDS = ("id", "code", "level", "path", "parent_id")


class AreaIndex:
    """Areas' codes, levels and paths, kept current as an import creates areas.

    A file import loads every area once (`complete=True`); a single record saved through
    the API fetches only the areas it names (`complete=False`), one query each.
    """

    def __init__(self, *, complete: bool = True) -> None:
        self.complete = complete
        self.by_code: dict[str, Area] = {}
        self.by_id: dict[int, Area] = {}
        if complete:
            for area in Area.objects.only(*_AREA_FIELDS).order_by():
                self.add(area)

    def find(self, code: str) -> Area | None:
        """The area with `code`, or None."""
        if code in self.by_code or self.complete or NUL in code:
            return self.by_code.get(code)
        return self._fetch(code=code)

    def find_pk(self, pk: int) -> Area | None:
        """The area with primary key `pk`, or None."""
        if pk in self.by_id or self.complete:
            return self.by_id.get(pk)
        return self._fetch(pk=pk)

    def _fetch(self, **lookup: Any) -> Area | None:
        area = Area.objects.only(*_AREA_FIELDS).filter(**lookup).first()
        if area is not None:
            self.add(area)
        return area

    def area(self, code: str) -> Area:
        area = self.find(code)
        if area is None:
            raise CellError(_("No area has the code %(code)s.") % {"code": code})
        return area

    def grid(self, code: str) -> Area:
        area = self.find(code)
        if area is None:
            raise CellError(_("No grid has the code %(code)s.") % {"code": code})
        if area.level not in LEAF_LEVELS:
            raise CellError(
                _("%(code)s is a %(level)s, not a grid.")
                % {"code": code, "level": Level(area.level).label.lower()}
            )
        return area

    def add(self, area: Area) -> None:
        self.by_code[area.code] = area
        self.by_id[area.pk] = area


def in_chunk(rows: Sequence[Mapping[str, str]], column: str) -> set[str]:
    """The codes a chunk names in `column`, for one `__in` lookup (never one with a NUL)."""
    return {row[column] for row in rows if row.get(column) and NUL not in row[column]}


def lookup[T](found: Mapping[str, T], code: str, message: str) -> T:
    try:
        return found[code]
    except KeyError:
        raise CellError(message % {"code": code}) from None
