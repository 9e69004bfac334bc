"""The admin back-office: masked personal data, import and export pages, geo revision bumps."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from gridlink.core.models import AccessRecord, AuditEvent
from gridlink.core.validators import make_id_number
from gridlink.geo.locator import current_revision
from gridlink.geo.models import Area
from gridlink.registry.masking import mask_id_number, mask_phone
from gridlink.registry.models import GridAssignment, Household, Resident
from tests.factories import (
    BuildingFactory,
    HouseholdFactory,
    OrganisationFactory,
    ResidentFactory,
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


def token_of(html: str) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{32})"', html)
    assert match, "no apply form on the page"
    return match.group(1)


def test_resident_list_and_search_show_masked_values_only(client, root, tree):
    resident = ResidentFactory(id_number=ID_A, phone="13812345678", grid=tree.grids[0], name="张三")
    url = reverse("admin:registry_resident_changelist")

    html = client.get(url).content.decode()
    table = result_table(html)
    assert "张三" in table
    assert ID_A not in html and "13812345678" not in html
    assert mask_id_number(ID_A) in table and mask_phone("13812345678") in table

    # An exact ID number finds the resident; the results still show it masked.
    table = result_table(client.get(url, {"q": ID_A}).content.decode())
    assert "张三" in table and ID_A not in table
    # A fragment of the masked digits finds nothing.
    html = client.get(url, {"q": ID_A[6:14]}).content.decode()
    assert '<table id="result_list">' not in html and "张三" not in html

    change = client.get(reverse("admin:registry_resident_change", args=[resident.pk]))
    html = change.content.decode()
    assert change.status_code == 200
    assert ID_A not in html and "13812345678" not in html
    assert mask_id_number(ID_A) in html and mask_phone("13812345678") in html


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
        "birth_date": "1980-01-01",
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

    # Sex must agree with the ID number, as in imports.
    response = client.post(url, {**form, "sex": "F"})
    assert response.status_code == 200
    assert "17th digit says M" in response.content.decode()


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
    assert response.status_code == 302, response.content.decode()[:3000]
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
