"""Shared fixtures: a small district tree with square grids, and a persona per role.

The tree (lon 120.0–120.4, lat 35.8–36.0):

    370211 district
    ├── 370211001 street A (lon 120.0–120.2)
    │   ├── 370211001001 community A1 (lat 35.8–35.9) → grids …001, …002 (split at lon 120.1)
    │   └── 370211001002 community A2 (lat 35.9–36.0) → grids …001, …002
    └── 370211002 street B (lon 120.2–120.4), same shape
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from pytest_django.plugin import blocking_manager_key

from gridlink.accounts.roles import Role
from gridlink.geo.locator import locator
from gridlink.geo.models import Area, AreaKind, GridType, Level
from gridlink.geo.services import geo_revision_bump
from tests.factories import (
    AreaFactory,
    DepartmentFactory,
    RoleAssignmentFactory,
    UserFactory,
    square,
)
from tests.reference_data import ensure_reference_data, is_transactional


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> Iterator[None]:
    """pytest-django's test databases, plus the reference data every test may rely on.

    The shipped taxonomy (published) and the 2026 working calendar are loaded once per test
    database here, committed, so each test's rolled-back transaction starts from them.
    """
    with django_db_blocker.unblock():
        ensure_reference_data()
    yield


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request) -> None:
    """A transactional test (live servers, real processes) starts from the reference data
    too (a no-op when it is there, as `pytest_runtest_teardown` below puts it back)."""
    if is_transactional(request):
        request.getfixturevalue("transactional_db")
        ensure_reference_data()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A transactional test's flush empties every table when it ends: put the reference data
    back at once, so whatever test runs next in this process starts from it — in any file
    and any order (pytest-xdist runs a file's tests together, so a worker may run ordinary
    tests after a transactional one)."""
    yield
    # After the last test the test databases are gone (and the connection names the real one).
    if nextitem is not None and is_transactional(item):
        with item.config.stash[blocking_manager_key].unblock():
            ensure_reference_data()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashers cost ~0.3 s a password by design; tests only need them to round-trip."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@contextlib.contextmanager
def module_data(django_db_blocker: Any, **overrides: Any) -> Iterator[None]:
    """Data built once for a whole module of tests that only read it (or write and roll back).

    One transaction is opened around the module and rolled back at its end; each test's own
    transaction (the `db` fixture) is a savepoint inside it, so what a test writes is undone
    after it, and what the module built stays for the next test. Not for transactional tests.
    `overrides` are settings for the building (fast hashing always).
    """
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS, **overrides),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def no_reference_taxonomy(db) -> None:
    """For tests of taxonomy loading itself: the test starts with no taxonomy at all (the
    deletion is rolled back with the test)."""
    from gridlink.cases.models import TaxonomyVersion

    TaxonomyVersion.objects.all().delete()


@pytest.fixture
def no_reference_calendar(db) -> None:
    """For tests of the calendar itself: the test starts with no calendar days."""
    from gridlink.core.models import CalendarDay

    CalendarDay.objects.all().delete()


@dataclass
class Tree:
    district: Area
    streets: list[Area] = field(default_factory=list)
    communities: list[Area] = field(default_factory=list)
    grids: list[Area] = field(default_factory=list)

    def area(self, code: str) -> Area:
        return Area.objects.get(code=code)


def build_tree() -> Tree:
    district = AreaFactory(
        code="370211",
        level=Level.DISTRICT,
        kind=AreaKind.DISTRICT,
        name_zh="黄岛区",
        name_en="Huangdao District",
        geometry=square(120.0, 35.8, 120.4, 36.0),
    )
    tree = Tree(district=district)
    for s in range(2):
        lon0 = 120.0 + 0.2 * s
        street = AreaFactory(
            code=f"370211{s + 1:03d}",
            level=Level.STREET,
            kind=AreaKind.STREET,
            parent=district,
            name_zh=f"街道{'AB'[s]}",
            geometry=square(lon0, 35.8, lon0 + 0.2, 36.0),
        )
        tree.streets.append(street)
        for c in range(2):
            lat0 = 35.8 + 0.1 * c
            community = AreaFactory(
                code=f"{street.code}{c + 1:03d}",
                level=Level.COMMUNITY,
                kind=AreaKind.COMMUNITY,
                parent=street,
                name_zh=f"社区{'AB'[s]}{c + 1}",
                geometry=square(lon0, lat0, lon0 + 0.2, lat0 + 0.1),
            )
            tree.communities.append(community)
            for g in range(2):
                glon0 = lon0 + 0.1 * g
                tree.grids.append(
                    AreaFactory(
                        code=f"{community.code}{g + 1:03d}",
                        level=Level.GRID,
                        kind=AreaKind.GRID,
                        parent=community,
                        name_zh=f"{community.name_zh}第{g + 1}网格",
                        grid_type=GridType.URBAN,
                        geometry=square(glon0, lat0, glon0 + 0.1, lat0 + 0.1),
                    )
                )
    geo_revision_bump()
    locator.invalidate()
    return tree


@pytest.fixture
def tree(db) -> Tree:
    return build_tree()


@dataclass
class Personas:
    admin: object
    grid_worker: object  # grid A1-1 only
    community_staff: object  # community A1
    dispatcher: object  # street A
    dept_handler: object  # department serving street B
    supervisor: object  # whole district
    resident: object
    department: object


@pytest.fixture
def personas(tree: Tree) -> Personas:
    return build_personas(tree)


def build_personas(tree: Tree) -> Personas:
    """One user per role over the small tree (the `personas` fixture; module-scoped worlds
    call it directly)."""

    def person(username: str, role: str, **scope) -> object:
        user = UserFactory(username=username)
        RoleAssignmentFactory(user=user, role=role, **scope)
        return user

    department = DepartmentFactory(code="CG-B", name_zh="城管B中队")
    department.areas.add(tree.streets[1])
    return Personas(
        admin=person("admin1", Role.ADMIN, area=tree.district),
        grid_worker=person("grid1", Role.GRID_WORKER, area=tree.grids[0]),
        community_staff=person("comm1", Role.COMMUNITY_STAFF, area=tree.communities[0]),
        dispatcher=person("disp1", Role.DISPATCHER, area=tree.streets[0]),
        dept_handler=person("dept1", Role.DEPT_HANDLER, department=department),
        supervisor=person("sup1", Role.SUPERVISOR, area=tree.district),
        resident=person("res1", Role.RESIDENT, area=tree.grids[0]),
        department=department,
    )


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the figures tests recorded (`record_property("figures", text)`, e.g. the crash
    test's acknowledged / found / duplicated / lost) at the end of the run, whether the test
    passed or failed and also when it ran in a parallel worker."""
    figures = [
        (report.nodeid, value)
        for key in ("passed", "failed")
        for report in terminalreporter.stats.get(key, [])
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "figures"
    ]
    if figures:
        terminalreporter.section("figures")
        for nodeid, text in figures:
            terminalreporter.write_line(f"{nodeid}: {text}")
