"""Who may do what, where: small predicates over a user's scoped role assignments.

A scope is a list of area path prefixes. An area-scoped role covers its area's subtree;
a department-scoped role covers the subtrees of the areas its department serves.
Superusers cover the whole tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q

from gridlink.accounts.roles import CAPABILITIES

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from gridlink.accounts.models import User
    from gridlink.geo.models import Area

    AnyUser = User | AnonymousUser

ALL = "/"


def _assignments(user: AnyUser) -> list[tuple[str, list[str]]]:
    """[(role, [path prefixes])] for the user's active assignments, cached on the user."""
    cached: list[tuple[str, list[str]]] | None = getattr(user, "_gridlink_assignments", None)
    if cached is not None:
        return cached
    from gridlink.accounts.models import RoleAssignment

    result: list[tuple[str, list[str]]] = []
    departments: list[tuple[str, int]] = []
    areas: list[tuple[str, str]] = []
    if user.is_authenticated:
        from django.db.models import Prefetch

        from gridlink.geo.models import Area

        rows = (
            RoleAssignment.objects.active()
            .filter(user_id=user.pk)
            .select_related("area", "department")
            .only("role", "area__path", "department__id")
            .prefetch_related(
                Prefetch("department__areas", queryset=Area.objects.only("id", "path"))
            )
        )
        for row in rows:
            if row.area is not None:
                result.append((row.role, [row.area.path]))
                areas.append((row.role, row.area.path))
            elif row.department is not None:
                result.append((row.role, [a.path for a in row.department.areas.all()]))
                departments.append((row.role, row.department.pk))
    user._gridlink_assignments = result  # type: ignore[union-attr]
    user._gridlink_departments = departments  # type: ignore[union-attr]
    user._gridlink_areas = areas  # type: ignore[union-attr]
    return result


def department_roles(user: AnyUser) -> list[tuple[str, int]]:
    """[(role, department id)] for the user's active department-scoped assignments."""
    _assignments(user)
    return list(getattr(user, "_gridlink_departments", []))


def area_roles(user: AnyUser) -> list[tuple[str, str]]:
    """[(role, area path)] for the user's active area-scoped assignments."""
    _assignments(user)
    return list(getattr(user, "_gridlink_areas", []))


def roles_of(user: AnyUser) -> set[str]:
    return {role for role, _ in _assignments(user)}


def roles_in_area(user: AnyUser, area: Area) -> set[str]:
    """The roles `user` holds in assignments whose scope covers `area`."""
    return {
        role for role, paths in _assignments(user) if any(area.path.startswith(p) for p in paths)
    }


def scope_paths(user: AnyUser, capability: str) -> list[str]:
    """Area path prefixes where `user` holds `capability` (empty: nowhere)."""
    if not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return [ALL]
    paths: set[str] = set()
    for role, role_paths in _assignments(user):
        if capability in CAPABILITIES.get(role, frozenset()):
            paths.update(role_paths)
    # Drop prefixes already covered by a shorter one.
    ordered = sorted(paths, key=len)
    kept: list[str] = []
    for path in ordered:
        if not any(path.startswith(k) for k in kept):
            kept.append(path)
    return kept


def has_capability(user: AnyUser, capability: str) -> bool:
    return bool(scope_paths(user, capability))


def can_in_area(user: AnyUser, capability: str, area: Area) -> bool:
    return any(area.path.startswith(p) for p in scope_paths(user, capability))


def scope_q(user: AnyUser, capability: str, path_field: str = "grid__path") -> Q:
    """A filter keeping rows whose area lies inside the user's scope for `capability`."""
    paths = scope_paths(user, capability)
    if ALL in paths:
        return Q()
    if not paths:
        return Q(pk__in=[])
    q = Q()
    for path in paths:
        q |= Q(**{f"{path_field}__startswith": path})
    return q


def forget_cached_scopes(user: Any) -> None:
    for attr in ("_gridlink_assignments", "_gridlink_departments", "_gridlink_areas"):
        if hasattr(user, attr):
            delattr(user, attr)
