"""Reads that assemble what the web pages show: the home page per role, area pages, keyset pages.

Everything here only reads. Registry records are fetched through the scoped selectors of
`gridlink.registry.selectors`; areas and departments are not personal data and are shown
to every user with `area.view`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Model, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from gridlink.accounts.models import RoleAssignment
from gridlink.accounts.permissions import can_in_area, has_capability, scope_paths
from gridlink.accounts.roles import DEPARTMENT_ROLES, Cap, Role
from gridlink.geo.models import Area, Department, Level
from gridlink.registry.models import Household
from gridlink.registry.selectors import (
    buildings_visible_to,
    households_visible_to,
    organisations_visible_to,
    residents_visible_to,
)

if TYPE_CHECKING:
    from gridlink.accounts.models import User

PAGE_SIZE = 25


# --- Areas -------------------------------------------------------------------------------


@dataclass(slots=True)
class Totals:
    """Counts over an area's subtree. Households and residents are summed over its grids."""

    streets: int = 0
    communities: int = 0
    grids: int = 0
    households: int = 0
    residents: int = 0

    def add(self, level: int, households: int, residents: int) -> None:
        if level == Level.STREET:
            self.streets += 1
        elif level == Level.COMMUNITY:
            self.communities += 1
        elif level == Level.GRID:
            self.grids += 1
            self.households += households
            self.residents += residents


@dataclass(slots=True)
class AreaRow:
    area: Area
    totals: Totals


def area_totals(area: Area) -> tuple[Totals, list[AreaRow]]:
    """Totals for `area` and for each of its current children, in one query."""
    children = list(area.children.current().order_by("code"))
    per_child = {c.pk: Totals() for c in children}
    total = Totals()
    if area.level >= Level.GRID:
        total.households, total.residents = area.households, area.residents
    rows = (
        Area.objects.current()
        .subtree_of(area)
        .filter(level__gt=area.level)
        .values_list("path", "level", "households", "residents")
    )
    for path, level, households, residents in rows:
        total.add(level, households, residents)
        child_id = int(path[len(area.path) :].split("/", 1)[0])
        child = per_child.get(child_id)
        if child is not None and child_id != _last_id(path):  # below the child, not itself
            child.add(level, households, residents)
    for c in children:
        if c.level >= Level.GRID:  # a leaf child: its own numbers are its totals
            per_child[c.pk] = Totals(households=c.households, residents=c.residents)
    return total, [AreaRow(c, per_child[c.pk]) for c in children]


def _last_id(path: str) -> int:
    return int(path.strip("/").rsplit("/", 1)[-1])


def ancestors_of(area: Area) -> list[Area]:
    return list(Area.objects.filter(pk__in=area.ancestor_ids).order_by("level"))


def map_children(area: Area) -> tuple[list[Area], Area | None]:
    """What the map of `area` draws: its children, or for a leaf its siblings (and parent)."""
    children = list(area.children.current().order_by("code"))
    if children:
        return children, area
    if area.parent_id is None:
        return [area], None
    parent = Area.objects.get(pk=area.parent_id)
    return list(parent.children.current().order_by("code")), parent


def departments_serving(area: Area) -> QuerySet[Department]:
    """Active departments serving `area` or any of its ancestors."""
    ids = [*area.ancestor_ids, area.pk]
    return Department.objects.filter(active=True, areas__in=ids).distinct().order_by("code")


@dataclass(slots=True)
class RegistryCounts:
    residents: int
    households: int
    buildings: int
    organisations: int


def registry_counts(user: User, area: Area) -> RegistryCounts | None:
    """Registry records of `area` the user may see; None if the user may see none there."""
    if not can_in_area(user, Cap.REGISTRY_VIEW, area) and not _scope_inside(user, area):
        return None
    code = area.code
    return RegistryCounts(
        residents=residents_visible_to(user, grid_code=code).count(),
        households=households_visible_to(user, grid_code=code).count(),
        buildings=buildings_visible_to(user, grid_code=code).count(),
        organisations=organisations_visible_to(user, grid_code=code).count(),
    )


def _scope_inside(user: User, area: Area) -> bool:
    """Whether part of the user's registry scope lies inside `area` (e.g. a grid worker
    looking at their community: they see their own grid's records)."""
    return any(p.startswith(area.path) for p in scope_paths(user, Cap.REGISTRY_VIEW))


# --- Home ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Section:
    """One role assignment on the home page, with what that role cares about."""

    kind: str  # which template partial draws it
    role: str
    role_label: str
    area: Area | None = None
    department: Department | None = None
    chain: list[Area] = field(default_factory=list)
    totals: Totals | None = None
    rows: list[AreaRow] = field(default_factory=list)
    counts: RegistryCounts | None = None
    served: list[Area] = field(default_factory=list)


_SECTION_KIND = {
    Role.GRID_WORKER: "grid",
    Role.COMMUNITY_STAFF: "community",
    Role.DISPATCHER: "street",
    Role.DEPT_HANDLER: "department",
    Role.DEPT_HEAD: "department",
    Role.SUPERVISOR: "overview",
    Role.ADMIN: "overview",
    Role.RESIDENT: "resident",
}


def home_sections(user: User) -> list[Section]:
    assignments = (
        RoleAssignment.objects.active()
        .filter(user_id=user.pk)
        .select_related("area", "department")
        .order_by("role", "id")
    )
    sections: list[Section] = []
    for assignment in assignments:
        role = Role(assignment.role)
        section = Section(
            kind=_SECTION_KIND.get(role, "area"),
            role=role.value,
            role_label=str(role.label),
            area=assignment.area,
            department=assignment.department,
        )
        if role in DEPARTMENT_ROLES or assignment.department is not None:
            _fill_department(section)
        elif assignment.area is not None:
            _fill_area(section, user, assignment.area)
        sections.append(section)
    return sections


def _fill_area(section: Section, user: User, area: Area) -> None:
    section.chain = [*ancestors_of(area), area]
    if section.kind == "resident":
        return
    section.totals, section.rows = area_totals(area)
    section.counts = registry_counts(user, area)


def _fill_department(section: Section) -> None:
    section.kind = "department"
    if section.department is not None:
        section.served = list(section.department.areas.current().order_by("code"))


@dataclass(frozen=True, slots=True)
class Link:
    label: Any
    url: str


def admin_links(user: User) -> list[Link]:
    """Links into the admin back-office, for staff users (only those the site has)."""
    if not user.is_staff:
        return []
    # Only the sections this user's admin pages will actually open for.
    wanted: list[tuple[Any, str, dict[str, str]]] = [
        (_("Back-office home"), "admin:index", {}),
        (_("Areas and departments"), "admin:app_list", {"app_label": "geo"}),
        (_("Base registry"), "admin:app_list", {"app_label": "registry"}),
    ]
    if user.is_superuser:
        wanted.insert(1, (_("Users and roles"), "admin:app_list", {"app_label": "accounts"}))
    if user.is_superuser or has_capability(user, Cap.AUDIT_VIEW):
        wanted.append((_("Audit and access logs"), "admin:app_list", {"app_label": "core"}))
    links: list[Link] = []
    for label, name, kwargs in wanted:
        try:
            links.append(Link(label, reverse(name, kwargs=kwargs)))
        except NoReverseMatch:
            continue  # that app has no admin pages (yet): leave the link out
    return links


# --- Keyset pages --------------------------------------------------------------------------


@dataclass(slots=True)
class KeysetPage:
    items: Sequence[Any]
    next_after: int | None
    after: int | None


def keyset_page[M: Model](
    qs: QuerySet[M], *, after: int | None, size: int = PAGE_SIZE
) -> KeysetPage:
    """One page of `qs` in primary-key order, starting after the key `after`."""
    qs = qs.order_by("pk")
    if after:
        qs = qs.filter(pk__gt=after)
    items = list(qs[: size + 1])
    more = len(items) > size
    items = items[:size]
    return KeysetPage(items, int(items[-1].pk) if more else None, after)


def with_member_counts(qs: QuerySet[Household]) -> QuerySet[Household]:
    """Households annotated with `member_count`, the residents registered in each."""
    return qs.annotate(member_count=Count("members"))
