"""Routing rules (category × area → level and unit) and the explaining resolver."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from gridlink.accounts.roles import Role
from gridlink.cases.models import Category, HandlingLevel, RoutingRule, TaxonomyVersion
from gridlink.cases.routing import route_for
from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
from gridlink.core.errors import DomainError
from gridlink.geo.models import DepartmentKind
from tests.factories import DepartmentFactory, RoleAssignmentFactory, UserFactory

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def published(db) -> TaxonomyVersion:
    return taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)


def sub(version: TaxonomyVersion, code: str) -> Category:
    return Category.objects.get(version=version, code=code)


def rule(**kwargs) -> RoutingRule:
    kwargs.setdefault("level", HandlingLevel.DISTRICT_DEPARTMENT)
    kwargs.setdefault("valid_from", dt.date(2020, 1, 1))
    if "unit_area" not in kwargs and "unit_department" not in kwargs:
        kwargs["unit_department"] = DepartmentFactory()
    return RoutingRule.objects.create(**kwargs)


# --- Precedence ----------------------------------------------------------------------------


def test_specificity_category_and_area_beats_category_beats_area(tree, published):
    garbage = sub(published, "E0102")
    grid = tree.grids[0]
    area_only = rule(area=tree.streets[0], priority=100)
    decision = route_for(category=garbage, area=grid, on=TODAY)
    assert decision.rule == area_only

    category_only = rule(category_code="E0102", priority=-5)
    decision = route_for(category=garbage, area=grid, on=TODAY)
    assert decision.rule == category_only
    assert "names the category" in decision.reason_en

    both = rule(category_code="E0102", area=tree.district, priority=-10)
    decision = route_for(category=garbage, area=grid, on=TODAY)
    assert decision.rule == both
    assert decision.department == both.unit_department
    assert decision.level == HandlingLevel.DISTRICT_DEPARTMENT
    assert f"Rule #{both.pk}" in decision.reason_en
    assert "names the category and the area" in decision.reason_en
    assert "3 rule(s)" in decision.reason_en
    assert f"规则#{both.pk}" in decision.reason_zh
    assert decision.reason == decision.reason_en  # English is active in these tests


def test_catch_all_rule_beats_the_fallback_but_nothing_else(tree, published):
    catch_all = rule()
    garbage = sub(published, "E0102")
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule == catch_all
    area_only = rule(area=tree.district)
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule == area_only


def test_area_rule_covers_its_subtree_and_deeper_wins(tree, published):
    garbage = sub(published, "E0102")
    street_a, street_b = tree.streets
    on_street = rule(category_code="E0102", area=street_a, priority=50)
    # grid A1-1 lies in street A; grid B…: not covered
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule == on_street
    with pytest.raises(DomainError):  # street B: no rule, and grid level needs a grid
        route_for(category=garbage, area=street_b, on=TODAY)
    on_community = rule(category_code="E0102", area=tree.communities[0], priority=0)
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule == on_community
    # The street itself is not inside its community: the street rule applies there.
    assert route_for(category=garbage, area=street_a, on=TODAY).rule == on_street


def test_subclass_rule_beats_major_class_rule_which_covers_its_subclasses(tree, published):
    major = rule(category_code="E01", area=tree.district)
    for code in ("E0101", "E0102", "E0103"):
        assert route_for(category=sub(published, code), area=tree.grids[0], on=TODAY).rule == major
    # A different major class is not covered.
    other = route_for(category=sub(published, "E0401"), area=tree.grids[0], on=TODAY)
    assert other.rule is None
    exact = rule(category_code="E0102", area=tree.district)
    assert route_for(category=sub(published, "E0102"), area=tree.grids[0], on=TODAY).rule == exact


def test_priority_then_lowest_id_break_ties(tree, published):
    garbage = sub(published, "E0102")
    first = rule(category_code="E0102", area=tree.streets[0], priority=1)
    second = rule(category_code="E0102", area=tree.streets[0], priority=1)
    assert first.pk < second.pk
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule == first
    higher = rule(category_code="E0102", area=tree.streets[0], priority=2)
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule == higher


def test_inactive_expired_future_rules_and_inactive_departments_are_ignored(tree, published):
    garbage = sub(published, "E0102")
    fallback = route_for(category=garbage, area=tree.grids[0], on=TODAY)
    assert fallback.rule is None
    rule(category_code="E0102", active=False)
    rule(category_code="E0102", valid_from=dt.date(2020, 1, 1), valid_to=TODAY)  # ended today
    rule(category_code="E0102", valid_from=TODAY + dt.timedelta(days=1))
    rule(category_code="E0102", unit_department=DepartmentFactory(active=False))
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule is None
    ending = rule(category_code="E0102", valid_to=TODAY + dt.timedelta(days=1))
    assert route_for(category=garbage, area=tree.grids[0], on=TODAY).rule == ending


def test_rule_to_an_area_office(tree, published):
    community = tree.communities[0]
    r = rule(category_code="E0401", level=HandlingLevel.COMMUNITY, unit_area=community)
    decision = route_for(category=sub(published, "E0401"), area=tree.grids[0], on=TODAY)
    assert decision.rule == r and decision.area_unit == community and decision.department is None
    assert decision.unit == community


def test_resolver_is_two_queries_or_fewer(tree, published, django_assert_max_num_queries):
    rule(category_code="E0102", area=tree.streets[0])
    garbage, grid = sub(published, "E0102"), tree.grids[0]
    with django_assert_max_num_queries(1):
        route_for(category=garbage, area=grid, on=TODAY)
    water = sub(published, "C0101")
    DepartmentFactory(kind=DepartmentKind.WATER).areas.add(tree.district)
    with django_assert_max_num_queries(2):
        route_for(category=water, area=grid, on=TODAY)


# --- Fallback (属地管理) -------------------------------------------------------------------


def test_fallback_to_the_department_serving_the_nearest_ancestor(tree, published):
    water = sub(published, "C0101")  # district_department, water
    assert water.default_department_kind == DepartmentKind.WATER
    district_dept = DepartmentFactory(code="SW", kind=DepartmentKind.WATER)
    district_dept.areas.add(tree.district)
    station = DepartmentFactory(code="SW-A", kind=DepartmentKind.WATER)
    station.areas.add(tree.streets[0])
    DepartmentFactory(code="CG", kind=DepartmentKind.URBAN_MANAGEMENT).areas.add(tree.grids[0])
    DepartmentFactory(code="SW-X", kind=DepartmentKind.WATER, active=False).areas.add(tree.grids[0])

    decision = route_for(category=water, area=tree.grids[0], on=TODAY)
    assert decision.rule is None
    assert decision.department == station
    assert decision.level == HandlingLevel.DISTRICT_DEPARTMENT
    assert "No routing rule matches C0101" in decision.reason_en
    assert "SW-A" in decision.reason_en and "370211001" in decision.reason_en
    # Street B has no station: the district-wide department.
    assert route_for(category=water, area=tree.grids[-1], on=TODAY).department == district_dept


def test_fallback_to_the_street_or_community_area(tree, published):
    street_case = sub(published, "E0101")  # default level: street
    decision = route_for(category=street_case, area=tree.grids[0], on=TODAY)
    assert decision.level == HandlingLevel.STREET
    assert decision.area_unit == tree.streets[0] and decision.department is None
    community_case = sub(published, "E0401")  # community
    decision = route_for(category=community_case, area=tree.grids[-1], on=TODAY)
    assert decision.area_unit == tree.communities[-1]
    grid_case = sub(published, "E0102")  # grid
    assert route_for(category=grid_case, area=tree.grids[1], on=TODAY).area_unit == tree.grids[1]
    assert "territorially" in decision.reason_en


def test_no_route_names_the_category_and_the_area(tree, published):
    water = sub(published, "C0101")  # no water department anywhere
    with pytest.raises(DomainError) as caught:
        route_for(category=water, area=tree.grids[0], on=TODAY)
    assert caught.value.code == "no_route"
    assert "C0101" in caught.value.message and tree.grids[0].code in caught.value.message
    # A grid-level category located at a street: no grid in its ancestry.
    with pytest.raises(DomainError) as caught:
        route_for(category=sub(published, "E0102"), area=tree.streets[0], on=TODAY)
    assert caught.value.code == "no_route"


# --- The model ----------------------------------------------------------------------------


def test_exactly_one_unit_by_constraint(tree, published):
    department = DepartmentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoutingRule.objects.create(
            level=HandlingLevel.STREET, unit_department=department, unit_area=tree.streets[0]
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        RoutingRule.objects.create(level=HandlingLevel.STREET)
    with pytest.raises(IntegrityError), transaction.atomic():  # district levels: a department
        RoutingRule.objects.create(
            level=HandlingLevel.DISTRICT_DEPARTMENT, unit_area=tree.streets[0]
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        rule(category_code="X1")


def test_clean_checks_the_code_and_the_unit(tree, published):
    bad = RoutingRule(category_code="E0999", level=HandlingLevel.STREET, unit_area=tree.grids[0])
    with pytest.raises(ValidationError) as caught:
        bad.full_clean()
    assert "E0999" in str(caught.value.message_dict["category_code"])
    assert "unit_area" in caught.value.message_dict  # a grid is not a street
    good = RoutingRule(category_code="E01", level=HandlingLevel.STREET, unit_area=tree.streets[0])
    good.full_clean()


# --- API ----------------------------------------------------------------------------------

URL = "/api/v1/routing/preview"


def test_preview_needs_a_signed_in_user(client, tree, published):
    assert client.get(URL, {"category": "E0102", "area": tree.grids[0].code}).status_code == 401


def test_preview_by_point_and_by_area(client, personas, published):
    client.force_login(personas.grid_worker)
    r = rule(category_code="E0102", note="test")
    body = client.get(URL, {"category": "E0102", "lat": 35.85, "lon": 120.05}).json()
    assert body["rule"]["id"] == r.pk
    assert body["area"]["code"] == "370211001001001"
    assert body["unit"]["type"] == "department" and body["unit"]["code"] == r.unit_department.code
    assert body["level"] == "district_department" and body["rule"]["note"] == "test"
    assert f"Rule #{r.pk}" in body["reason_en"] and body["reason_zh"]

    body = client.get(URL, {"category": "E0101", "area": "370211002"}).json()
    assert body["rule"] is None
    assert body["unit"] == {
        "type": "area",
        "code": "370211002",
        "name_zh": "街道B",
        "name_en": "",
    }


def test_preview_404s_and_no_route(client, personas, published):
    client.force_login(personas.resident)
    outside = client.get(URL, {"category": "E0102", "lat": 10.0, "lon": 10.0})
    assert outside.status_code == 404 and "outside" in outside.json()["detail"]
    assert client.get(URL, {"category": "E9999", "area": "370211"}).status_code == 404
    assert client.get(URL, {"category": "E01", "area": "370211"}).status_code == 404
    assert client.get(URL, {"category": "E0102", "area": "999999"}).status_code == 404
    assert client.get(URL, {"category": "E0102"}).status_code == 422
    no_route = client.get(URL, {"category": "C0101", "area": "370211001"})
    assert no_route.status_code == 400
    assert no_route.json()["errors"][0]["code"] == "no_route"


# --- Admin --------------------------------------------------------------------------------


def staff(username: str, role: str, area) -> object:
    user = UserFactory(username=username, is_staff=True)
    for codename in ("view_routingrule", "add_routingrule", "change_routingrule"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="cases", codename=codename)
        )
    RoleAssignmentFactory(user=user, role=role, area=area)
    return user


def test_admin_needs_reference_edit(client, tree, published):
    r = rule(category_code="E0102")
    url = f"/admin/cases/routingrule/{r.pk}/change/"
    client.force_login(staff("editor", Role.ADMIN, tree.district))
    page = client.get(url)
    assert page.status_code == 200 and b'name="_save"' in page.content
    assert client.get("/admin/cases/routingrule/add/").status_code == 200

    client.force_login(staff("clerk", Role.DISPATCHER, tree.streets[0]))
    page = client.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(url, {"category_code": "E01"}).status_code == 403
    assert client.get("/admin/cases/routingrule/add/").status_code == 403
    r.refresh_from_db()
    assert r.category_code == "E0102"


# --- Who can sign for each target (`gridlink routing check`) ---------------------------------


def _unstaffed(result) -> dict[str, list[tuple[str, str]]]:
    return {f"{gap.unit_label} via {gap.via}": gap.pairs for gap in result.unstaffed}


def test_routing_check_lists_targets_nobody_can_sign_for(tree, published):
    from gridlink.cases.routing import routing_check

    orphan = DepartmentFactory(code="ORPHAN", kind="water", name_zh="无人部门")
    r = rule(category_code="E0102", unit_department=orphan)
    result = routing_check()
    gaps = _unstaffed(result)
    key = f"无人部门 (ORPHAN) [department] via rule #{r.pk}"
    assert key in gaps
    assert sorted(gaps[key]) == sorted(("E0102", g.code) for g in tree.grids)
    # E0101 (私搭乱建) falls back to the street office of each street: nobody there yet.
    street_keys = [k for k in gaps if "[area office] via fallback" in k and "街道A" in k]
    assert street_keys and ("E0101", tree.grids[0].code) in gaps[street_keys[0]]
    assert (
        not result.ok
        and result.pairs
        == len(tree.grids)
        * Category.objects.filter(version=published, parent__isnull=False).count()
    )

    handler = UserFactory(username="orphan_handler")
    RoleAssignmentFactory(user=handler, role=Role.DEPT_HANDLER, department=orphan)
    street = UserFactory(username="street_a_staff")
    RoleAssignmentFactory(user=street, role=Role.STREET_STAFF, area=tree.streets[0])
    gaps = _unstaffed(routing_check())
    assert key not in gaps
    assert not [k for k in gaps if "[area office] via fallback" in k and "街道A (" in k]

    # An inactive user, or an expired assignment, signs for nothing.
    handler.is_active = False
    handler.save()
    street.role_assignments.update(valid_to=dt.date(2021, 1, 1))
    gaps = _unstaffed(routing_check())
    assert key in gaps
    assert [k for k in gaps if "[area office] via fallback" in k and "街道A (" in k]


def test_community_staff_cover_grid_and_community_targets_but_not_the_street(tree, published):
    from gridlink.cases.routing import routing_check

    staff = UserFactory(username="community_a1")
    RoleAssignmentFactory(user=staff, role=Role.COMMUNITY_STAFF, area=tree.communities[0])
    labels = [gap.unit_label for gap in routing_check().unstaffed]
    assert not any(tree.communities[0].code in label for label in labels)
    assert not any(tree.grids[0].code in label for label in labels)
    assert any(f"({tree.streets[0].code}) [area office]" in label for label in labels)


@pytest.fixture
def demo_district(db):
    from gridlink.demo.plan import build_plan
    from gridlink.demo.seed import demo_seed
    from gridlink.geo.locator import locator

    taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)
    demo_seed(plan=build_plan(scale="small", seed=1))
    locator.invalidate()


def test_the_demo_district_has_every_routing_target_staffed(demo_district, client):
    import io

    from django.core.management import CommandError, call_command

    from gridlink.accounts.models import User

    out = io.StringIO()
    call_command("routing", "check", "--strict", stdout=out)  # every sub-class routes, too
    assert "UNSTAFFED" not in out.getvalue() and "NO ROUTE" not in out.getvalue()
    assert " 0 unstaffed target(s), 0 pair(s) without a route" in out.getvalue()

    # Without the 城管中队's two users of the first street, its cases have no one to sign.
    User.objects.filter(username__in=["station_cg1", "station_head_cg1"]).update(is_active=False)
    out = io.StringIO()
    with pytest.raises(CommandError, match="routing target"):
        call_command("routing", "check", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("UNSTAFFED")]
    assert lines and all("-CG) [department] via fallback" in line for line in lines)

    # The admin's routing rules page shows the same warning.
    admin = User.objects.get(username="admin")
    client.force_login(admin)
    page = client.get("/admin/cases/routingrule/", headers={"accept-language": "en"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Nobody active can sign for" in text and "-CG) [department]" in text
