"""Scoped reads of the base registry: an object outside the user's scope is "not found"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from gridlink.accounts.permissions import roles_in_area, scope_q
from gridlink.accounts.roles import Cap
from gridlink.geo.models import Area
from gridlink.registry.models import Building, Household, Organisation, Resident, Tag

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser


def residents_visible_to(
    user: AnyUser, *, text: str = "", grid_code: str = ""
) -> QuerySet[Resident]:
    qs = (
        Resident.objects.filter(scope_q(user, Cap.REGISTRY_VIEW))
        .select_related("grid", "household")
        .defer("grid__geometry")
    )
    if grid_code:
        qs = qs.filter(grid__path__startswith=_path_of_code(grid_code))
    if text:
        # By name only. Finding someone by ID number or phone reveals that identifier's
        # owner, so it is a logged lookup with a purpose (`registry.services.resident_lookup`).
        qs = qs.filter(name__contains=text.strip())
    return qs


def buildings_visible_to(
    user: AnyUser, *, text: str = "", grid_code: str = ""
) -> QuerySet[Building]:
    qs = (
        Building.objects.filter(scope_q(user, Cap.REGISTRY_VIEW))
        .select_related("grid")
        .defer("grid__geometry")
    )
    if grid_code:
        qs = qs.filter(grid__path__startswith=_path_of_code(grid_code))
    if text:
        qs = qs.filter(Q(address__contains=text) | Q(address_code=text) | Q(name__contains=text))
    return qs


def households_visible_to(user: AnyUser, *, grid_code: str = "") -> QuerySet[Household]:
    qs = (
        Household.objects.filter(scope_q(user, Cap.REGISTRY_VIEW))
        .select_related("grid", "building")
        .defer("grid__geometry")
    )
    if grid_code:
        qs = qs.filter(grid__path__startswith=_path_of_code(grid_code))
    return qs


def organisations_visible_to(
    user: AnyUser, *, text: str = "", grid_code: str = "", kind: str = ""
) -> QuerySet[Organisation]:
    qs = (
        Organisation.objects.filter(scope_q(user, Cap.REGISTRY_VIEW))
        .select_related("grid")
        .defer("grid__geometry")
    )
    if grid_code:
        qs = qs.filter(grid__path__startswith=_path_of_code(grid_code))
    if kind:
        qs = qs.filter(kind=kind)
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(credit_code=text.upper()))
    return qs


def tags_visible_to(user: AnyUser, tags: list[Tag], *, grid: Area) -> list[Tag]:
    """Drop sensitive tags unless a role the user holds *over this grid* is granted them."""
    if user.is_superuser:
        return tags
    roles = roles_in_area(user, grid)
    return [t for t in tags if not t.sensitive or roles.intersection(t.granted_roles)]


def _path_of_code(code: str) -> str:
    from gridlink.geo.models import Area

    area = Area.objects.filter(code=code).only("path").first()
    # An unknown code matches nothing rather than everything.
    return area.path if area else "/nonexistent/"
