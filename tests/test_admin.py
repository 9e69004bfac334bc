"""The admin back-office: masked personal data, import and export pages, geo revision bumps."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import stat
import time
from pathlib import Path

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from gridlink.accounts.roles import Role
from gridlink.core.models import AccessRecord, AuditEvent
from gridlink.core.validators import make_id_number, sex_from_id
from gridlink.geo.locator import current_revision
from gridlink.geo.models import Area, Department
from gridlink.registry.exchange import purge_stale_uploads
from gridlink.registry.masking import mask_id_number, mask_phone
from gridlink.registry.models import GridAssignment, Household, Resident, Tag
from tests.factories import (
    ApiTokenFactory,
    BuildingFactory,
    HouseholdFactory,
    OrganisationFactory,
    ResidentFactory,
    RoleAssignmentFactory,
    TagFactory,
    UserFactory,
)

HEADER = ["id_number", "name", "grid_code", "phone"]
ID_A = make_id_number("370211", dt.date(1980, 1, 1), 11)
ID_B = make_id_number("370211", dt.date(1985, 3, 4), 23)
ID_C = make_id_number("370211", dt.date(1992, 7, 8), 35)


@pytest.fixture(autouse=True)
def english_and_private_uploads(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    with translation.override("en"):
        yield


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # pages in English, whatever the default
    return client


@pytest.fixture
def root(client, tree):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def staff_user(username: str, perms: list[str], role=None, area=None, **scope):
    """A staff member (not a superuser) with Django permissions ("app.codename") and a role."""
    user = UserFactory(username=username, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    if role is not None:
        RoleAssignmentFactory(user=user, role=role, area=area, **scope)
    return user


def csv_upload(name: str, rows: list[list[str]], header=HEADER) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def result_table(html: str) -> str:
    """The rows of the change list (the header's sort links repeat the user's own query)."""
    match = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert match, "no result list on the page"
    return match.group(1)


def form_errors(response) -> list[str]:
    return re.findall(r'class="errorlist.*?</ul>', response.content.decode(), re.S)


def token_of(html: str) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{32})"', html)
    assert match, "no apply form on the page"
    return match.group(1)


def test_resident_list_and_search_show_masked_values_only(client, root, tree):
    resident = ResidentFactory(id_number=ID_A, phone="13812345678", grid=tree.grids[0], name="张三")
    ResidentFactory(grid=tree.grids[0], name="李四")
    url = reverse("admin:registry_resident_changelist")

    html = client.get(url).content.decode()
    table = result_table(html)
    assert "张三" in table
    assert ID_A not in html and "13812345678" not in html
    assert mask_id_number(ID_A) in table and mask_phone("13812345678") in table

    # The list searches by name.
    table = result_table(client.get(url, {"q": "张三"}).content.decode())
    assert "张三" in table and "李四" not in table

    # An ID number or a mobile is no search term: it is dropped from the address (other
    # parameters stay) before any page or link repeats it, and nothing is searched.
    for identifier in (ID_A, "13812345678", "138 1234 5678", ID_A[:11]):
        response = client.get(url, {"q": identifier, "sex": "M"})
        assert response.status_code == 302
        assert response["Location"] == f"{url}?sex=M"
        page = client.get(response["Location"]).content.decode()
        assert identifier not in page and "Find by ID number or phone" in page
    # The list links to the logged lookup, which it does not replace.
    assert f'href="{reverse("web:resident_list")}#lookup"' in page

    change = client.get(reverse("admin:registry_resident_change", args=[resident.pk]))
    html = change.content.decode()
    assert change.status_code == 200
    assert ID_A not in html and "13812345678" not in html
    assert mask_id_number(ID_A) in html and mask_phone("13812345678") in html
    assert "_changelist_filters" not in html


def test_resident_change_form_keeps_blank_personal_fields(client, root, tree):
    resident = ResidentFactory(
        id_number=ID_A,
        sex="M",
        birth_date=dt.date(1980, 1, 1),
        phone="13812345678",
        grid=tree.grids[0],
        name="张三",
    )
    url = reverse("admin:registry_resident_change", args=[resident.pk])
    form = {
        "name": "张三丰",
        "id_number": "",
        "sex": "M",
        "phone": "",
        "grid": tree.grids[0].pk,
        "residence_type": "registered",
        "relation_to_head": "",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    resident.refresh_from_db()
    assert (resident.name, resident.id_number, resident.phone) == ("张三丰", ID_A, "13812345678")

    response = client.post(url, {**form, "clear_phone": "on"})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.phone == "" and resident.id_number == ID_A

    # Sex must agree with the ID number, as in imports; the form says so once.
    response = client.post(url, {**form, "sex": "F"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("17th digit says M") == 1
    resident.refresh_from_db()
    assert resident.sex == "M"


BORN = dt.date(1971, 11, 28)
ID_BORN = make_id_number("370211", BORN, 31)  # odd sequence: male
BIRTH_DATE_SPELLINGS = ("1971-11-28", "1971/11/28", "19711128", "Nov. 28, 1971", "1971年11月28日")


def test_resident_pages_show_the_birth_year_never_the_birth_date(client, root, tree):
    resident = ResidentFactory(
        id_number=ID_BORN, sex="M", birth_date=BORN, phone="", grid=tree.grids[0], name="王五"
    )
    url = reverse("admin:registry_resident_change", args=[resident.pk])
    for language in ("en", "zh-hans"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        html = response.content.decode()
        assert response.status_code == 200
        assert re.search(r"<div class=\"readonly\">1971</div>", html), html
        for spelling in BIRTH_DATE_SPELLINGS:
            assert spelling not in html, spelling
        assert 'name="birth_date"' not in html

    # The view-only page of a staff member who may not change it shows no more.
    viewer = staff_user("viewer", ["registry.view_resident"], Role.DISPATCHER, tree.streets[0])
    client.force_login(viewer)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and 'name="name"' not in html and "王五" in html
    # A dispatcher may not see the minor-under-14 tag: an age band, not the year.
    assert not re.search(r"<div class=\"readonly\">1971</div>", html)
    assert re.search(r"<div class=\"readonly\">35-59</div>", html)
    for spelling in BIRTH_DATE_SPELLINGS:
        assert spelling not in html, spelling


def test_resident_birth_date_is_taken_from_the_id_number_on_save(client, root, tree):
    resident = ResidentFactory(
        id_number=ID_A, sex="M", birth_date=dt.date(1980, 1, 1), phone="", grid=tree.grids[0]
    )
    form = {
        "name": "张三",
        "id_number": ID_BORN,
        "sex": "M",
        "phone": "",
        "grid": tree.grids[0].pk,
        "residence_type": "registered",
        "relation_to_head": "",
    }
    url = reverse("admin:registry_resident_change", args=[resident.pk])
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    resident.refresh_from_db()
    assert (resident.id_number, resident.birth_date) == (ID_BORN, BORN)

    response = client.post(reverse("admin:registry_resident_add"), {**form, "id_number": ID_C})
    assert response.status_code == 302, form_errors(response)
    assert Resident.objects.get(id_number=ID_C).birth_date == dt.date(1992, 7, 8)


def test_organisation_list_refuses_a_mobile_as_search_but_finds_a_credit_code(client, root, tree):
    org = OrganisationFactory(grid=tree.grids[0], contact_phone="13700001111", name="某公司")
    url = reverse("admin:registry_organisation_changelist")
    response = client.get(url, {"q": "+86 137-0000-1111"})
    assert response.status_code == 302 and response["Location"] == url
    assert "某公司" in result_table(client.get(url, {"q": org.credit_code}).content.decode())


def test_organisation_list_masks_the_contact_phone(client, root, tree):
    OrganisationFactory(grid=tree.grids[0], contact_phone="13700001111", name="某公司")
    html = client.get(reverse("admin:registry_organisation_changelist")).content.decode()
    assert "某公司" in result_table(html)
    assert "13700001111" not in html and mask_phone("13700001111") in html


def test_import_page_round_trip_upload_report_apply(client, root, tree):
    url = reverse("admin:registry_resident_import")
    changelist = client.get(reverse("admin:registry_resident_changelist")).content.decode()
    assert url in changelist and reverse("admin:registry_resident_export") in changelist

    page = client.get(url)
    assert page.status_code == 200 and "id_number, name, grid_code" in page.content.decode()

    bad_rows = [
        [ID_A, "甲", tree.grids[0].code, "13800000001"],
        [ID_B, "乙", "370299999999999", ""],
    ]
    response = client.post(url, {"file": csv_upload("people.csv", bad_rows)})
    html = response.content.decode()
    assert response.status_code == 200
    errors = re.search(r'<table id="import-errors">.*?</table>', html, re.S).group(0)
    assert re.search(
        r"<td>3</td>\s*<td>grid_code</td>\s*<td>No grid has the code 370299999999999", errors
    )
    assert 'name="apply_valid"' in html
    assert Resident.objects.count() == 0  # the check is a dry run

    good_rows = [
        bad_rows[0],
        [ID_B, "乙", tree.grids[1].code, ""],
        [ID_C, "丙", tree.grids[1].code, ""],
    ]
    response = client.post(url, {"file": csv_upload("people.csv", good_rows)})
    html = response.content.decode()
    counts = re.search(r'<table id="import-counts">.*?</table>', html, re.S).group(0)
    assert re.search(r"<td>3</td>\s*<td>3</td>\s*<td>0</td>\s*<td>0</td>\s*<td>0</td>", counts)
    assert 'name="apply_valid"' not in html
    assert Resident.objects.count() == 0

    response = client.post(url, {"token": token_of(html)})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:registry_resident_changelist")
    assert Resident.objects.count() == 3
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "registry.imported" and event.actor_username == "root"
    assert event.data["file"] == "people.csv"

    # The token is spent: applying again is refused, nothing is imported twice.
    response = client.post(url, {"token": token_of(html)})
    assert "expired" in response.content.decode()


def test_import_page_can_apply_only_the_valid_rows(client, root, tree):
    url = reverse("admin:registry_household_import")
    rows = [["H-1", tree.grids[0].code], ["H-2", "nope"]]
    html = client.post(
        url, {"file": csv_upload("h.csv", rows, header=["number", "grid_code"])}
    ).content.decode()
    token = token_of(html)
    response = client.post(url, {"token": token})  # without the option: nothing written
    assert response.status_code == 200 and Household.objects.count() == 0
    response = client.post(url, {"token": token, "apply_valid": "on"})
    assert response.status_code == 302
    assert list(Household.objects.values_list("number", flat=True)) == ["H-1"]


def test_import_page_reports_file_level_problems(client, root, tree):
    url = reverse("admin:geo_area_import")
    response = client.post(url, {"file": SimpleUploadedFile("areas.xls", b"junk")})
    assert "Save .xls workbooks as .xlsx" in response.content.decode()
    response = client.post(url, {"file": csv_upload("a.csv", [["1"]], header=["colour"])})
    html = response.content.decode()
    assert "unknown columns: colour" in html
    assert 'id="import-apply"' not in html


def test_export_page_downloads_masked_csv_and_logs_it(client, root, tree):
    resident = ResidentFactory(id_number=ID_A, phone="13812345678", grid=tree.grids[0])
    url = reverse("admin:registry_resident_export")
    assert client.get(url).status_code == 200

    response = client.post(url, {"fmt": "csv", "purpose": ""})
    assert response.status_code == 200
    assert "State the purpose" in response.content.decode()

    response = client.post(url, {"fmt": "csv", "purpose": "case 2025-0042"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="residents-')
    body = response.content.decode("utf-8-sig")
    assert ID_A not in body and mask_id_number(ID_A) in body
    record = AccessRecord.objects.order_by("-seq").first()
    assert record.kind == "export" and record.subject_ids == [resident.pk]
    assert record.purpose == "case 2025-0042" and record.ip == "127.0.0.1"

    response = client.post(reverse("admin:registry_building_export"), {"fmt": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_saving_an_area_in_the_admin_bumps_the_geo_revision(client, root, tree):
    grid = tree.grids[0]
    revision = current_revision()
    form = {
        "code": grid.code,
        "parent": grid.parent_id,
        "level": grid.level,
        "kind": grid.kind,
        "name_zh": "新名字",
        "name_en": "",
        "grid_type": grid.grid_type,
        "households": 400,
        "residents": 1000,
        "valid_from": grid.valid_from.isoformat(),
        "valid_to": "",
        "geometry": '{"type": "Polygon", "coordinates": [[[120.0, 35.8], [120.1, 35.8], '
        "[120.1, 35.9], [120.0, 35.9], [120.0, 35.8]]]}",
    }
    response = client.post(reverse("admin:geo_area_change", args=[grid.pk]), form)
    assert response.status_code == 302, form_errors(response)
    assert Area.objects.get(pk=grid.pk).name_zh == "新名字"
    assert current_revision() == revision + 1

    response = client.post(
        reverse("admin:geo_area_change", args=[grid.pk]), {**form, "geometry": '{"type": "Point"}'}
    )
    assert response.status_code == 200
    assert "type must be Polygon or MultiPolygon" in response.content.decode()
    assert current_revision() == revision + 1


def test_every_admin_page_renders(client, root, personas):
    grid = Area.objects.get(code="370211001001001")
    building = BuildingFactory(grid=grid)
    HouseholdFactory(grid=grid, building=building)
    TagFactory(code="elderly")
    GridAssignment.objects.create(
        user=personas.grid_worker, grid=grid, started_on=dt.date(2024, 1, 1)
    )
    for name in (
        "geo_area",
        "geo_department",
        "registry_tag",
        "registry_building",
        "registry_household",
        "registry_resident",
        "registry_organisation",
        "registry_gridassignment",
    ):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
        assert client.get(reverse(f"admin:{name}_add")).status_code == 200, name
    html = client.get(reverse("admin:geo_area_changelist"), {"q": "370211001"}).content.decode()
    assert "370211001001001" in result_table(html)
    html = client.get(reverse("admin:registry_gridassignment_changelist")).content.decode()
    assert "370211001001001" in result_table(html)


def test_staff_without_rights_cannot_reach_import_or_export(client, tree):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:registry_resident_import")).status_code == 403
    assert client.get(reverse("admin:registry_resident_export")).status_code == 403


# --- Scope of staff who are not superusers ---------------------------------------------------

RESIDENT_PERMS = [
    "registry.view_resident",
    "registry.add_resident",
    "registry.change_resident",
    "registry.delete_resident",
    "registry.view_household",
    "geo.view_area",
]


def resident_form(resident: Resident, **changes) -> dict:
    return {
        "name": resident.name,
        "id_number": "",
        "sex": sex_from_id(resident.id_number),
        "phone": "",
        "grid": resident.grid_id,
        "residence_type": resident.residence_type,
        "relation_to_head": "",
        **changes,
    }


def test_staff_edit_residents_only_inside_their_registry_edit_scope(client, tree):
    inside = ResidentFactory(grid=tree.grids[0], name="本社区")
    outside = ResidentFactory(grid=tree.grids[4], name="外街道")  # street B
    staff = staff_user("comm-a1", RESIDENT_PERMS, Role.COMMUNITY_STAFF, tree.communities[0])
    client.force_login(staff)

    # Outside the scope the resident does not exist: Django's admin answers "not found"
    # with a redirect to the index, for reading, changing and deleting alike.
    change_out = reverse("admin:registry_resident_change", args=[outside.pk])
    delete_out = reverse("admin:registry_resident_delete", args=[outside.pk])
    for response in (
        client.get(change_out),
        client.post(change_out, resident_form(outside, name="改")),
        client.post(delete_out, {"post": "yes"}),
    ):
        assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    outside.refresh_from_db()
    assert outside.name == "外街道"

    # Inside: the resident may be edited, but not moved into another street's grid.
    change_in = reverse("admin:registry_resident_change", args=[inside.pk])
    response = client.post(change_in, resident_form(inside, name="搬走", grid=tree.grids[4].pk))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    inside.refresh_from_db()
    assert (inside.name, inside.grid) == ("本社区", tree.grids[0])

    response = client.post(change_in, resident_form(inside, grid=tree.grids[1].pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    inside.refresh_from_db()
    assert inside.grid == tree.grids[1]

    # Nor added there.
    response = client.post(
        reverse("admin:registry_resident_add"),
        resident_form(inside, id_number=ID_C, sex="M", grid=tree.grids[4].pk),
    )
    assert response.status_code == 200
    assert not Resident.objects.filter(id_number=ID_C).exists()


def test_the_form_checks_the_scope_again_on_save(rf, tree):
    """Behind the limited choices, the save itself refuses a grid outside the scope, and a
    stored record outside it (as if the choice list or the page were stale)."""
    staff = staff_user("comm-a1", RESIDENT_PERMS, Role.COMMUNITY_STAFF, tree.communities[0])
    request = rf.post("/admin/registry/resident/add/")
    request.user = staff
    form_class = django_admin.site.get_model_admin(Resident).get_form(request)
    data = {"name": "新人", "id_number": ID_C, "sex": "M", "residence_type": "registered"}

    form = form_class(data={**data, "grid": tree.grids[4].pk})
    form.fields["grid"].queryset = Area.objects.all()
    assert not form.is_valid()
    assert form.errors["grid"] == ["Choose an area inside the area where you may edit."]

    outside = ResidentFactory(grid=tree.grids[4])
    form = form_class(data={**data, "id_number": "", "grid": tree.grids[0].pk}, instance=outside)
    assert not form.is_valid()
    assert form.non_field_errors() == ["This record lies outside the area where you may edit."]
    assert form_class(data={**data, "grid": tree.grids[0].pk}).is_valid()


def test_staff_may_view_but_not_change_residents_outside_their_edit_scope(client, tree):
    elsewhere = ResidentFactory(grid=tree.grids[2], name="社区A2")  # community A2, street A
    staff = staff_user("mixed", RESIDENT_PERMS, Role.COMMUNITY_STAFF, tree.communities[0])
    RoleAssignmentFactory(user=staff, role=Role.DISPATCHER, area=tree.streets[0])  # view only
    client.force_login(staff)
    url = reverse("admin:registry_resident_change", args=[elsewhere.pk])

    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "社区A2" in html and 'name="name"' not in html
    assert client.post(url, resident_form(elsewhere, name="改")).status_code == 403
    delete = reverse("admin:registry_resident_delete", args=[elsewhere.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    elsewhere.refresh_from_db()
    assert elsewhere.name == "社区A2"


def test_grid_autocomplete_offers_only_grids_inside_the_edit_scope(client, tree):
    url = reverse("admin:autocomplete")
    params = {"app_label": "registry", "model_name": "resident", "field_name": "grid"}

    def offered(**extra) -> set[int]:
        response = client.get(url, {**params, **extra})
        assert response.status_code == 200
        return {int(row["id"]) for row in response.json()["results"]}

    staff = staff_user("comm-a1", RESIDENT_PERMS, Role.COMMUNITY_STAFF, tree.communities[0])
    client.force_login(staff)
    assert offered(term="") == {tree.grids[0].pk, tree.grids[1].pk}
    assert offered(term=tree.grids[4].code) == set()
    assert offered(term="370211") == {tree.grids[0].pk, tree.grids[1].pk}

    # A superuser is offered every grid, and still only grids.
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert offered(term="") == {g.pk for g in tree.grids}


def test_staff_cannot_open_the_user_admin_or_make_themselves_superuser(client, tree):
    staff = staff_user(
        "ambitious",
        [
            "accounts.view_user",
            "accounts.change_user",
            "accounts.add_roleassignment",
            "accounts.view_roleassignment",
            "accounts.view_apitoken",
            "auth.view_group",
            "auth.change_group",
        ],
        Role.ADMIN,
        tree.district,
    )
    client.force_login(staff)
    change = reverse("admin:accounts_user_change", args=[staff.pk])
    for url in (
        reverse("admin:accounts_user_changelist"),
        change,
        reverse("admin:auth_user_password_change", args=[staff.pk]),
        reverse("admin:accounts_roleassignment_add"),
        reverse("admin:accounts_apitoken_changelist"),
        reverse("admin:auth_group_changelist"),
    ):
        assert client.get(url).status_code == 403, url

    response = client.post(
        change,
        {
            "username": "ambitious",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "role_assignments-TOTAL_FORMS": "0",
            "role_assignments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    staff.refresh_from_db()
    assert not staff.is_superuser
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:accounts_user_changelist") not in index


def test_user_changes_and_password_changes_in_the_admin_are_audited(client, root):
    joined = dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in Asia/Shanghai
    clerk = UserFactory(username="clerk", display_name="小王", date_joined=joined)
    response = client.post(
        reverse("admin:accounts_user_change", args=[clerk.pk]),
        {
            "username": "clerk",
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "is_staff": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "09:00:00",
            # The form compares date_joined with the initial value it sent as hidden inputs.
            "initial-date_joined_0": "2024-01-01",
            "initial-date_joined_1": "09:00:00",
            "display_name": "小王",
            "phone": "",
            "role_assignments-TOTAL_FORMS": "0",
            "role_assignments-INITIAL_FORMS": "0",
            "role_assignments-MIN_NUM_FORMS": "0",
            "role_assignments-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, form_errors(response)
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.target_type, event.target_id) == (
        "user.changed",
        "user",
        str(clerk.pk),
    )
    assert event.actor_username == "root"
    assert event.data["fields"] == ["is_staff"] and event.data["security_fields"] == ["is_staff"]

    url = reverse("admin:auth_user_password_change", args=[clerk.pk])
    before = AuditEvent.objects.count()
    mismatch = {"usable_password": "true", "password1": "Gl-pass-2025!", "password2": "other"}
    assert client.post(url, mismatch).status_code == 200
    assert AuditEvent.objects.count() == before  # nothing changed, nothing audited
    same = {**mismatch, "password2": "Gl-pass-2025!"}
    assert client.post(url, same).status_code == 302
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "user.changed" and event.target_id == str(clerk.pk)
    assert event.data["fields"] == ["password"] and event.data["security_fields"] == ["password"]
    clerk.refresh_from_db()
    assert clerk.check_password("Gl-pass-2025!")

    no_roles = {"role_assignments-TOTAL_FORMS": "0", "role_assignments-INITIAL_FORMS": "0"}
    response = client.post(
        reverse("admin:accounts_user_add"), {"username": "newbie", **same, **no_roles}
    )
    assert response.status_code == 302, form_errors(response)
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "user.created" and event.data["username"] == "newbie"
    assert event.data["fields"] == ["password", "username"]


def test_api_tokens_are_read_only_and_revoked_by_an_audited_action(client, root):
    owner = UserFactory(username="machine")
    expires = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    token = ApiTokenFactory(
        user=owner, key_id="a1b2c3d4e5f6", secret_hash="5" * 64, expires_at=expires
    )
    other = ApiTokenFactory(user=owner, key_id="0f0f0f0f0f0f", secret_hash="6" * 64)
    url = reverse("admin:accounts_apitoken_change", args=[token.pk])

    html = client.get(url).content.decode()
    assert "a1b2c3d4e5f6" in html and "5" * 64 not in html
    assert 'name="expires_at' not in html and 'name="user"' not in html
    response = client.post(
        url,
        {"name": "x", "user": root.pk, "expires_at_0": "2099-01-01", "expires_at_1": "00:00:00"},
    )
    assert response.status_code == 403
    token.refresh_from_db()
    assert (token.user, token.expires_at, token.name) == (owner, expires, "test client")
    delete = reverse("admin:accounts_apitoken_delete", args=[token.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403

    response = client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk], "index": "0"},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    other.refresh_from_db()
    assert token.revoked_at is not None and other.revoked_at is None
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.target_id, event.actor_username) == (
        "token.revoked",
        "a1b2c3d4e5f6",
        "root",
    )


def test_audit_logs_are_shown_only_to_holders_of_audit_view(client, tree):
    perms = ["core.view_auditevent", "core.view_accessrecord"]
    clerk = staff_user("clerk", perms, Role.COMMUNITY_STAFF, tree.communities[0])
    auditor = staff_user("auditor", perms, Role.SUPERVISOR, tree.district)
    for user, status in ((clerk, 403), (auditor, 200)):
        client.force_login(user)
        for name in ("core_auditevent", "core_accessrecord"):
            assert client.get(reverse(f"admin:{name}_changelist")).status_code == status, name


def area_form(area: Area, **changes) -> dict:
    return {
        "code": area.code,
        "parent": area.parent_id or "",
        "level": area.level,
        "kind": area.kind,
        "name_zh": area.name_zh,
        "name_en": area.name_en,
        "grid_type": area.grid_type,
        "households": area.households,
        "residents": area.residents,
        "valid_from": area.valid_from.isoformat(),
        "valid_to": "",
        "geometry": json.dumps(area.geometry),
        **changes,
    }


def test_reference_data_is_changed_only_with_reference_edit_inside_its_scope(client, tree):
    perms = [
        "geo.view_area",
        "geo.change_area",
        "geo.add_area",
        "geo.view_department",
        "geo.change_department",
        "registry.view_tag",
        "registry.change_tag",
    ]
    grid, street = tree.grids[0], tree.streets[0]
    tag = TagFactory(code="elderly", name_zh="老年人")
    department = Department.objects.create(code="CG-B", name_zh="城管B", kind="urban_management")
    department.areas.add(tree.streets[1])

    clerk = staff_user("clerk", perms, Role.COMMUNITY_STAFF, tree.communities[0])
    client.force_login(clerk)
    change_grid = reverse("admin:geo_area_change", args=[grid.pk])
    assert client.post(change_grid, area_form(grid, name_zh="改名")).status_code == 403
    tag_form = {"code": "elderly", "name_zh": "改", "name_en": "", "granted_roles": "[]"}
    tag_url = reverse("admin:registry_tag_change", args=[tag.pk])
    assert client.post(tag_url, tag_form).status_code == 403

    local_admin = staff_user("local-admin", perms, Role.ADMIN, tree.communities[0])
    client.force_login(local_admin)
    response = client.post(change_grid, area_form(grid, name_zh="新名字"))
    assert response.status_code == 302, form_errors(response)
    change_street = reverse("admin:geo_area_change", args=[street.pk])
    assert client.post(change_street, area_form(street, name_zh="改名")).status_code == 403
    response = client.post(change_grid, area_form(grid, parent=tree.communities[2].pk))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    change_department = reverse("admin:geo_department_change", args=[department.pk])
    assert client.get(change_department).status_code == 200  # to look at
    assert client.post(change_department, {"code": "CG-B", "name_zh": "改"}).status_code == 403
    assert client.post(tag_url, tag_form).status_code == 302

    assert Area.objects.get(pk=grid.pk).name_zh == "新名字"
    assert Area.objects.get(pk=grid.pk).parent == tree.communities[0]
    assert Area.objects.get(pk=street.pk).name_zh == street.name_zh
    assert Department.objects.get(pk=department.pk).name_zh == "城管B"
    assert Tag.objects.get(pk=tag.pk).name_zh == "改"


# --- Uploaded import files ---------------------------------------------------------------------


def test_import_uploads_are_private_and_removed_after_apply_cancel_or_an_hour(
    client, root, tree, settings
):
    url = reverse("admin:registry_household_import")
    folder = Path(settings.DATA_DIR) / "import-uploads"
    rows = [["H-1", tree.grids[0].code]]

    def upload() -> str:
        file = csv_upload("h.csv", rows, header=["number", "grid_code"])
        return token_of(client.post(url, {"file": file}).content.decode())

    token = upload()
    assert stat.S_IMODE((folder / token).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    response = client.post(url, {"token": token, "cancel": "Cancel"})
    assert response.status_code == 302 and not (folder / token).exists()
    assert "expired" in client.post(url, {"token": token}).content.decode()
    assert Household.objects.count() == 0

    token = upload()
    assert client.post(url, {"token": token}).status_code == 302
    assert not (folder / token).exists() and Household.objects.count() == 1

    stale, fresh = upload(), upload()
    two_hours_ago = time.time() - 2 * 3600
    os.utime(folder / stale, (two_hours_ago, two_hours_ago))
    (folder / "notes.txt").write_text("not an upload")
    os.utime(folder / "notes.txt", (two_hours_ago, two_hours_ago))
    assert client.get(url).status_code == 200  # any request to an import page purges
    assert not (folder / stale).exists()
    assert (folder / fresh).exists() and (folder / "notes.txt").exists()

    # The same function, for a periodic job.
    a_minute_ago = time.time() - 60
    os.utime(folder / fresh, (a_minute_ago, a_minute_ago))
    assert purge_stale_uploads(dt.timedelta(hours=1)) == 0
    assert purge_stale_uploads(dt.timedelta(seconds=30)) == 1
    assert not (folder / fresh).exists() and (folder / "notes.txt").exists()


def test_a_scoped_admin_must_say_where_its_records_lie():
    from django.contrib import admin

    from gridlink.accounts.admin import ScopedEditAdmin
    from gridlink.registry.models import Tag

    with pytest.raises(TypeError, match="object_areas"):
        type("Careless", (ScopedEditAdmin,), {})(Tag, admin.site)


def test_an_import_handler_must_parse_rows():
    from gridlink.registry.exchange.upserts import Handler

    with pytest.raises(TypeError):
        type("Careless", (Handler,), {"kind": "x"})(scope=None, areas=None)
