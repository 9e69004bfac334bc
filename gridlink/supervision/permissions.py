"""Who may open, answer and close supervision orders: small predicates over role scopes.

- Open: a supervisor whose area scope covers the target — the case's grid, the area unit, or
  one of the areas a department serves — or a superuser.
- Respond: a member of the target unit. On a case: department staff of the case's unit
  department, community staff and dispatchers whose area holds the case's grid (or its unit
  area). On a department: its department staff. On an area unit: community staff,
  dispatchers and grid workers whose area holds the unit. Superusers may too.
- Close (accept or reject a response): the supervisor who opened the order, any supervisor
  whose scope covers the target, or a superuser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeIs

from gridlink.accounts.permissions import area_roles, department_roles
from gridlink.accounts.roles import DEPARTMENT_ROLES, Role

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser
    from gridlink.cases.models import Case
    from gridlink.geo.models import Area, Department
    from gridlink.supervision.models import SupervisionOrder

# Area roles that answer for a case's unit, and for an area unit.
CASE_UNIT_AREA_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISPATCHER})
AREA_UNIT_ROLES = frozenset(
    {Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISPATCHER, Role.GRID_WORKER}
)


def _active(actor: AnyUser | None) -> TypeIs[AnyUser]:
    return actor is not None and actor.is_authenticated and actor.is_active


def supervisor_paths(actor: AnyUser | None) -> list[str]:
    """Area path prefixes where `actor` holds the supervisor role."""
    if not _active(actor):
        return []
    return [path for role, path in area_roles(actor) if role == Role.SUPERVISOR]


def target_paths(
    *, case: Case | None = None, department: Department | None = None, area: Area | None = None
) -> list[str]:
    """The area paths a target lies in (a department: every area it serves)."""
    if case is not None:
        return [case.grid.path]
    if area is not None:
        return [area.path]
    if department is not None:
        return [a.path for a in department.areas.all()]
    return []


def may_supervise(
    actor: AnyUser | None,
    *,
    case: Case | None = None,
    department: Department | None = None,
    area: Area | None = None,
) -> bool:
    """Whether `actor` may open (or close) an order on this target."""
    if not _active(actor):
        return False
    if actor.is_superuser:
        return True
    prefixes = supervisor_paths(actor)
    return any(
        path.startswith(prefix)
        for path in target_paths(case=case, department=department, area=area)
        for prefix in prefixes
    )


def may_respond(actor: AnyUser | None, order: SupervisionOrder) -> bool:
    """Whether `actor` answers for the order's target unit."""
    if not _active(actor):
        return False
    if actor.is_superuser:
        return True
    departments = {d for role, d in department_roles(actor) if role in DEPARTMENT_ROLES}
    if order.case is not None:
        case = order.case
        if case.unit_department_id is not None and case.unit_department_id in departments:
            return True
        paths = [case.grid.path]
        if case.unit_area is not None:
            paths.append(case.unit_area.path)
        return any(
            role in CASE_UNIT_AREA_ROLES and p.startswith(prefix)
            for role, prefix in area_roles(actor)
            for p in paths
        )
    if order.department_id is not None:
        return order.department_id in departments
    if order.area is not None:
        path = order.area.path
        return any(
            role in AREA_UNIT_ROLES and path.startswith(prefix)
            for role, prefix in area_roles(actor)
        )
    return False


def may_close(actor: AnyUser | None, order: SupervisionOrder) -> bool:
    if not _active(actor):
        return False
    if actor.pk == order.opened_by_id and supervisor_paths(actor):
        return True
    return may_supervise(actor, case=order.case, department=order.department, area=order.area)
