"""Query-count guards: no list endpoint or list page runs more queries for more rows.

Each guard loads the list with a few rows, adds many more, loads it again and compares the
number of queries (django's CaptureQueriesContext). A list that fetched a related row per
row (an N+1) would grow by one query or more per added row; the bound allows none.

The last test reads the OpenAPI document: every GET operation is either guarded here
(`GUARDED` names the test) or returns one record (`NOT_LISTS`), so a new list endpoint
without a guard fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridlink.accounts.roles import Role
from gridlink.assessment.schemes import (
    URBAN_CODE,
    DeductionSpec,
    ItemSpec,
    scheme_create,
    schemes_ensure_defaults,
)
from gridlink.cases.models import Case, CaseEvent
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.workflow_table import State
from gridlink.geo.models import AreaKind, GridType, Level
from gridlink.open311.selectors import PUBLIC_CHANNELS
from gridlink.outbox.services import endpoint_create
from gridlink.supervision.services import order_open
from tests.cases_support import A11, CATEGORY, build_world
from tests.factories import (
    AreaFactory,
    BuildingFactory,
    DepartmentFactory,
    HouseholdFactory,
    OrganisationFactory,
    ResidentFactory,
    RoleAssignmentFactory,
    UserFactory,
    square,
)

FEW, MANY = 2, 10  # an N+1 adds a query or more for each of the 8 added rows
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


# --- Cases: merge candidates and Open311 updates ------------------------------------------


def test_duplicate_candidates_do_not_grow_with_cases(world):
    add_cases = _cases(world)
    add_cases(1)
    anchor = Case.objects.get()

    def add(n: int) -> None:  # newer reports are offered only once dispatched
        add_cases(n)
        Case.objects.exclude(pk=anchor.pk).filter(state=State.REPORTED).update(
            state=State.DISPATCHED, level="department", unit_department=world.departments["UM"]
        )

    url = f"/api/v1/cases/{anchor.pk}/duplicates"
    assert _rows_shown(_flat(world.client("district_disp"), url, add)) >= FEW


def test_open311_updates_do_not_grow_with_cases(world):
    add_cases = _cases(world)

    def add_public(n: int) -> None:
        add_cases(n)
        Case.objects.update(channel=sorted(PUBLIC_CHANNELS)[0])

    response = _flat(Client(), "/open311/v2/servicerequestupdates.json", add_public)
    assert _rows_shown(response) >= FEW


# --- Assessment: API and pages ------------------------------------------------------------

DISTRICT = "area:370211"


def _this_month() -> str:
    return timezone.localdate().strftime("%Y-%m")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/assessment/indicators/reports/cases?unit={unit}&period={period}",
        "/api/v1/assessment/indicators?unit={unit}&period={period}",
        "/api/v1/assessment/scorecards?scheme={scheme}&period={period}",
        "/api/v1/assessment/scorecards?scheme={scheme}&period={period}&level=grid",
        "/assessment/{unit}/?period={period}",
        "/assessment/{unit}/indicator/reports/?period={period}",
        "/assessment/scorecards/?scheme={scheme}&period={period}",
    ],
)
def test_assessment_lists_do_not_grow_with_cases(world, path):
    schemes_ensure_defaults()
    url = path.format(unit=DISTRICT, period=_this_month(), scheme=URBAN_CODE)
    response = _flat(world.client("supervisor"), url, _cases(world))
    if "/reports/cases" in url:  # the drill-down lists the cases behind the indicator
        assert _rows_shown(response) >= FEW
    if "/scorecards?" in url:  # one row per street, or per grid with level=grid
        assert _rows_shown(response) == (8 if "level=grid" in url else 2)
    if "/indicators?" in url:
        assert _rows_shown(response) > 1
        assert any(
            i["key"] == "reports" and i["value"] >= MANY for i in response.json()["indicators"]
        )
    if "/indicator/reports/" in url:
        assert response.content.decode().count(f"{DESCRIPTION} ") >= FEW


def test_assessment_index_does_not_grow_with_cases(world):
    client = world.client("supervisor")

    def add(n: int) -> None:
        _cases(world)(n)

    add(FEW)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/assessment/").status_code == 302
    add(MANY - FEW)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/assessment/").status_code == 302
    assert len(many) == len(few)


def test_scheme_list_does_not_grow_with_schemes(world):
    made = [0]

    def add(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            scheme_create(
                actor=world.personas.supervisor,
                code=f"guard-{made[0]}",
                name_zh=f"考核方案{made[0]}",
                unit_level="street",
                items=[
                    ItemSpec("filing_rate", 60, 90, "threshold", None),
                    ItemSpec("closing_rate", 40, 90, "threshold", None),
                ],
                deductions=[DeductionSpec("rework", 0.2, None)],
            )

    assert _rows_shown(_flat(world.client("supervisor"), "/api/v1/assessment/schemes", add)) >= FEW


# --- Configuration: accounts and webhooks -------------------------------------------------


@pytest.fixture
def root(db) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


def test_user_list_does_not_grow_with_users(root, tree):
    def add(n: int) -> None:
        for _ in range(n):
            user = UserFactory()
            RoleAssignmentFactory(user=user, role=Role.GRID_WORKER, area=tree.grids[0])
            RoleAssignmentFactory(user=user, role=Role.DEPT_HANDLER, department=DepartmentFactory())

    assert _rows_shown(_flat(root, "/api/v1/admin/users", add)) >= MANY


def test_webhook_list_does_not_grow_with_endpoints(root):
    made = [0]

    def add(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            endpoint_create(
                actor=None, url=f"https://hooks.example.org/{made[0]}", topics=["case.*"]
            )

    assert _rows_shown(_flat(root, "/api/v1/admin/webhooks", add)) >= MANY


# --- Taxonomy (reference data: the row count is chosen with the filter) --------------------


def test_category_list_does_not_grow_with_categories(world):
    client = world.client("district_disp")
    few, narrow = _queries(client, f"/api/v1/taxonomy/categories?q={CATEGORY}")
    many, wide = _queries(client, "/api/v1/taxonomy/categories")
    assert 1 <= len(narrow.json()) < FEW and len(wide.json()) >= MANY
    assert many == few, (
        f"{few} queries for {len(narrow.json())} rows, {many} for {len(wide.json())}"
    )


def test_taxonomy_tree_is_a_fixed_number_of_queries(world):
    """The whole tree (every major class with its sub-classes): a prefetch, not a query per
    class; the same count as the flat list of every sub-class."""
    client = world.client("district_disp")
    flat, _ = _queries(client, "/api/v1/taxonomy/categories")
    tree, response = _queries(client, "/api/v1/taxonomy")
    classes = response.json()["classes"]
    assert len(classes) >= FEW and sum(len(c["subclasses"]) for c in classes) >= MANY
    assert tree <= flat + 1, f"{tree} queries for {len(classes)} classes"


def test_open311_services_are_a_fixed_number_of_queries(world):
    """Every sub-class as an Open311 service: as few queries as the flat category list."""
    flat, _ = _queries(world.client("district_disp"), "/api/v1/taxonomy/categories")
    services, response = _queries(Client(), "/open311/v2/services.json")
    assert len(response.json()) >= MANY
    assert services <= flat + 1, f"{services} queries for {len(response.json())} services"


def test_bulletin_does_not_grow_with_cases(world):
    schemes_ensure_defaults()
    url = f"/api/v1/assessment/bulletins?scheme={URBAN_CODE}&period={_this_month()}"
    response = _flat(world.client("supervisor"), url, _cases(world))
    assert response["Content-Type"].startswith("text/html")


# --- Every list of the OpenAPI document is guarded ----------------------------------------

GUARDED = {  # each operation that returns rows, and the test above that guards it
    "/api/v1/areas": "test_area_lists_do_not_grow_with_areas",
    "/api/v1/areas/tree": "test_area_lists_do_not_grow_with_areas",
    "/api/v1/departments": "test_department_list_does_not_grow_with_departments",
    "/api/v1/registry/residents": "test_registry_lists_do_not_grow_with_rows",
    "/api/v1/registry/organisations": "test_registry_lists_do_not_grow_with_rows",
    "/api/v1/registry/buildings": "test_registry_lists_do_not_grow_with_rows",
    "/api/v1/registry/households": "test_registry_lists_do_not_grow_with_rows",
    "/api/v1/taxonomy": "test_taxonomy_tree_is_a_fixed_number_of_queries",
    "/api/v1/taxonomy/categories": "test_category_list_does_not_grow_with_categories",
    "/api/v1/cases": "test_case_lists_do_not_grow_with_cases",
    "/api/v1/cases/{case_id}/duplicates": "test_duplicate_candidates_do_not_grow_with_cases",
    "/api/v1/cases/{case_id}": "test_case_detail_does_not_grow_with_its_events",
    "/api/v1/track/{code}": "test_case_detail_does_not_grow_with_its_events",
    "/api/v1/supervision/orders": "test_case_lists_do_not_grow_with_cases",
    "/api/v1/assessment/indicators": "test_assessment_lists_do_not_grow_with_cases",
    "/api/v1/assessment/indicators/{key}/cases": "test_assessment_lists_do_not_grow_with_cases",
    "/api/v1/assessment/schemes": "test_scheme_list_does_not_grow_with_schemes",
    "/api/v1/assessment/scorecards": "test_assessment_lists_do_not_grow_with_cases",
    "/api/v1/assessment/bulletins": "test_bulletin_does_not_grow_with_cases",
    "/api/v1/admin/users": "test_user_list_does_not_grow_with_users",
    "/api/v1/admin/webhooks": "test_webhook_list_does_not_grow_with_endpoints",
}
NOT_LISTS = {  # one record, or a fixed list that reads no rows
    "/api/v1/areas/locate",
    "/api/v1/areas/{code}",
    "/api/v1/registry/residents/{resident_id}",
    "/api/v1/registry/organisations/{org_id}",
    "/api/v1/registry/buildings/{building_id}",
    "/api/v1/registry/households/{household_id}",
    "/api/v1/taxonomy/categories/{code}",
    "/api/v1/routing/preview",
    "/api/v1/photos/{key}",
    "/api/v1/supervision/orders/{order_id}",
    "/api/v1/assessment/indicators/definitions",  # the indicator table in code, no query
    "/api/v1/assessment/schemes/{code}",
    "/api/v1/admin/users/{username}",
}


def test_every_get_operation_of_the_openapi_document_is_guarded_or_not_a_list(client):
    document = client.get("/api/v1/openapi.json").json()
    reads = {path for path, operations in document["paths"].items() if "get" in operations}
    assert reads - GUARDED.keys() - NOT_LISTS == set(), "a new list without a query-count guard"
    assert (GUARDED.keys() | NOT_LISTS) - reads == set(), "a guarded list left the document"
    assert set(GUARDED.values()) <= set(globals()), "a guard named here does not exist"


# --- One case: its timeline grows ---------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/cases/{pk}", "/cases/{pk}/", "/api/v1/track/{code}", "/track/{code}/"]
)
def test_case_detail_does_not_grow_with_its_events(world, url):
    _cases(world)(1)
    case = Case.objects.get()

    def add(n: int) -> None:  # events by different people, as a long-running case has
        for i in range(n):
            actor = UserFactory()
            RoleAssignmentFactory(user=actor, role=Role.DISPATCHER, area=world.tree.streets[0])
            CaseEvent.objects.create(
                case=case,
                public=True,
                kind="note",
                actor=actor,
                actor_role=Role.DISPATCHER,
                from_state=case.state,
                to_state=case.state,
                reason=f"{DESCRIPTION} 备注{i}",
            )

    if "{code}" in url:  # the reporter's view: the public timeline
        response = _flat(Client(), url.format(code=case.tracking_code), add)
        assert case.tracking_code in response.content.decode()
        if url.startswith("/api/"):
            assert len(response.json()["timeline"]) > MANY
        return
    response = _flat(world.client("district_disp"), url.format(pk=case.pk), add)
    assert response.content.decode().count("备注") >= MANY


# --- Configuration: routing rules, taxonomy versions, calendar days -------------------------


def test_routing_rule_list_does_not_grow_with_rules(root, personas):
    from gridlink.cases.models import RoutingRule

    def add(n: int) -> None:
        for i in range(n):
            RoutingRule.objects.create(
                category_code="E0102",
                area=personas.dispatcher.role_assignments.get().area,
                level="district_department",
                unit_department=personas.department,
                priority=i,
            )

    assert _rows_shown(_flat(root, "/api/v1/admin/routing/rules?limit=500", add)) >= MANY


def test_routing_check_does_not_grow_with_rules(root, personas, tree):
    """The check routes every category × grid in memory: more rules, no more queries."""
    from gridlink.cases.models import RoutingRule

    def add(n: int) -> None:
        for i in range(n):
            RoutingRule.objects.create(
                area=tree.grids[i % len(tree.grids)],
                level="district_department",
                unit_department=DepartmentFactory(),
                priority=i,
            )

    response = _flat(root, "/api/v1/admin/routing/check", add)
    assert len(response.json()["unstaffed"]) >= len(tree.grids)


def test_taxonomy_version_list_does_not_grow_with_versions(root):
    from gridlink.cases.models import TaxonomyVersion

    made = [0]

    def add(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            TaxonomyVersion.objects.create(code=f"2098.{made[0]}", name=f"草稿 {made[0]}")

    assert _rows_shown(_flat(root, "/api/v1/admin/taxonomy/versions", add)) >= MANY


def test_taxonomy_version_detail_is_a_fixed_number_of_queries(root, world):
    """A version's whole tree: a prefetch, as the public tree (`/api/v1/taxonomy`)."""
    from gridlink.cases.selectors import taxonomy_current

    version = taxonomy_current()
    assert version is not None
    flat, _ = _queries(world.client("district_disp"), "/api/v1/taxonomy")
    detail, response = _queries(root, f"/api/v1/admin/taxonomy/versions/{version.code}")
    classes = response.json()["classes"]
    assert len(classes) >= FEW and sum(len(c["subclasses"]) for c in classes) >= MANY
    assert detail <= flat + 3, f"{detail} queries for {len(classes)} classes (tree: {flat})"


def test_calendar_year_does_not_grow_with_days(root):
    import datetime as dt

    from gridlink.core.models import CalendarDay

    made = [0]

    def add(n: int) -> None:
        for _ in range(n):
            made[0] += 1
            CalendarDay.objects.create(
                date=dt.date(2033, 1, 1) + dt.timedelta(days=made[0]),
                kind="holiday",
                name_zh="测试",
            )

    assert _rows_shown(_flat(root, "/api/v1/admin/calendar/days?year=2033", add)) >= MANY


GUARDED.update(
    {
        "/api/v1/admin/routing/rules": "test_routing_rule_list_does_not_grow_with_rules",
        "/api/v1/admin/routing/check": "test_routing_check_does_not_grow_with_rules",
        "/api/v1/admin/taxonomy/versions": "test_taxonomy_version_list_does_not_grow_with_versions",
        "/api/v1/admin/taxonomy/versions/{code}": (
            "test_taxonomy_version_detail_is_a_fixed_number_of_queries"
        ),
        "/api/v1/admin/calendar/days": "test_calendar_year_does_not_grow_with_days",
    }
)
NOT_LISTS.add("/api/v1/admin/routing/rules/{rule_id}")
