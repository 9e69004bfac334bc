"""The demo district: a deterministic plan, valid identifiers, exact tiling, and seeding."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from io import StringIO

import pytest
import shapely
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import shape

from gridlink.accounts.models import RoleAssignment, User
from gridlink.accounts.roles import Role
from gridlink.core.models import AuditEvent
from gridlink.core.validators import (
    birth_date_from_id,
    sex_from_id,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from gridlink.demo.plan import DEMO_LOGINS, DEMO_PASSWORD, build_plan
from gridlink.geo.geometry import geometry_error
from gridlink.geo.locator import locator
from gridlink.geo.models import Area, AreaKind, Department, DepartmentKind, GeoRevision, Level
from gridlink.registry.models import (
    Building,
    GridAssignment,
    Household,
    Organisation,
    OrganisationKind,
    Resident,
    Tag,
)
from tests.conftest import module_data

CREDIT_CODE_AUTHORITY = {
    OrganisationKind.ENTERPRISE: "9",
    OrganisationKind.SHOP: "9",
    OrganisationKind.SOCIAL_ORG: "5",
    OrganisationKind.GOVERNMENT: "1",
    OrganisationKind.PUBLIC_INSTITUTION: "1",
}


@pytest.fixture(scope="module")
def seeded_district(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The small demo district, seeded once for the module's tests (each test's own writes
    are rolled back after it). Tests that need an empty database come before the first test
    that uses it: the district stays until the module ends."""
    with module_data(django_db_blocker):
        out = StringIO()
        call_command("seed_demo", "--scale", "small", "--seed", "1", stdout=out, verbosity=0)
        yield out.getvalue()


@pytest.fixture
def seeded(seeded_district: str, db) -> str:
    """The seeded district, inside the test's own (rolled back) transaction."""
    return seeded_district


def row_counts() -> dict[str, int]:
    models = (Area, Department, Tag, User, RoleAssignment, GridAssignment, Building, Household)
    counts = {m.__name__: m.objects.count() for m in models}
    counts |= {m.__name__: m.objects.count() for m in (Resident, Organisation, AuditEvent)}
    return counts


def assert_tiles(areas: list[tuple[str, int, str | None, object]]) -> None:
    """(code, level, parent code, geometry) rows: grids tile the district, children nest."""
    geoms = {code: geom for code, _, _, geom in areas}
    grids = [geom for _, level, _, geom in areas if level == Level.GRID]
    district = next(geom for _, level, _, geom in areas if level == Level.DISTRICT)
    assert sum(g.area for g in grids) == pytest.approx(district.area, rel=1e-6)

    tree = shapely.STRtree(grids)
    left, right = tree.query(grids, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(
        shapely.intersection(tree.geometries[left[pairs]], tree.geometries[right[pairs]])
    )
    assert pairs.sum() > len(grids)  # neighbours touch …
    assert overlap.max() < 1e-12  # … but never overlap (1e-12 deg² ≈ 0.01 m²)

    for code, level, parent, geom in areas:
        if parent is not None:
            assert geom.within(geoms[parent]), f"{code} sticks out of {parent}"
            assert code.startswith(parent) and len(code) == len(parent) + 3
        else:
            assert level == Level.DISTRICT and code == "370211"


# --- The plan (no database) -------------------------------------------------------------


def test_plan_is_deterministic_per_seed():
    first, again, other = (build_plan(scale="small", seed=s) for s in (1, 1, 2))
    people = [
        [r for p in plan.populations() for r in p.residents] for plan in (first, again, other)
    ]
    orgs = [[o for p in plan.populations() for o in p.organisations] for plan in (first, again)]

    assert first.areas == again.areas  # codes, names, kinds (shapes compared below)
    assert all(a.geojson == b.geojson for a, b in zip(first.areas, again.areas, strict=True))
    assert first.users == again.users
    assert people[0] == people[1]  # names, ID numbers, birth dates, phones, tags
    assert [o.credit_code for o in orgs[0]] == [o.credit_code for o in orgs[1]]

    assert {r.name for r in people[0]} != {r.name for r in people[2]}
    assert not {r.id_number for r in people[0]} & {r.id_number for r in people[2]}
    assert [a.name_zh for a in first.areas] != [a.name_zh for a in other.areas]


def test_district_plan_has_the_west_coast_shape_and_tiles():
    plan = build_plan(scale="district", seed=1, people=False)
    streets = plan.by_level(Level.STREET)
    communities = plan.by_level(Level.COMMUNITY)
    grids = plan.by_level(Level.GRID)

    assert len(streets) == 27
    assert Counter(s.kind for s in streets) == {AreaKind.STREET: 16, AreaKind.TOWN: 11}
    assert {"黄岛街道", "薛家岛街道", "长江路街道", "王台镇", "泊里镇", "琅琊镇"} <= {
        s.name_zh for s in streets
    }
    assert 1_100 <= len(communities) <= 1_300
    assert 1_450 <= len(grids) <= 1_650
    assert len({c.name_zh for c in communities}) == len(communities)
    villages = [c for c in communities if c.kind == AreaKind.VILLAGE]
    assert villages and all(c.parent_code[6] == "1" for c in villages)  # villages are in towns
    assert all(c.name_zh.endswith("村") for c in villages)
    assert list(plan.populations()) == []  # planned without people

    minx, miny, maxx, maxy = plan.by_level(Level.DISTRICT)[0].shape.bounds
    assert 119.55 <= minx < maxx <= 120.4 and 35.5 <= miny < maxy <= 36.2
    assert all(geometry_error(a.geojson) is None for a in plan.areas)
    assert_tiles([(a.code, a.level, a.parent_code, a.shape) for a in plan.areas])


# --- An empty database (before the seeded tests: the seeded district stays for the module) --


def test_seed_refuses_a_clashing_username(db):
    User.objects.create_user(username="admin", password="x-something-long")
    with pytest.raises(CommandError, match="users named admin"):
        call_command("seed_demo", "--scale", "small", stdout=StringIO(), verbosity=0)
    assert not Area.objects.exists()


@pytest.mark.parametrize(
    "args",
    [["--scale", "huge"], ["--seed", "-1"], ["--seed", "one"], ["--batch-size", "0"]],
)
def test_bad_arguments_are_command_errors(db, args):
    with pytest.raises(CommandError):
        call_command("seed_demo", *args, stdout=StringIO(), verbosity=0)
    assert not Area.objects.exists()


def test_demo_logins_on_an_empty_database(db):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "No demo users" in out.getvalue()


# --- Seeding through the command --------------------------------------------------------


def test_small_seed_writes_the_plan(seeded):
    plan = build_plan(scale="small", seed=1)
    populations = list(plan.populations())

    assert "Seeded the small demo district (seed 1)" in seeded
    assert list(Area.objects.values_list("code", flat=True)) == sorted(a.code for a in plan.areas)
    assert sorted(Resident.objects.values_list("id_number", flat=True)) == sorted(
        r.id_number for p in populations for r in p.residents
    )
    assert sorted(Organisation.objects.values_list("credit_code", flat=True)) == sorted(
        o.credit_code for p in populations for o in p.organisations
    )
    grid = Area.objects.get(code=plan.by_level(Level.GRID)[0].code)
    assert grid.geometry == plan.by_level(Level.GRID)[0].geojson  # JSON round trip is exact

    assert Area.objects.filter(level=Level.STREET).count() == 3
    assert 8 <= Area.objects.filter(level=Level.COMMUNITY).count() <= 14
    assert 20 <= Area.objects.filter(level=Level.GRID).count() <= 40
    assert 150 <= Building.objects.count() <= 500
    assert 700 <= Household.objects.count() <= 1_500
    assert 1_800 <= Resident.objects.count() <= 4_500
    assert 60 <= Organisation.objects.count() <= 150

    for area in Area.objects.select_related("parent"):
        assert area.valid_from.isoformat() == "2020-01-01"
        parent_path = area.parent.path if area.parent else "/"
        assert area.path == f"{parent_path}{area.pk}/"
    district = Area.objects.get(level=Level.DISTRICT)
    assert district.households == Household.objects.count()
    assert district.residents == Resident.objects.count()
    for grid in Area.objects.filter(level=Level.GRID):
        assert grid.residents == Resident.objects.filter(grid=grid).count() > 0
        assert grid.households == Household.objects.filter(grid=grid).count()

    event = AuditEvent.objects.get(action="demo.seeded")
    assert event.actor_id is None
    assert event.data["counts"]["residents"] == Resident.objects.count()
    assert GeoRevision.objects.get(pk=1).revision >= 1


def test_identifiers_are_valid(seeded):
    residents = list(Resident.objects.all())
    for r in residents:
        validate_id_number(r.id_number)
        assert sex_from_id(r.id_number) == r.sex
        assert birth_date_from_id(r.id_number) == r.birth_date
        if r.phone:
            validate_mobile(r.phone)
    assert Counter(r.sex for r in residents).keys() == {"M", "F"}
    assert sum(r.id_number.startswith("370211") for r in residents) > len(residents) / 2
    assert sum(bool(r.phone) for r in residents) > len(residents) * 0.7

    heads = Counter(
        Resident.objects.filter(relation_to_head="户主").values_list("household", flat=True)
    )
    assert set(heads.values()) == {1}
    assert len(heads) == Household.objects.count()

    for org in Organisation.objects.all():
        validate_credit_code(org.credit_code)
        validate_mobile(org.contact_phone)
        assert org.credit_code[2:8] == "370211"
        if org.kind in CREDIT_CODE_AUTHORITY:
            assert org.credit_code[0] == CREDIT_CODE_AUTHORITY[org.kind], org
    with pytest.raises(ValidationError):  # the validators do reject a broken code
        validate_credit_code(org.credit_code[:-1] + ("0" if org.credit_code[-1] != "0" else "1"))


def test_every_role_has_a_demo_user(seeded):
    for role in Role:
        assert RoleAssignment.objects.filter(role=role).exists(), role
    for role, username in DEMO_LOGINS:
        assert RoleAssignment.objects.filter(user__username=username, role=role).exists()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="resident1").check_password(DEMO_PASSWORD)
    assert not User.objects.get(username="resident1").is_staff

    dept = Department.objects.get(code="CG")
    assert RoleAssignment.objects.filter(user__username="dept_cg", department=dept).exists()
    for grid in Area.objects.filter(level=Level.GRID):
        worker = GridAssignment.objects.get(grid=grid).user
        assert RoleAssignment.objects.filter(user=worker, role=Role.GRID_WORKER, area=grid)
    assert GridAssignment.objects.get(user__username="grid001").grid.code.endswith("001001001")


def test_departments_and_tags(seeded):
    district = Area.objects.get(level=Level.DISTRICT)
    centre = Department.objects.get(kind=DepartmentKind.COMMAND_CENTRE)
    assert list(centre.areas.all()) == [district]
    for street in Area.objects.filter(level=Level.STREET):
        office = Department.objects.get(kind=DepartmentKind.STREET_OFFICE, areas=street)
        squad = Department.objects.get(code=f"{street.code}-CG")
        assert squad.parent is not None and squad.parent.code == "CG"
        assert list(squad.areas.all()) == [street] == list(office.areas.all())

    sensitive = {t.code: t.granted_roles for t in Tag.objects.filter(sensitive=True)}
    assert sensitive["petition"] == [Role.DISPATCHER, Role.SUPERVISOR]
    assert Role.COMMUNITY_STAFF in sensitive["minor_under_14"]
    assert Tag.objects.filter(code="party_member", sensitive=False).exists()
    minors = Resident.objects.filter(tags__code="minor_under_14")
    assert minors.exists() and all(r.birth_date.year >= 2010 for r in minors)


def test_seeded_grids_tile_the_district(seeded):
    rows = Area.objects.values_list("code", "level", "parent__code", "geometry")
    assert all(geometry_error(geometry) is None for *_, geometry in rows)
    assert_tiles([(code, level, parent, shape(geom)) for code, level, parent, geom in rows])


def test_every_building_locates_to_its_grid(seeded):
    locator.invalidate()
    buildings = list(Building.objects.select_related("grid"))
    assert buildings
    for building in buildings:
        chain = locator.locate(building.lat, building.lon)
        assert [a.level for a in chain] == [1, 2, 3, 4]
        assert chain[-1].code == building.grid.code, building.address
    orgs = Organisation.objects.select_related("building")
    assert all(o.building is not None and o.building.grid_id == o.grid_id for o in orgs)


def test_if_empty_on_a_seeded_database_changes_nothing(seeded):
    before = row_counts()
    revision = GeoRevision.objects.get(pk=1).revision
    out = StringIO()
    call_command("seed_demo", "--scale", "small", "--seed", "2", "--if-empty", stdout=out)
    assert "not seeding" in out.getvalue()
    assert row_counts() == before
    assert GeoRevision.objects.get(pk=1).revision == revision

    with pytest.raises(CommandError, match="--if-empty"):
        call_command("seed_demo", "--scale", "small", "--seed", "2", stdout=StringIO())
    assert row_counts() == before


def test_demo_logins_lists_a_user_per_role(seeded):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text and "http://127.0.0.1:8000/admin/" in text
    assert DEMO_PASSWORD in text
    for _, username in DEMO_LOGINS:
        assert f"  {username} " in text

    out = StringIO()
    call_command("demo_logins", "--url", "https://grid.example.cn", stdout=out)
    assert "https://grid.example.cn/admin/" in out.getvalue()


def test_every_demo_login_signs_in_through_the_form(seeded, client):
    from gridlink.accounts.permissions import roles_of

    for role, username in DEMO_LOGINS:
        r = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 302, f"{username} could not sign in"
        home = client.get("/")
        assert home.status_code == 200
        assert role in roles_of(User.objects.get(username=username))
        client.post("/logout/")


def test_demo_admin_lists_areas_residents_and_organisations(seeded, client):
    assert client.login(username="admin", password=DEMO_PASSWORD)
    for url, expect in [
        ("/admin/geo/area/", "370211001"),
        ("/admin/registry/resident/", "370211********"),
        ("/admin/registry/organisation/", "370211"),
    ]:
        r = client.get(url)
        assert r.status_code == 200, url
        assert expect in r.content.decode()
