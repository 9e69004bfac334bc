"""Query-count guards: no list endpoint or list page runs more queries for more rows.

Each guard loads the list with a few rows, adds many more, loads it again and compares the
number of queries (django's CaptureQueriesContext). A list that fetched a related row per
row (an N+1) would grow by one query or more per added row; the bound allows none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridlink.cases.models import Case
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.workflow_table import State
from gridlink.geo.models import AreaKind, GridType, Level
from gridlink.open311.selectors import PUBLIC_CHANNELS
from gridlink.supervision.services import order_open
from tests.cases_support import A11, CATEGORY, build_world
from tests.factories import (
    AreaFactory,
    BuildingFactory,
    DepartmentFactory,
    HouseholdFactory,
    OrganisationFactory,
    ResidentFactory,
    square,
)

FEW, MANY = 3, 30
DESCRIPTION = "小区门口垃圾堆放无人清理"


def _queries(client: Any, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:400])
    return len(captured), response


def _flat(client: Any, url: str, add: Callable[[int], None]) -> Any:
    """Queries for `url` with FEW rows equal those with MANY rows; the last response."""
    add(FEW)
    few, _ = _queries(client, url)
    add(MANY - FEW)
    many, response = _queries(client, url)
    assert many == few, f"{url}: {few} queries with {FEW} rows, {many} with {MANY}"
    return response


def _rows_shown(response: Any) -> int:
    """How many rows the list shows: a JSON page's items, or a page's case descriptions."""
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        rows = (
            body
            if isinstance(body, list)
            else next(v for v in body.values() if isinstance(v, list))
        )
        return len(rows)
    return response.content.decode().count(DESCRIPTION)


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def _cases(world: Any) -> Callable[[int], None]:
    def add(n: int) -> None:
        for i in range(n):
            case_create(
                actor=world.personas.grid_worker,
                report=Report(
                    channel="grid_patrol",
                    category_code=CATEGORY,
                    description=f"{DESCRIPTION} {i}",
                    **A11,
                ),
            )

    return add


# --- Cases: API and pages -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "url"),
    [
        ("district_disp", "/api/v1/cases"),
        ("district_disp", "/cases/"),
        ("district_disp", "/cases/board/"),
        ("grid_worker", "/cases/patrol/"),
        ("h_UM", "/cases/inbox/"),
        ("supervisor", "/api/v1/supervision/orders"),
        (None, "/open311/v2/requests.json"),
    ],
)
def test_case_lists_do_not_grow_with_cases(world, viewer, url):
    add_cases = _cases(world)
    if viewer is None:  # the public Open311 list: cases residents reported

        def add_public(n: int) -> None:
            add_cases(n)
            Case.objects.update(channel=sorted(PUBLIC_CHANNELS)[0])

        assert _rows_shown(_flat(Client(), url, add_public)) >= FEW
        return
    if url == "/cases/inbox/":

        def add(n: int) -> None:  # the unit's inbox lists cases dispatched to it
            add_cases(n)
            Case.objects.filter(state=State.REPORTED).update(
                state=State.DISPATCHED, level="department", unit_department=world.departments["UM"]
            )

        assert _rows_shown(_flat(world.client(viewer), url, add)) >= FEW
        return
    if "supervision" in url:

        def add(n: int) -> None:
            add_cases(n)
            for case in Case.objects.filter(supervised=False)[:n]:
                order_open(
                    actor=world.personas.supervisor,
                    case=case,
                    instructions="请尽快处理",
                    deadline_days=3,
                )

        assert _rows_shown(_flat(world.client(viewer), url, add)) >= FEW
        return
    assert _rows_shown(_flat(world.client(viewer), url, add_cases)) >= FEW


# --- Registry: API and pages --------------------------------------------------------------


def _registry_rows(kind: str, tree: Any) -> Callable[[int], None]:
    grids = tree.grids

    def add(n: int) -> None:
        for i in range(n):
            grid = grids[i % 2]  # inside street A, both grids of community A1
            if kind == "residents":
                household = HouseholdFactory(grid=grid)
                ResidentFactory(grid=grid, household=household)
            elif kind == "buildings":
                BuildingFactory(grid=grid)
            elif kind == "households":
                HouseholdFactory(grid=grid, building=BuildingFactory(grid=grid))
            else:
                OrganisationFactory(grid=grid, building=BuildingFactory(grid=grid))

    return add


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("residents", "/api/v1/registry/residents"),
        ("buildings", "/api/v1/registry/buildings"),
        ("households", "/api/v1/registry/households"),
        ("organisations", "/api/v1/registry/organisations"),
        ("residents", "/registry/residents/"),
        ("buildings", "/registry/buildings/"),
        ("organisations", "/registry/organisations/"),
    ],
)
def test_registry_lists_do_not_grow_with_rows(client, personas, tree, kind, url):
    client.force_login(personas.supervisor)
    _flat(client, url, _registry_rows(kind, tree))


# --- Geography ----------------------------------------------------------------------------


def test_department_list_does_not_grow_with_departments(client, personas, tree):
    client.force_login(personas.supervisor)

    def add(n: int) -> None:
        for _ in range(n):
            department = DepartmentFactory()
            department.areas.add(tree.streets[0], tree.streets[1])

    _flat(client, "/api/v1/departments", add)


def test_area_lists_do_not_grow_with_areas(client, personas, tree):
    client.force_login(personas.supervisor)
    community = tree.communities[0]
    made = [0]

    def add(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            AreaFactory(
                code=f"{community.code}{100 + made[0]:03d}",
                level=Level.GRID,
                kind=AreaKind.GRID,
                parent=community,
                name_zh=f"新网格{made[0]}",
                grid_type=GridType.URBAN,
                geometry=square(120.0, 35.8, 120.01, 35.81),
            )

    for url in ("/api/v1/areas", "/api/v1/areas/tree", f"/areas/{community.code}/"):
        _flat(client, url, add)
