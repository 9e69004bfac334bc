"""Import rules for the area reference data: areas (with their polygons) and departments.

The handler protocol and the registry kinds are in `upserts.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from gridlink.geo.models import Area, AreaKind, Department, DepartmentKind, GridType, Level
from gridlink.registry.exchange.cells import (
    KEEP,
    REQUIRED,
    RowParser,
    choice_parser,
    parse_date,
    parse_int,
    parse_json_object,
    split_list,
)
from gridlink.registry.exchange.lookups import AreaIndex, Scope, lookup
from gridlink.registry.exchange.upserts import Handler, Parsed


class AreaHandler(Handler[Area]):
    kind = "areas"
    model = Area
    columns_of_fields: ClassVar[dict[str, str]] = {"parent": "parent_code"}
    resolved = ("parent",)
    always_update = ("updated_at",)
    scope_column = "code"

    level = staticmethod(choice_parser(Level))
    area_kind = staticmethod(choice_parser(AreaKind))
    grid_type = staticmethod(choice_parser(GridType))

    def parse(self, p: RowParser, existing: Area | None) -> Parsed:
        p.take("code", "code", blank=REQUIRED)
        p.take("parent_code", "parent", self.areas.area, empty=None)
        p.take("level", "level", self.level, blank=REQUIRED)
        p.take("kind", "kind", self.area_kind, blank=REQUIRED)
        p.take("name_zh", "name_zh", blank=REQUIRED)
        p.take("name_en", "name_en")
        p.take("grid_type", "grid_type", self.grid_type)
        p.take("households", "households", parse_int, blank=KEEP)
        p.take("residents", "residents", parse_int, blank=KEEP)
        p.take("valid_from", "valid_from", parse_date, blank=KEEP)
        p.take("valid_to", "valid_to", parse_date, empty=None)
        p.take("geometry", "geometry", parse_json_object, empty=None)
        return Parsed()

    def can_run_model_clean(self, instance: Area) -> bool:
        # Area.clean() computes with the level; a level that did not parse is reported already.
        return instance.level is not None

    def scope_message(self) -> str:
        return _("This area is outside the area you may import into.")

    def path_of(self, instance: Area) -> str | None:
        """A stored area's own path; for a new one, its parent's (where it will sit)."""
        if instance.pk and instance.path:
            return instance.path
        return self._parent_path(instance)

    def _parent_path(self, instance: Area) -> str | None:
        parent = self.areas.by_id.get(instance.parent_id) if instance.parent_id else None
        return parent.path if parent else None

    def target_in_scope(self, instance: Area, changed: Sequence[str], p: RowParser) -> bool:
        """A new area goes under a parent inside the scope; so does a stored one it moves."""
        if self.scope.unrestricted:
            return True
        if instance.pk and "parent" not in changed:
            return True  # stays where it is, which existing_in_scope has checked
        parent_path = self._parent_path(instance)
        return parent_path is not None and self.scope.covers(parent_path)

    def saved(self, instance: Area, m2m: dict[str, set[int]]) -> None:
        super().saved(instance, m2m)
        self.areas.add(instance)


class DepartmentHandler(Handler[Department]):
    kind = "departments"
    model = Department
    columns_of_fields: ClassVar[dict[str, str]] = {"parent": "parent_code", "areas": "area_codes"}
    resolved = ("parent",)
    scope_column = "area_codes"

    dept_kind = staticmethod(choice_parser(DepartmentKind))

    def __init__(self, *, scope: Scope, areas: AreaIndex) -> None:
        super().__init__(scope=scope, areas=areas)
        # Departments are few; hold them all so a file can name a parent it created above.
        self.by_code: dict[str, Department] = {d.code: d for d in Department.objects.order_by()}
        self.served: dict[int, set[int]] = {}
        for dept_id, area_id in Department.areas.through.objects.values_list(
            "department_id", "area_id"
        ):
            self.served.setdefault(dept_id, set()).add(area_id)

    def prefetch(self, keys: set[str], rows: Sequence[Mapping[str, str]]) -> None:
        self.existing_rows = self.by_code

    def parse(self, p: RowParser, existing: Department | None) -> Parsed:
        parsed = Parsed()
        p.take("code", "code", blank=REQUIRED)
        p.take("name_zh", "name_zh", blank=REQUIRED)
        p.take("name_en", "name_en")
        p.take("kind", "kind", self.dept_kind, blank=REQUIRED)
        p.take("parent_code", "parent", self._department, empty=None)
        if p.present("area_codes"):
            codes = split_list(p.raw("area_codes"))
            unknown = [c for c in codes if c not in self.areas.by_code]
            if unknown:
                p.errors.add(
                    "area_codes",
                    _("No area has the code %(codes)s.") % {"codes": ", ".join(unknown)},
                )
            else:
                parsed.m2m["areas"] = {self.areas.by_code[c].pk for c in codes}
        return parsed

    def _department(self, code: str) -> Department:
        return lookup(self.by_code, code, _("No department has the code %(code)s."))

    def check(self, instance: Department, p: RowParser) -> None:
        """A parent chain must end: no department may be its own ancestor."""
        by_id = {d.pk: d for d in self.by_code.values()}
        seen = {instance.code}
        parent = instance.parent
        while parent is not None:
            if parent.code in seen:
                p.errors.add(
                    "parent_code",
                    _("A department cannot be its own parent, directly or through others."),
                )
                return
            seen.add(parent.code)
            parent = by_id.get(parent.parent_id) if parent.parent_id else None

    def m2m_current(self, instance: Department, name: str) -> set[int]:
        return set(self.served.get(instance.pk, set()))

    # A department's scope is the areas it serves: a role held in a department covers them,
    # so only a user whose scope covers every one of them may change the department.

    def scope_message(self) -> str:
        return _("Departments serving areas outside your scope are not yours to import.")

    def _covers_all(self, area_ids: set[int]) -> bool:
        return bool(area_ids) and all(self.scope.covers(self.areas.by_id[i].path) for i in area_ids)

    def existing_in_scope(self, existing: Department) -> bool:
        if self.scope.unrestricted:
            return True
        return self._covers_all(set(self.served.get(existing.pk, set())))

    def target_in_scope(self, instance: Department, changed: Sequence[str], p: RowParser) -> bool:
        if self.scope.unrestricted:
            return True
        area_ids = set(self.served.get(instance.pk, set())) if instance.pk else set()
        codes = split_list(p.raw("area_codes"))
        area_ids |= {self.areas.by_code[c].pk for c in codes if c in self.areas.by_code}
        return self._covers_all(area_ids)

    def saved(self, instance: Department, m2m: dict[str, set[int]]) -> None:
        super().saved(instance, m2m)
        self.by_code[instance.code] = instance
        if "areas" in m2m:
            self.served[instance.pk] = set(m2m["areas"])


AREA_HANDLERS: tuple[type[Handler[Any]], ...] = (AreaHandler, DepartmentHandler)
