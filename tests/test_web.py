"""The server-rendered pages, through the Django test client.

Most assertions read the default (Chinese) pages; `english` switches a client to English
through Django's real `set_language` view.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from gridlink.core.models import AccessRecord
from gridlink.registry.masking import mask_id_number, mask_phone
from tests.factories import (
    BuildingFactory,
    HouseholdFactory,
    OrganisationFactory,
    ResidentFactory,
    TagFactory,
)

GRID_A1_1 = "370211001001001"
GRID_A1_2 = "370211001001002"
HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


def english(client: Client) -> Client:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def people(tree):
    """Residents, a household, a building and an organisation in grids A1-1 and A1-2."""
    grid1, grid2 = tree.grids[0], tree.grids[1]
    building = BuildingFactory(grid=grid1, address="青云路8号", address_code="B0000000001")
    household = HouseholdFactory(grid=grid1, building=building, number="H00000001")
    return {
        "mine": ResidentFactory(grid=grid1, name="王小明", household=household),
        "other": ResidentFactory(grid=grid2, name="李四"),
        "org": OrganisationFactory(grid=grid1, name="青云便利店", building=building),
        "building": building,
        "household": household,
    }


# --- Sign-in, sign-out, login required ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/areas/",
        "/areas/370211/",
        "/areas/370211/card/",
        "/areas/locate/?lat=35.85&lon=120.05",
        "/registry/residents/",
        "/registry/residents/1/",
        "/registry/organisations/",
        "/registry/buildings/",
    ],
)
def test_pages_require_sign_in(client, tree, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_sign_in_page_renders_in_chinese_by_default(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in html(response)
    assert "登录" in html(response)


def test_failed_sign_in_shows_a_form_error(client, personas):
    response = client.post("/login/", {"username": "grid1", "password": "wrong-password"})
    assert response.status_code == 200
    assert 'class="form-error"' in html(response)
    assert "_auth_user_id" not in client.session


def test_sign_in_and_out_through_the_forms(client, personas):
    response = client.post("/login/", {"username": "grid1", "password": "pass-word-123"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(personas.grid_worker.pk)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_sign_out_is_post_only(client, personas):
    signed_in(client, personas.grid_worker)
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session


# --- Home per role ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("grid_worker", ["网格员", GRID_A1_1, "社区A1第1网格", "本网格居民"]),
        ("community_staff", ["社区工作者", "社区网格", GRID_A1_1, GRID_A1_2]),
        ("dispatcher", ["指挥中心调度员", "街道所辖社区", "370211001001", "370211001002"]),
        ("dept_handler", ["职能部门承办人", "城管B中队", "部门服务区域", "街道B"]),
        ("supervisor", ["督查考核人员", "黄岛区", "370211001", "370211002"]),
        ("resident", ["居民", "社区A1第1网格", "查询码"]),
        ("admin", ["系统管理员", "黄岛区"]),
    ],
)
def test_home_shows_what_each_role_cares_about(client, personas, persona, expected):
    response = signed_in(client, getattr(personas, persona)).get("/")
    assert response.status_code == 200
    page = html(response)
    for text in expected:
        assert text in page, text
    assert page.count('class="panel role-panel') == 1


def test_supervisor_home_counts_the_district(client, personas, people):
    page = html(signed_in(client, personas.supervisor).get("/"))
    numbers = dict(re.findall(r"<dt>([^<]+)</dt><dd>(?:<a[^>]*>)?(\d+)", page))
    assert numbers["街道"] == "2"
    assert numbers["社区"] == "4"
    assert numbers["网格"] == "8"
    assert numbers["单位"] == "1"


def test_home_of_a_user_without_roles_says_so(client, db):
    from tests.factories import UserFactory

    page = html(signed_in(client, UserFactory(username="nobody")).get("/"))
    assert "尚未被授予角色" in page
    assert "/registry/" not in page  # no registry link without registry.view


def test_staff_users_get_back_office_links(client, personas):
    personas.admin.is_staff = True
    personas.admin.save()
    page = html(signed_in(client, personas.admin).get("/"))
    assert 'href="/admin/"' in page
    grid_worker_page = html(signed_in(Client(), personas.grid_worker).get("/"))
    assert 'href="/admin/"' not in grid_worker_page


def test_header_shows_name_roles_and_language_switch(client, personas):
    personas.dispatcher.display_name = "张调度"
    personas.dispatcher.save()
    page = html(signed_in(client, personas.dispatcher).get("/"))
    assert '<span class="who-name">张调度</span>' in page
    assert '<span class="who-roles">指挥中心调度员</span>' in page
    assert 'action="/i18n/setlang/"' in page
    assert 'action="/logout/"' in page


# --- Areas and the map ------------------------------------------------------------------------


def test_area_index_goes_to_the_only_district(client, personas):
    response = signed_in(client, personas.resident).get("/areas/")
    assert response.status_code == 302
    assert response["Location"] == "/areas/370211/"


def test_area_page_draws_children_as_linked_polygons(client, personas):
    response = signed_in(client, personas.dispatcher).get("/areas/370211001/")
    assert response.status_code == 200
    page = html(response)
    assert '<svg class="map-svg"' in page
    links = re.findall(r'<a class="map-link" href="(/areas/\d+/)"', page)
    assert links == ["/areas/370211001001/", "/areas/370211001002/"]
    assert page.count('<path class="map-area level-3') == 2
    assert "<title>社区A1 · 370211001001</title>" in page
    assert 'hx-get="/areas/370211001001/card/"' in page
    # Breadcrumb of ancestors, then the area itself.
    assert '<a href="/areas/370211/">黄岛区</a>' in page
    # Colours come from CSS classes: the strict CSP forbids style attributes.
    assert "style=" not in page


def test_map_projection_fits_the_view_box(client, personas):
    page = html(signed_in(client, personas.supervisor).get("/areas/370211/"))
    view_box = re.search(r'viewBox="0 0 (\d+) (\d+)"', page)
    assert view_box is not None
    width, height = int(view_box.group(1)), int(view_box.group(2))
    xs, ys = [], []
    for d in re.findall(r'<path class="map-area[^"]*" d="([^"]+)"', page):
        for x, y in re.findall(r"([\d.]+),([\d.]+)", d):
            xs.append(float(x))
            ys.append(float(y))
    assert min(xs) >= 0 and max(xs) <= width
    assert min(ys) >= 0 and max(ys) <= height
    # 0.4° of longitude at 35.9°N is 0.324° "wide" against 0.2° of latitude.
    aspect = (max(xs) - min(xs)) / (max(ys) - min(ys))
    assert aspect == pytest.approx(0.4 * 0.8100 / 0.2, rel=0.01)


def test_grid_page_highlights_the_grid_among_its_siblings(client, personas):
    page = html(signed_in(client, personas.grid_worker).get(f"/areas/{GRID_A1_1}/"))
    assert page.count("highlighted") == 1
    assert re.search(r'<path class="[^"]*grid-urban[^"]*highlighted"', page)


def test_area_card_is_a_partial_for_htmx(client, personas):
    response = signed_in(client, personas.supervisor).get("/areas/370211002/card/", **HTMX)
    assert response.status_code == 200
    page = html(response)
    assert "<html" not in page
    assert "370211002" in page
    assert "街道B" in page


def test_unknown_area_is_404(client, personas):
    response = signed_in(client, personas.supervisor).get("/areas/999999/")
    assert response.status_code == 404
    assert "未找到" in html(response)


def test_locate_finds_the_grid_and_its_chain(client, personas):
    client = signed_in(client, personas.dispatcher)
    response = client.get("/areas/locate/", {"lat": "35.95", "lon": "120.15"})
    assert response.status_code == 200
    page = html(response)
    assert "<html" in page
    assert '<a href="/areas/370211001002002/"><strong>社区A2第2网格</strong></a>' in page
    assert '<a href="/areas/370211/">黄岛区</a>' in page
    assert '<circle class="map-marker"' in page
    partial = html(client.get("/areas/locate/", {"lat": "35.95", "lon": "120.15"}, **HTMX))
    assert partial.lstrip().startswith('<section class="panel locate" id="locate"')
    assert "370211001002002" in partial


def test_locate_outside_every_grid_is_a_form_error(client, personas):
    response = signed_in(client, personas.dispatcher).get(
        "/areas/locate/", {"lat": "30", "lon": "120.15"}, **HTMX
    )
    assert response.status_code == 200
    assert "没有网格包含坐标点" in html(response)
    assert "locate-result" not in html(response)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"lat": "north", "lon": "120.1"}, "输入一个数字"),
        ({"lat": "95", "lon": "120.1"}, "小于或等于90"),
        ({"lat": "nan", "lon": "120.1"}, "输入一个数字"),
        ({"lat": "35.9"}, "这个字段是必填项"),
    ],
)
def test_locate_rejects_bad_numbers_with_field_errors(client, personas, query, message):
    response = signed_in(client, personas.dispatcher).get("/areas/locate/", query)
    assert response.status_code == 200
    assert 'class="errorlist' in html(response)
    assert message in html(response)


# --- Registry lists ---------------------------------------------------------------------------


def test_resident_list_shows_masked_identifiers_only(client, personas, people):
    resident = people["mine"]
    response = signed_in(client, personas.grid_worker).get("/registry/residents/")
    assert response.status_code == 200
    page = html(response)
    assert "王小明" in page
    assert mask_id_number(resident.id_number) in page
    assert mask_phone(resident.phone) in page
    assert resident.id_number not in page
    assert resident.phone not in page
    assert "李四" not in page  # grid A1-2 is outside the grid worker's scope
    assert "no-store" in response["Cache-Control"]


def test_resident_search_by_text_and_grid(client, personas, people):
    client = signed_in(client, personas.community_staff)
    assert "李四" in html(client.get("/registry/residents/"))
    by_name = html(client.get("/registry/residents/", {"q": "李四"}))
    assert "李四" in by_name
    assert "王小明" not in by_name
    by_grid = html(client.get("/registry/residents/", {"grid": GRID_A1_1}))
    assert "王小明" in by_grid
    assert "李四" not in by_grid


@pytest.mark.parametrize("field", ["id_number", "phone", "masked_id_number"])
def test_name_search_does_not_find_by_identifier(client, personas, people, field):
    resident = people["mine"]
    value = {
        "id_number": resident.id_number,
        "phone": resident.phone,
        "masked_id_number": mask_id_number(resident.id_number),
    }[field]
    client = signed_in(client, personas.community_staff)
    page = html(client.get("/registry/residents/", {"q": value}))
    assert f"/registry/residents/{resident.pk}/" not in page
    assert "王小明" not in page
    assert "请按姓名查找居民" in page  # refused as a form error, not searched
    assert 'rel="next"' not in page
    # The language switch goes back to the bare list, not to the query with the identifier.
    assert 'name="next" value="/registry/residents/"' in page
    assert not AccessRecord.objects.exists()


def test_resident_search_hints_name_only(client, personas, people):
    page = html(signed_in(client, personas.grid_worker).get("/registry/residents/"))
    search = re.search(r'<form method="get".*?</form>', page, re.S)
    assert search is not None
    assert "身份证" not in search.group(0)
    assert "手机" not in search.group(0)
    assert "姓名" in search.group(0)


def test_resident_search_with_a_bad_grid_code_is_a_form_error(client, personas, people):
    response = signed_in(client, personas.grid_worker).get(
        "/registry/residents/", {"grid": "12ab", "after": "-3"}
    )
    assert response.status_code == 200
    page = html(response)
    assert "区域代码应为 6、9、12、15 或 18 位数字" in page
    assert "王小明" not in page


def test_resident_list_pages_by_keyset(client, personas, tree):
    residents = [ResidentFactory(grid=tree.grids[0], name=f"居民{i:02d}") for i in range(30)]
    client = signed_in(client, personas.grid_worker)
    first = html(client.get("/registry/residents/"))
    assert first.count("/registry/residents/") >= 25
    assert "居民24" in first
    assert "居民25" not in first
    next_link = re.search(r'rel="next" href="/registry/residents/\?after=(\d+)"', first)
    assert next_link is not None
    assert int(next_link.group(1)) == residents[24].pk
    second = html(client.get("/registry/residents/", {"after": next_link.group(1)}))
    assert "居民25" in second and "居民29" in second
    assert "居民24" not in second
    assert 'rel="next"' not in second


def test_organisation_list_masks_the_contact_phone(client, personas, people):
    org = people["org"]
    page = html(signed_in(client, personas.grid_worker).get("/registry/organisations/"))
    assert "青云便利店" in page
    assert org.credit_code in page  # public registration data, not masked
    assert mask_phone(org.contact_phone) in page
    assert org.contact_phone not in page
    filtered = html(
        signed_in(client, personas.grid_worker).get("/registry/organisations/", {"kind": "school"})
    )
    assert "青云便利店" not in filtered


def test_building_list_and_detail(client, personas, people):
    client = signed_in(client, personas.grid_worker)
    page = html(client.get("/registry/buildings/", {"q": "青云路"}))
    assert "青云路8号" in page
    detail = html(client.get(f"/registry/buildings/{people['building'].pk}/"))
    assert "H00000001" in detail
    assert "青云便利店" in detail


def test_registry_needs_the_registry_capability(client, personas):
    response = signed_in(client, personas.resident).get("/registry/residents/")
    assert response.status_code == 403
    assert "无权访问" in html(response)


@pytest.mark.parametrize(
    ("persona", "record", "status"),
    [
        ("grid_worker", "mine", 200),
        ("grid_worker", "other", 404),
        ("dispatcher", "other", 200),
        ("dept_handler", "mine", 404),  # the department serves street B only
        ("supervisor", "other", 200),
    ],
)
def test_resident_detail_is_scoped(client, personas, people, persona, record, status):
    resident = people[record]
    response = signed_in(client, getattr(personas, persona)).get(
        f"/registry/residents/{resident.pk}/"
    )
    assert response.status_code == status
    if status == 200:
        assert mask_id_number(resident.id_number) in html(response)
        assert resident.id_number not in html(response)


def test_out_of_scope_organisation_and_building_are_404(client, personas, tree):
    org = OrganisationFactory(grid=tree.grids[4])
    building = BuildingFactory(grid=tree.grids[4])
    client = signed_in(client, personas.grid_worker)
    assert client.get(f"/registry/organisations/{org.pk}/").status_code == 404
    assert client.get(f"/registry/buildings/{building.pk}/").status_code == 404
    assert client.post(f"/registry/organisations/{org.pk}/unmask/").status_code == 404


def test_resident_detail_hides_sensitive_tags_from_roles_not_granted(client, personas, people):
    resident = people["mine"]
    resident.tags.add(
        TagFactory(code="elderly", name_zh="独居老人"),
        TagFactory(code="petition", name_zh="信访人员", sensitive=True, granted_roles=["admin"]),
    )
    page = html(signed_in(client, personas.grid_worker).get(f"/registry/residents/{resident.pk}/"))
    assert "独居老人" in page
    assert "信访人员" not in page
    admin_page = html(
        signed_in(Client(), personas.admin).get(f"/registry/residents/{resident.pk}/")
    )
    assert "信访人员" in admin_page


# --- Unmask with purpose ----------------------------------------------------------------------


def test_unmask_with_purpose_logs_and_reveals(client, personas, people):
    resident = people["mine"]
    response = signed_in(client, personas.grid_worker).post(
        f"/registry/residents/{resident.pk}/unmask/",
        {"reveal": ["id_number", "phone"], "purpose": "案件 2025-000123 入户核查"},
        HTTP_HX_REQUEST="true",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<section id="sensitive"')
    assert f'data-field="id_number">{resident.id_number}</span>' in page
    assert f'data-field="phone">{resident.phone}</span>' in page
    assert "no-store" in response["Cache-Control"]
    record = AccessRecord.objects.get()
    assert record.purpose == "案件 2025-000123 入户核查"
    assert record.fields == ["id_number", "phone"]
    assert record.subject_type == "resident"
    assert record.subject_ids == [resident.pk]
    assert record.outcome == "success"
    assert record.ip == "10.1.2.3"
    assert record.actor_username == "grid1"


def test_unmask_without_purpose_shows_the_error_and_stays_masked(client, personas, people):
    resident = people["mine"]
    response = signed_in(client, personas.grid_worker).post(
        f"/registry/residents/{resident.pk}/unmask/",
        {"reveal": ["id_number"], "purpose": "  "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = html(response)
    assert "请说明用途（案件编号或工作任务），至少 4 个字符。" in page
    assert resident.id_number not in page
    assert mask_id_number(resident.id_number) in page
    assert not AccessRecord.objects.exists()


def test_unmask_without_fields_is_a_form_error(client, personas, people):
    resident = people["mine"]
    response = signed_in(client, personas.grid_worker).post(
        f"/registry/residents/{resident.pk}/unmask/", {"purpose": "案件 2025-000123"}
    )
    assert response.status_code == 200
    assert "这个字段是必填项" in html(response)
    assert resident.id_number not in html(response)
    assert not AccessRecord.objects.exists()


def test_unmask_refused_for_a_role_without_the_capability(client, personas, people):
    resident = people["mine"]
    client = signed_in(client, personas.supervisor)
    detail = html(client.get(f"/registry/residents/{resident.pk}/"))
    assert "unmask-form" not in detail
    assert "您的角色无权在此解除个人信息脱敏" in detail
    response = client.post(
        f"/registry/residents/{resident.pk}/unmask/",
        {"reveal": ["id_number"], "purpose": "案件 2025-000123"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    assert "您的角色无权在此解除个人信息脱敏" in html(response)
    assert resident.id_number not in html(response)
    assert AccessRecord.objects.get().outcome == "denied"


def test_unmask_organisation_contact_phone_without_htmx(client, personas, people):
    org = people["org"]
    response = signed_in(client, personas.community_staff).post(
        f"/registry/organisations/{org.pk}/unmask/",
        {"reveal": ["contact_phone"], "purpose": "安全检查任务 A-17"},
    )
    assert response.status_code == 200
    page = html(response)
    assert "<html" in page  # a full page when the browser posts without htmx
    assert f'data-field="contact_phone">{org.contact_phone}</span>' in page
    assert AccessRecord.objects.get().subject_type == "organisation"
    # The language switch goes back to the record, not to the POST-only unmask address.
    assert f'name="next" value="/registry/organisations/{org.pk}/"' in page


def test_unmask_is_post_only_and_needs_csrf(personas, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.grid_worker)
    url = f"/registry/residents/{people['mine'].pk}/unmask/"
    assert client.get(url).status_code == 405
    response = client.post(url, {"reveal": ["id_number"], "purpose": "案件 2025-000123"})
    assert response.status_code == 403
    assert not AccessRecord.objects.exists()


# --- Lookup by ID number or phone -------------------------------------------------------------

LOOKUP = "/registry/residents/lookup/"
PURPOSE = "案件 2025-000123 入户核查"


def urls_in(page: str) -> list[str]:
    """Every address the page could send the browser to (links, forms, htmx, next)."""
    attributes = r'(?:href|action|src|hx-get|hx-post|hx-put|hx-delete|hx-push-url)="([^"]*)"'
    nexts = re.findall(r'name="next" value="([^"]*)"', page)
    return re.findall(attributes, page) + nexts


def test_lookup_by_id_number_finds_the_resident_and_logs_the_purpose(client, personas, people):
    resident = people["mine"]
    response = signed_in(client, personas.grid_worker).post(
        LOOKUP,
        {"id_number": resident.id_number.lower(), "phone": "", "purpose": PURPOSE},
        HTTP_HX_REQUEST="true",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = html(response)
    assert page.lstrip().startswith('<details id="lookup"')  # the panel alone, for htmx
    assert f'<a href="/registry/residents/{resident.pk}/">王小明</a>' in page
    assert mask_id_number(resident.id_number) in page
    assert mask_phone(resident.phone) in page
    assert PURPOSE in page
    assert "李四" not in page
    record = AccessRecord.objects.get()
    assert record.kind == "lookup"
    assert record.purpose == PURPOSE
    assert record.fields == ["id_number"]
    assert record.subject_type == "resident"
    assert record.subject_ids == [resident.pk]
    assert record.outcome == "success"
    assert record.ip == "10.1.2.3"
    assert record.actor_username == "grid1"


def test_lookup_by_phone_without_htmx_renders_the_whole_page(client, personas, people):
    resident = people["other"]
    response = signed_in(client, personas.community_staff).post(
        LOOKUP, {"phone": resident.phone, "purpose": PURPOSE}
    )
    assert response.status_code == 200
    page = html(response)
    assert "<html" in page
    assert re.search(r'<details id="lookup" class="panel lookup" open>', page)
    assert f'href="/registry/residents/{resident.pk}/"' in page
    assert "no-store" in response["Cache-Control"]
    record = AccessRecord.objects.get()
    assert (record.kind, record.fields, record.subject_ids) == ("lookup", ["phone"], [resident.pk])


def test_lookup_never_puts_the_identifier_in_a_url(client, personas, people):
    resident = people["mine"]
    client = signed_in(client, personas.grid_worker)
    response = client.post(LOOKUP, {"id_number": resident.id_number, "purpose": PURPOSE})
    assert response.status_code == 200  # rendered in place, not redirected to a GET
    assert "Location" not in response
    page = html(response)
    urls = urls_in(page)
    assert f"/registry/residents/{resident.pk}/" in urls
    assert LOOKUP in urls  # the form posts to the bare lookup address
    for url in urls:
        assert resident.id_number not in url
        assert resident.phone not in url
    # The name search on the same page goes to the list, never to the lookup address.
    assert '<form method="get" action="/registry/residents/"' in page
    assert "style=" not in page and "<style" not in page
    assert client.get(LOOKUP, {"id_number": resident.id_number}).status_code == 405
    assert AccessRecord.objects.count() == 1


def test_lookup_outside_the_unmask_area_finds_nothing_but_is_logged(client, personas, people):
    other = people["other"]  # grid A1-2: the grid worker of A1-1 may not unmask there
    response = signed_in(client, personas.grid_worker).post(
        LOOKUP, {"id_number": other.id_number, "purpose": PURPOSE}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    page = html(response)
    assert "您的辖区内没有匹配的居民" in page
    assert "李四" not in page
    assert f"/registry/residents/{other.pk}/" not in page
    record = AccessRecord.objects.get()
    assert (record.outcome, record.subject_ids) == ("success", [])


def test_lookup_without_purpose_is_a_field_error_and_shows_no_match(client, personas, people):
    resident = people["mine"]
    response = signed_in(client, personas.grid_worker).post(
        LOOKUP, {"id_number": resident.id_number, "purpose": " "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    page = html(response)
    error = re.search(r'<ul class="errorlist" id="id_purpose_error"><li>([^<]*)</li>', page)
    assert error is not None
    assert "请说明用途" in error.group(1)
    assert "王小明" not in page
    assert f"/registry/residents/{resident.pk}/" not in page
    assert "lookup-result" not in page
    assert not AccessRecord.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"id_number": "370211198001010000"}, "id_number", "身份证号码"),
        ({"phone": "12345"}, "phone", "手机号码"),
        ({"id_number": "", "phone": ""}, "id_number", "身份证号码或手机号码"),
    ],
)
def test_lookup_with_a_bad_identifier_is_an_error_on_that_field(
    client, personas, people, data, field, message
):
    response = signed_in(client, personas.grid_worker).post(
        LOOKUP, {**data, "purpose": PURPOSE}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    page = html(response)
    error = re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>([^<]*)</li>', page)
    assert error is not None
    assert message in error.group(1)
    assert "lookup-result" not in page
    assert not AccessRecord.objects.exists()


@pytest.mark.parametrize("persona", ["dept_handler", "supervisor"])
def test_lookup_is_refused_for_a_role_without_unmask(client, personas, people, tree, persona):
    resident = ResidentFactory(grid=tree.grids[4], name="赵六")  # street B: both may view it
    client = signed_in(client, getattr(personas, persona))
    listing = html(client.get("/registry/residents/"))
    assert "赵六" in listing
    assert 'id="lookup"' not in listing
    assert LOOKUP not in listing
    response = client.post(
        LOOKUP, {"id_number": resident.id_number, "purpose": PURPOSE}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403
    page = html(response)
    assert "您的角色无权按身份证号码或手机号码查找居民" in page
    assert "赵六" not in page
    assert 'name="id_number"' not in page  # no form to try again
    record = AccessRecord.objects.get()
    assert (record.kind, record.outcome, record.subject_ids) == ("lookup", "denied", [])
    assert record.purpose == PURPOSE


def test_lookup_is_post_only_and_needs_csrf(personas, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.grid_worker)
    data = {"id_number": people["mine"].id_number, "purpose": PURPOSE}
    assert client.post(LOOKUP, data).status_code == 403
    assert client.get(LOOKUP).status_code == 405
    assert not AccessRecord.objects.exists()


def test_lookup_panel_is_shown_to_roles_that_may_unmask(client, personas, people):
    page = html(signed_in(client, personas.grid_worker).get("/registry/residents/"))
    assert '<details id="lookup" class="panel lookup">' in page  # closed until used
    assert f'action="{LOOKUP}" hx-post="{LOOKUP}"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "按身份证号码或手机号码查找" in page


def test_lookup_needs_sign_in_and_the_registry(client, personas):
    assert client.post(LOOKUP).status_code == 302
    response = signed_in(client, personas.resident).post(LOOKUP, {"purpose": PURPOSE})
    assert response.status_code == 403
    assert not AccessRecord.objects.exists()


# --- Language ---------------------------------------------------------------------------------


def test_language_switch_changes_the_page_text(client, personas):
    client = signed_in(client, personas.grid_worker)
    chinese = html(client.get("/"))
    assert "退出登录" in chinese and "Sign out" not in chinese
    english(client)
    page = html(client.get("/"))
    assert '<html lang="en">' in page
    assert "Sign out" in page and "退出登录" not in page
    assert '<span class="role-badge">Grid worker</span>' in page


def test_english_failed_sign_in_message(client, personas):
    english(client)
    response = client.post("/login/", {"username": "grid1", "password": "nope"})
    assert "Please enter a correct username and password" in html(response)


def test_english_area_names_are_used_when_recorded(client, personas):
    client = english(signed_in(client, personas.supervisor))
    page = html(client.get("/areas/370211/"))
    assert "<h1>Huangdao District" in page


# --- Security headers and CSP-safe markup -----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/", "/areas/370211001/", "/registry/residents/", "/areas/locate/?lat=35.85&lon=120.05"],
)
def test_pages_have_no_inline_script_or_style(client, personas, people, url):
    response = signed_in(client, personas.admin).get(url)
    assert response.status_code == 200
    page = html(response)
    assert "style=" not in page
    assert "<style" not in page
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'src="/static/' in tag
    assert re.search(r"\son[a-z]+=", page) is None
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


@pytest.mark.parametrize(
    "url", ["/registry/residents/", "/registry/organisations/", "/registry/buildings/"]
)
def test_registry_lists_use_a_fixed_number_of_queries(client, personas, tree, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(client, personas.grid_worker)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            household = HouseholdFactory(grid=tree.grids[0])
            ResidentFactory(grid=tree.grids[0], household=household)
            OrganisationFactory(grid=tree.grids[0])
            BuildingFactory(grid=tree.grids[0])

    add(2)
    few = count()
    add(20)
    assert count() == few
    assert few <= 12
