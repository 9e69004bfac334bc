"""Routing: which level and which unit handle a case of a category in an area.

`route_for()` is a pure read. It looks at the routing rules in force on the day that match
the category (its sub-class code or its major class's code) and the area (the rule's area
is the case's area or one of its ancestors), and picks the most specific one:

1. a rule naming both a category and an area beats one naming only a category, which beats
   one naming only an area, which beats a catch-all rule naming neither;
2. then a rule naming the sub-class beats one naming its major class;
3. then the deeper rule area beats the shallower one (a grid beats its community);
4. then the higher `priority`;
5. then the lower id (the older rule) — so the result never depends on database order.

Rules whose department is inactive are skipped. Without a matching rule the category's
default level and department kind apply, resolved territorially (属地管理): for the grid,
community and street levels the area of that level in the case area's ancestry; for the
district levels the active department of that kind serving the nearest area in the
ancestry (the case area first, then upwards; equal depth: the lowest department code).
Nothing found: `DomainError(code="no_route")`.

The decision says in Chinese and English which rule fired and why (SPEC §3: automatic
dispatch must say which rule it used). Precedence and examples: docs/routing.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from gridlink.cases.models import AREA_UNIT_LEVELS, Category, HandlingLevel, RoutingRule
from gridlink.core.errors import DomainError
from gridlink.geo.models import Area, Department

# Chinese names of the levels for the Chinese reason (the labels are gettext'd English).
LEVEL_ZH = {
    HandlingLevel.GRID: "网格",
    HandlingLevel.COMMUNITY: "社区",
    HandlingLevel.STREET: "街道",
    HandlingLevel.DISTRICT_DEPARTMENT: "区职能部门",
    HandlingLevel.DISTRICT_CENTRE: "区指挥中心",
}
_TIER_EN = {
    3: "names the category and the area",
    2: "names the category",
    1: "names the area",
    0: "names neither category nor area (catch-all)",
}
_TIER_ZH = {
    3: "同时指定分类和区域",
    2: "只指定分类",
    1: "只指定区域",
    0: "不限分类和区域（兜底规则）",
}


@dataclass(frozen=True)
class RouteDecision:
    """Where a case goes: one level and one accountable unit, and why."""

    level: str
    department: Department | None
    area_unit: Area | None
    rule: RoutingRule | None
    reason_zh: str
    reason_en: str

    @property
    def unit(self) -> Department | Area:
        if self.department is not None:
            return self.department
        if self.area_unit is None:  # route_for always sets exactly one
            raise ValueError("a route decision without a unit")
        return self.area_unit

    @property
    def reason(self) -> str:
        lang = get_language() or "zh-hans"
        return self.reason_en if lang.startswith("en") else self.reason_zh


def _category_codes(category: Category) -> tuple[str, str | None]:
    """(own code, major class code or None). A sub-class code starts with its major's."""
    return category.code, (None if category.is_major else category.code[:3])


def _rank(rule: RoutingRule, sub_code: str, chain: list[int]) -> tuple[int, int, int, int, int]:
    """Sort key, smallest first = winner. See the module docstring."""
    tier = (2 if rule.category_code else 0) + (1 if rule.area_id else 0)
    category_rank = 2 if rule.category_code == sub_code else (1 if rule.category_code else 0)
    depth = chain.index(rule.area_id) + 1 if rule.area_id else 0
    return (-tier, -category_rank, -depth, -rule.priority, rule.pk)


def _describe_area(area: Area) -> str:
    return f"{area.name_zh} ({area.code})"


def _describe_department(department: Department) -> str:
    return f"{department.name_zh} ({department.code})"


def _chain(area: Area) -> list[int]:
    return [int(p) for p in area.path.strip("/").split("/") if p]  # district first


def _codes(category: Category) -> list[str]:
    own_code, major_code = _category_codes(category)
    return ["", own_code] + ([major_code] if major_code else [])


def route_for(*, category: Category, area: Area, on: date | None = None) -> RouteDecision:
    """The level and unit for a case of `category` located in `area` on day `on`."""
    day = on or timezone.localdate()
    chain = _chain(area)
    candidates = list(
        RoutingRule.objects.in_force(day)
        .filter(category_code__in=_codes(category))
        .filter(Q(area__isnull=True) | Q(area_id__in=chain))
        .filter(Q(unit_department__isnull=True) | Q(unit_department__active=True))
        .select_related("area", "unit_department", "unit_area")
    )
    if candidates:
        candidates.sort(key=lambda r: _rank(r, category.code, chain))
        return _decision_by_rule(candidates[0], len(candidates), category, area)
    return _fallback(category, area, chain, _DatabaseUnits(chain))


class _DatabaseUnits:
    """What the fallback reads, from the database (one query each)."""

    def __init__(self, chain: list[int]) -> None:
        self.chain = chain

    def office(self, level: int) -> Area | None:
        return Area.objects.filter(pk__in=self.chain, level=level).first()

    def served(self, kind: str) -> list[tuple[int, Department, Area]]:
        rows = Department.areas.through.objects.filter(
            area_id__in=self.chain, department__active=True, department__kind=kind
        ).select_related("department", "area")
        return [(row.area_id, row.department, row.area) for row in rows]


class RoutingSnapshot:
    """Everything `route_for` reads, loaded once, to route every category × area in memory
    with the same rules (`gridlink routing check`)."""

    def __init__(self, on: date | None = None) -> None:
        day = on or timezone.localdate()
        self.rules = list(
            RoutingRule.objects.in_force(day)
            .filter(Q(unit_department__isnull=True) | Q(unit_department__active=True))
            .select_related("area", "unit_department", "unit_area")
        )
        self.areas = {a.pk: a for a in Area.objects.all()}
        self.served_rows: dict[str, list[tuple[int, Department, Area]]] = {}
        through = Department.areas.through.objects.filter(department__active=True)
        for row in through.select_related("department"):
            area = self.areas.get(row.area_id)
            if area is not None:
                self.served_rows.setdefault(row.department.kind, []).append(
                    (row.area_id, row.department, area)
                )

    def route(self, *, category: Category, area: Area) -> RouteDecision:
        chain = _chain(area)
        codes = set(_codes(category))
        links = set(chain)
        candidates = [
            r
            for r in self.rules
            if r.category_code in codes and (r.area_id is None or r.area_id in links)
        ]
        if candidates:
            candidates.sort(key=lambda r: _rank(r, category.code, chain))
            return _decision_by_rule(candidates[0], len(candidates), category, area)
        return _fallback(category, area, chain, _SnapshotUnits(self, chain))


class _SnapshotUnits:
    def __init__(self, snapshot: RoutingSnapshot, chain: list[int]) -> None:
        self.snapshot, self.chain = snapshot, chain

    def office(self, level: int) -> Area | None:
        found = [self.snapshot.areas[i] for i in self.chain if i in self.snapshot.areas]
        return next((a for a in found if a.level == level), None)

    def served(self, kind: str) -> list[tuple[int, Department, Area]]:
        links = set(self.chain)
        return [row for row in self.snapshot.served_rows.get(kind, []) if row[0] in links]


def _decision_by_rule(
    rule: RoutingRule, matched: int, category: Category, area: Area
) -> RouteDecision:
    tier = (2 if rule.category_code else 0) + (1 if rule.area_id else 0)
    unit = (
        _describe_department(rule.unit_department)
        if rule.unit_department is not None
        else _describe_area(rule.unit_area)
        if rule.unit_area is not None
        else "?"
    )
    where = _describe_area(rule.area) if rule.area else "*"
    what = rule.category_code or "*"
    level = HandlingLevel(rule.level)
    return RouteDecision(
        level=rule.level,
        department=rule.unit_department,
        area_unit=rule.unit_area,
        rule=rule,
        reason_zh=(
            f"规则#{rule.pk}（分类 {what}，区域 {where}，优先级 {rule.priority}）{_TIER_ZH[tier]}，"
            f"是匹配 {category.code} 于 {_describe_area(area)} 的 {matched} 条规则中最具体的："
            f"由{LEVEL_ZH[level]}层级的 {unit} 办理。"
        ),
        reason_en=(
            f"Rule #{rule.pk} (category {what}, area {where}, priority {rule.priority}) "
            f"{_TIER_EN[tier]} and is the most specific of {matched} rule(s) matching "
            f"{category.code} in {_describe_area(area)}: {unit} handles it at the "
            f"{level.value} level."
        ),
    )


def _no_route(category: Category, area: Area, why: str) -> DomainError:
    return DomainError(
        _("No route for category %(code)s in %(area)s: %(why)s")
        % {"code": category.code, "area": _describe_area(area), "why": why},
        code="no_route",
    )


def _fallback(
    category: Category, area: Area, chain: list[int], units: _DatabaseUnits | _SnapshotUnits
) -> RouteDecision:
    if not category.default_level:
        raise _no_route(
            category, area, _("no routing rule matches and the category has no default level.")
        )
    level = HandlingLevel(category.default_level)
    head_zh = (
        f"没有匹配 {category.code} 于 {_describe_area(area)} 的规则，"
        f"按分类默认：{LEVEL_ZH[level]}层级"
    )
    head_en = (
        f"No routing rule matches {category.code} in {_describe_area(area)}; "
        f"the category's default applies: {level.value} level"
    )
    want = AREA_UNIT_LEVELS.get(level)
    if want is not None:
        office = units.office(want)
        if office is None:
            raise _no_route(
                category,
                area,
                _("the area lies in no %(level)s area.") % {"level": level.label},
            )
        return RouteDecision(
            level=level.value,
            department=None,
            area_unit=office,
            rule=None,
            reason_zh=f"{head_zh}，属地为 {_describe_area(office)}。",
            reason_en=f"{head_en}, territorially {_describe_area(office)}.",
        )
    kind = category.default_department_kind
    served = units.served(kind) if kind else []
    if not kind or not served:
        raise _no_route(
            category,
            area,
            _("no routing rule matches and no active %(kind)s department serves the area.")
            % {"kind": kind or "-"},
        )
    best = min(served, key=lambda row: (-chain.index(row[0]), row[1].code))
    _area_id, department, home = best
    return RouteDecision(
        level=level.value,
        department=department,
        area_unit=None,
        rule=None,
        reason_zh=(
            f"{head_zh}、{kind} 类部门；属地为服务 {_describe_area(home)} 的 "
            f"{_describe_department(department)}。"
        ),
        reason_en=(
            f"{head_en}, department kind {kind}; territorially "
            f"{_describe_department(department)}, which serves {_describe_area(home)}."
        ),
    )


# --- Who can sign for each routing target (`gridlink routing check`) --------------------------


@dataclass
class RoutingGap:
    """A routing target nobody active can sign for: a rule's unit or a fallback's unit, with
    the category × area pairs routed to it (or, with `unit` None, pairs with no route)."""

    unit: Department | Area | None
    rule: RoutingRule | None
    pairs: list[tuple[str, str]]  # (category code, area code)
    why: str = ""

    @property
    def unit_label(self) -> str:
        if isinstance(self.unit, Department):
            return f"{_describe_department(self.unit)} [department]"
        if isinstance(self.unit, Area):
            return f"{_describe_area(self.unit)} [area office]"
        return "-"

    @property
    def via(self) -> str:
        return f"rule #{self.rule.pk}" if self.rule is not None else "fallback (属地管理)"


@dataclass
class RoutingCheck:
    unstaffed: list[RoutingGap]
    unrouted: list[RoutingGap]
    pairs: int

    @property
    def ok(self) -> bool:
        return not self.unstaffed


def _signers() -> tuple[set[int], list[tuple[str, str]]]:
    """Active assignments of active users that can act for a unit: the departments with a
    department role, and (role, area path) for the area office roles."""
    from gridlink.accounts.models import RoleAssignment
    from gridlink.accounts.roles import AREA_OFFICE_ROLES, DEPARTMENT_ROLES

    rows = (
        RoleAssignment.objects.active()
        .filter(user__is_active=True, role__in=[*DEPARTMENT_ROLES, *AREA_OFFICE_ROLES])
        .values_list("role", "department_id", "area__path")
    )
    departments = {d for role, d, _p in rows if role in DEPARTMENT_ROLES and d is not None}
    offices = [(role, p) for role, _d, p in rows if role in AREA_OFFICE_ROLES and p]
    return departments, offices


def _staffed(
    unit: Department | Area, departments: set[int], offices: list[tuple[str, str]]
) -> bool:
    from gridlink.cases.permissions import acts_for_unit

    if isinstance(unit, Department):
        return unit.pk in departments
    return any(
        acts_for_unit(role, scope_path=path, unit_department_id=None, unit_area_path=unit.path)
        for role, path in offices
    )


def routing_check(*, on: date | None = None) -> RoutingCheck:
    """Route every sub-class of the published taxonomy in every current grid (where cases
    lie) and list the targets — each rule's unit and each fallback unit — that no active
    user can sign for (the rule of `gridlink.cases.permissions.acts_for_unit`), and the
    pairs that have no route at all."""
    from gridlink.cases.selectors import taxonomy_current
    from gridlink.geo.models import Level

    day = on or timezone.localdate()
    version = taxonomy_current()
    if version is None:
        return RoutingCheck([], [], 0)
    categories = list(
        Category.objects.filter(version=version, parent__isnull=False).order_by("code")
    )
    grids = list(Area.objects.current(day).filter(level=Level.GRID).order_by("code"))
    snapshot = RoutingSnapshot(day)
    departments, offices = _signers()
    targets: dict[tuple[str, int, int | None], RoutingGap] = {}
    unrouted: dict[str, RoutingGap] = {}
    staffed: dict[tuple[str, int], bool] = {}
    pairs = 0
    for grid in grids:
        for category in categories:
            pairs += 1
            try:
                decision = snapshot.route(category=category, area=grid)
            except DomainError as refused:  # grouped by category: the first refusal says why
                gap = unrouted.setdefault(
                    category.code, RoutingGap(None, None, [], refused.message)
                )
                gap.pairs.append((category.code, grid.code))
                continue
            unit = decision.unit
            kind = "department" if isinstance(unit, Department) else "area"
            key = (kind, unit.pk)
            if key not in staffed:
                staffed[key] = _staffed(unit, departments, offices)
            if staffed[key]:
                continue
            rule_id = decision.rule.pk if decision.rule is not None else None
            gap = targets.setdefault((kind, unit.pk, rule_id), RoutingGap(unit, decision.rule, []))
            gap.pairs.append((category.code, grid.code))
    return RoutingCheck(list(targets.values()), list(unrouted.values()), pairs)
