"""Lookups shared by the per-kind import rules: where the importing user may write, every
area by code, and rows referenced by code in a chunk of the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import scope_paths
from gridlink.accounts.roles import Cap
from gridlink.geo.models import Area, Level
from gridlink.registry.exchange.cells import CellError

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

LEAF_LEVELS = (Level.GRID, Level.MICRO_GRID)


class Scope:
    """Where the importing user may write: None means everywhere (no user, or a superuser)."""

    def __init__(self, actor: AnyUser | None) -> None:
        self.paths: list[str] | None = None
        if actor is not None and not actor.is_superuser:
            self.paths = scope_paths(actor, Cap.REGISTRY_IMPORT)

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


class AreaIndex:
    """Every area's code, level and path, kept current as the import creates areas."""

    def __init__(self) -> None:
        rows = Area.objects.only("id", "code", "level", "path", "parent_id").order_by()
        self.by_code: dict[str, Area] = {a.code: a for a in rows}
        self.by_id: dict[int, Area] = {a.pk: a for a in self.by_code.values()}

    def area(self, code: str) -> Area:
        try:
            return self.by_code[code]
        except KeyError:
            raise CellError(_("No area has the code %(code)s.") % {"code": code}) from None

    def grid(self, code: str) -> Area:
        try:
            area = self.by_code[code]
        except KeyError:
            raise CellError(_("No grid has the code %(code)s.") % {"code": code}) from None
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
    return {row[column] for row in rows if row.get(column) and "\x00" not in row[column]}


def lookup[T](found: Mapping[str, T], code: str, message: str) -> T:
    try:
        return found[code]
    except KeyError:
        raise CellError(message % {"code": code}) from None
