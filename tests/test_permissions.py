import datetime as dt

import pytest

from gridlink.accounts.permissions import can_in_area, forget_cached_scopes, roles_of, scope_paths
from gridlink.accounts.roles import CAPABILITIES, Cap, Role
from tests.factories import RoleAssignmentFactory, UserFactory


def test_every_role_has_a_capability_set():
    assert set(CAPABILITIES) == set(Role)


@pytest.mark.parametrize(
    ("persona", "cap", "area_index", "allowed"),
    [
        ("grid_worker", Cap.REGISTRY_UNMASK, 0, True),
        ("grid_worker", Cap.REGISTRY_UNMASK, 1, False),
        ("grid_worker", Cap.REGISTRY_EXPORT, 0, False),
        ("community_staff", Cap.REGISTRY_EXPORT, 1, True),
        ("community_staff", Cap.REGISTRY_EXPORT, 2, False),
        ("dispatcher", Cap.REGISTRY_UNMASK, 3, True),
        ("dispatcher", Cap.REGISTRY_UNMASK, 4, False),
        ("dept_handler", Cap.REGISTRY_VIEW, 4, True),
        ("dept_handler", Cap.REGISTRY_VIEW, 0, False),
        ("dept_handler", Cap.REGISTRY_UNMASK, 4, False),
        ("supervisor", Cap.REGISTRY_VIEW, 7, True),
        ("supervisor", Cap.REGISTRY_UNMASK, 7, False),
        ("resident", Cap.REGISTRY_VIEW, 0, False),
        ("admin", Cap.REGISTRY_IMPORT, 7, True),
    ],
)
def test_capability_by_role_and_scope(personas, tree, persona, cap, area_index, allowed):
    assert can_in_area(getattr(personas, persona), cap, tree.grids[area_index]) is allowed


def test_expired_and_future_assignments_grant_nothing(tree):
    user = UserFactory(username="temp")
    RoleAssignmentFactory(
        user=user, role=Role.GRID_WORKER, area=tree.grids[0], valid_to=dt.date(2021, 1, 1)
    )
    RoleAssignmentFactory(
        user=user,
        role=Role.COMMUNITY_STAFF,
        area=tree.communities[0],
        valid_from=dt.date.today() + dt.timedelta(days=1),
    )
    assert scope_paths(user, Cap.REGISTRY_VIEW) == []
    assert roles_of(user) == set()


def test_nested_scopes_collapse_to_the_widest(tree):
    user = UserFactory(username="both")
    RoleAssignmentFactory(user=user, role=Role.GRID_WORKER, area=tree.grids[0])
    RoleAssignmentFactory(user=user, role=Role.COMMUNITY_STAFF, area=tree.communities[0])
    assert scope_paths(user, Cap.REGISTRY_VIEW) == [tree.communities[0].path]


def test_superuser_and_inactive_users(tree):
    boss = UserFactory(username="root", is_superuser=True)
    assert scope_paths(boss, Cap.AUDIT_VIEW) == ["/"]
    gone = UserFactory(username="gone", is_active=False)
    RoleAssignmentFactory(user=gone, role=Role.ADMIN, area=tree.district)
    assert scope_paths(gone, Cap.REGISTRY_VIEW) == []


def test_scope_cache_can_be_forgotten(tree):
    user = UserFactory(username="later")
    assert scope_paths(user, Cap.REGISTRY_VIEW) == []
    RoleAssignmentFactory(user=user, role=Role.GRID_WORKER, area=tree.grids[2])
    assert scope_paths(user, Cap.REGISTRY_VIEW) == []  # cached for the request
    forget_cached_scopes(user)
    assert scope_paths(user, Cap.REGISTRY_VIEW) == [tree.grids[2].path]


def test_a_role_needs_exactly_one_scope(tree):
    from django.db import IntegrityError, transaction

    user = UserFactory(username="noscope")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignmentFactory(user=user, role=Role.GRID_WORKER)
