"""CSV/XLSX import and export of the registry: services, the command line, hostile files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from gridlink.accounts.roles import Role
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.models import AccessRecord, AuditEvent
from gridlink.core.validators import (
    birth_date_from_id,
    id_number_check_char,
    make_credit_code,
    make_id_number,
    sex_from_id,
)
from gridlink.geo.locator import current_revision, locator
from gridlink.geo.models import Area, Department, GridType, Level
from gridlink.registry.exchange import readers, registry_export, registry_import
from gridlink.registry.exchange.upserts import Handler
from gridlink.registry.masking import mask_id_number, mask_phone
from gridlink.registry.models import Building, Household, Organisation, Resident
from tests.factories import (
    BuildingFactory,
    HouseholdFactory,
    OrganisationFactory,
    ResidentFactory,
    RoleAssignmentFactory,
    TagFactory,
    UserFactory,
    square,
)

RESIDENT_HEADER = [
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "household_number",
    "grid_code",
    "residence_type",
    "relation_to_head",
    "tags",
]
AREA_HEADER = [
    "code",
    "parent_code",
    "level",
    "kind",
    "name_zh",
    "name_en",
    "grid_type",
    "households",
    "residents",
    "valid_from",
    "valid_to",
    "geometry",
]
ORG_HEADER = [
    "credit_code",
    "name",
    "kind",
    "grid_code",
    "building_address_code",
    "address",
    "legal_representative",
    "contact_phone",
    "employees",
]


# --- helpers ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English; the product's default language is zh-hans."""
    with translation.override("en"):
        yield


def write_table(path: Path, header: list[str], rows: list[list], *, encoding="utf-8") -> Path:
    """Write a real .csv or .xlsx file (by extension) with a header row."""
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding=encoding) as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(header)
        for row in rows:
            sheet.append(list(row))
        book.save(path)
    return path


def run_import(kind: str, path: Path, **options):
    return registry_import(kind=kind, data=path.read_bytes(), file_name=path.name, **options)


def error_cells(report) -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in report.errors}


def wrong_check_char(id_number: str) -> str:
    right = id_number[-1]
    return id_number[:-1] + ("1" if right != "1" else "2")


def registry_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and '"registry_' in q["sql"]
    ]


def read_export(path: Path) -> list[list[str]]:
    if path.suffix == ".csv":
        return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    return [[readers.cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def resident_snapshot() -> list[tuple]:
    rows = []
    for r in Resident.objects.order_by("id_number").prefetch_related("tags"):
        rows.append(
            (
                r.pk,
                r.id_number,
                r.name,
                r.sex,
                r.birth_date,
                r.phone,
                r.household_id,
                r.grid_id,
                r.residence_type,
                r.relation_to_head,
                sorted(t.code for t in r.tags.all()),
            )
        )
    return rows


# --- the acceptance scenario, in CSV and in XLSX -------------------------------------------

ID_1 = make_id_number("370211", dt.date(1980, 1, 1), 11)  # odd sequence: male
ID_2 = make_id_number("370211", dt.date(1990, 5, 6), 22)  # even: female
ID_3 = make_id_number("110101", dt.date(1975, 12, 31), 33)
ID_4 = make_id_number("370211", dt.date(2001, 2, 3), 44)
ID_5 = make_id_number("370211", dt.date(1966, 6, 6), 55)
ID_6 = make_id_number("370283", dt.date(1999, 9, 9), 66)
ID_7 = make_id_number("370211", dt.date(2010, 10, 10), 77)


@pytest.fixture
def registry_setup(tree):
    TagFactory(code="elderly", name_zh="老年人")
    TagFactory(code="veteran", name_zh="退役军人")
    HouseholdFactory(number="H001", grid=tree.grids[0])
    return tree


def resident_rows(tree, fmt: str, *, fixed: bool) -> list[list]:
    g1, g2 = tree.grids[0].code, tree.grids[1].code
    row_4_id = ID_3 if fixed else wrong_check_char(ID_3)
    row_6_grid = g2 if fixed else "370211009009009"
    good_7 = [ID_7, "小明", "", "", "", "H001", g1, "registered", "子", ""]
    if fixed:
        row_7 = good_7
    elif fmt == "csv":
        row_7 = [ID_7, "小明", "M"]  # three cells under a ten-column header
    else:
        row_7 = [*good_7, "stray value"]  # a value beyond the header's last column
    return [
        [
            ID_1,
            "张三",
            "M",
            "1980-01-01",
            "13800000001",
            "H001",
            g1,
            "registered",
            "户主",
            "elderly",
        ],
        [ID_2, "李四", "女", "", "", "H001", g1, "", "配偶", "elderly;veteran"],
        [row_4_id, "王五", "", "", "", "", g1, "floating", "", ""],
        [ID_4, "赵六", "", "2001-02-03", "", "", g2, "permanent", "", ""],
        [ID_5, "钱七", "M", "", "", "", row_6_grid, "", "", ""],
        row_7,
        [ID_6, "孙八", "", "", "138-0000-0006", "", g2, "", "", "veteran"],
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_acceptance_bad_rows_block_everything_then_fixed_file_imports_once(
    registry_setup, tmp_path, fmt
):
    tree = registry_setup
    bad = write_table(
        tmp_path / f"residents.{fmt}", RESIDENT_HEADER, resident_rows(tree, fmt, fixed=False)
    )
    audit_before = AuditEvent.objects.count()

    report = run_import("residents", bad)

    assert error_cells(report) == {(4, "id_number"), (6, "grid_code"), (7, "*")}
    assert report.error_rows == 3
    assert {e.row for e in report.errors} == {4, 6, 7}
    messages = {e.row: e.message for e in report.errors}
    right = id_number_check_char(ID_3[:17])
    assert messages[4] == (
        f"ID number check character is {wrong_check_char(ID_3)[-1]} but should be {right}."
    )
    assert "370211009009009" in messages[6]
    assert not report.applied
    assert Resident.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before

    fixed = write_table(
        tmp_path / f"fixed.{fmt}", RESIDENT_HEADER, resident_rows(tree, fmt, fixed=True)
    )
    report = run_import("residents", fixed)
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (7, 0, 0)
    assert report.applied
    assert Resident.objects.count() == 7
    li = Resident.objects.get(id_number=ID_2)
    assert li.sex == "F" and li.birth_date == dt.date(1990, 5, 6)  # derived from the ID
    assert sorted(t.code for t in li.tags.all()) == ["elderly", "veteran"]
    assert li.household.number == "H001"
    assert li.residence_type == "registered"  # blank keeps the default
    assert Resident.objects.get(id_number=ID_6).phone == "13800000006"
    assert Resident.objects.get(id_number=ID_7).sex == "M"
    assert AuditEvent.objects.count() == audit_before + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "registry.imported"
    assert event.data["counts"]["created"] == 7
    assert event.data["file"] == fixed.name

    before = resident_snapshot()
    with CaptureQueriesContext(connection) as queries:
        again = run_import("residents", fixed)
    assert (again.created, again.updated, again.unchanged, again.error_rows) == (0, 0, 7, 0)
    assert registry_writes(queries.captured_queries) == []
    assert resident_snapshot() == before


def test_changed_row_is_updated_and_tags_replaced(registry_setup, tmp_path):
    tree = registry_setup
    path = write_table(
        tmp_path / "r.csv",
        RESIDENT_HEADER,
        [[ID_1, "张三", "", "", "13800000001", "", tree.grids[0].code, "", "", "elderly"]],
    )
    run_import("residents", path)
    path = write_table(
        tmp_path / "r2.csv",
        RESIDENT_HEADER,
        [[ID_1, "张三丰", "", "", "", "", tree.grids[1].code, "", "", "veteran"]],
    )
    report = run_import("residents", path)
    assert (report.created, report.updated) == (0, 1)
    resident = Resident.objects.get(id_number=ID_1)
    assert resident.name == "张三丰"
    assert resident.grid == tree.grids[1]
    assert resident.phone == ""  # a blank cell in a column that may be empty empties it
    assert [t.code for t in resident.tags.all()] == ["veteran"]


def test_resident_sex_and_birth_date_must_agree_with_the_id_number(registry_setup, tmp_path):
    g1 = registry_setup.grids[0].code
    path = write_table(
        tmp_path / "r.csv",
        RESIDENT_HEADER,
        [
            [ID_1, "甲", "F", "", "", "", g1, "", "", ""],
            [ID_2, "乙", "", "1990-05-07", "", "", g1, "", "", ""],
            [mask_id_number(ID_4), "丙", "", "", "", "", g1, "", "", ""],
            [ID_5, "丁", "X", "1966/6/6", "12345", "", g1, "", "", "nope"],
            [
                ID_6,
                "戊",
                "男" if ID_6[16] in "13579" else "女",
                "1999年9月9日",
                "",
                "",
                g1,
                "",
                "",
                "",
            ],
        ],
    )
    report = run_import("residents", path)
    by_cell = {(e.row, e.column): e.message for e in report.errors}
    assert "17th digit says M" in by_cell[(2, "sex")]
    assert "which says 1990-05-06" in by_cell[(3, "birth_date")]
    assert "masked value" in by_cell[(4, "id_number")]
    assert by_cell[(5, "sex")] == "'X' is not one of: M, F."
    assert "Mobile number" in by_cell[(5, "phone")]
    assert "nope" in by_cell[(5, "tags")]
    assert not any(row == 6 for row, _ in by_cell)  # 男 and a Chinese date are understood
    assert Resident.objects.count() == 0


def test_duplicate_key_in_one_file_is_an_error_on_the_second_row(registry_setup, tmp_path):
    g1 = registry_setup.grids[0].code
    path = write_table(
        tmp_path / "r.csv",
        RESIDENT_HEADER,
        [
            [ID_1, "甲", "", "", "", "", g1, "", "", ""],
            [ID_1.lower(), "甲", "", "", "", "", g1, "", "", ""],
        ],
    )
    report = run_import("residents", path)
    assert error_cells(report) == {(3, "id_number")}
    assert "also in row 2" in report.errors[0].message


# --- areas, departments, buildings, households, organisations ------------------------------


def new_street_rows() -> list[list]:
    return [
        [
            "370211003",
            "370211",
            "2",
            "street",
            "街道C",
            "Street C",
            "",
            "",
            "",
            "2024-01-01",
            "",
            json.dumps(square(120.4, 35.8, 120.6, 36.0)),
        ],
        [
            "370211003001",
            "370211003",
            "community",  # a level by name works as well as by number
            "community",
            "社区C1",
            "",
            "",
            "",
            "",
            "2024-01-01",
            "",
            json.dumps(square(120.4, 35.8, 120.6, 35.9)),
        ],
        [
            "370211003001001",
            "370211003001",
            "4",
            "grid",
            "社区C1第1网格",
            "",
            "urban",
            "420",
            "1100",
            "2024-01-01",
            "",
            json.dumps(square(120.4, 35.8, 120.5, 35.9)),
        ],
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_areas_import_with_polygons_feeds_the_locator(
    tree, tmp_path, fmt, django_capture_on_commit_callbacks
):
    path = write_table(tmp_path / f"areas.{fmt}", AREA_HEADER, new_street_rows())
    revision = current_revision()
    with pytest.raises(Exception, match="outside every grid"):
        locator.locate(35.85, 120.45)

    with django_capture_on_commit_callbacks(execute=True):
        report = run_import("areas", path)

    assert report.errors == [] and report.created == 3
    grid = Area.objects.get(code="370211003001001")
    assert grid.parent.code == "370211003001"
    assert grid.level == Level.GRID and grid.grid_type == GridType.URBAN
    assert (grid.households, grid.residents) == (420, 1100)
    assert grid.path.startswith(tree.district.path)
    assert current_revision() == revision + 1
    chain = locator.locate(35.85, 120.45)
    assert [a.code for a in chain] == [
        "370211",
        "370211003",
        "370211003001",
        "370211003001001",
    ]

    again = run_import("areas", path)
    assert again.unchanged == 3 and again.created == again.updated == 0


def test_area_rows_are_checked_by_area_clean_and_geometry(tree, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[120.0, 35.8], [120.1, 35.9], [120.1, 35.8], [120.0, 35.9], [120.0, 35.8]]
        ],
    }
    feature = {"type": "Feature", "geometry": square(120.0, 35.8, 120.1, 35.9)}
    a1 = tree.communities[0].code
    rows = [
        ["370211002001009", a1, "4", "grid", "错前缀", "", "urban", "", "", "", "", ""],
        [a1 + "009", a1, "4", "grid", "蝴蝶", "", "urban", "", "", "", "", json.dumps(bowtie)],
        [a1 + "008", a1, "4", "grid", "要素", "", "", "", "", "", "", json.dumps(feature)],
        [a1 + "007", "370211099", "4", "grid", "无父", "", "", "", "", "", "", ""],
        [a1 + "006", a1, "4", "grid", "坏JSON", "", "", "", "", "", "", "{oops"],
        [a1 + "005", a1, "4", "grid", "窗口", "", "sea", "-3", "", "2024-02-01", "2024-01-01", ""],
        [a1 + "004", a1, "9", "street", "层级", "", "mars", "", "", "", "", ""],
    ]
    path = write_table(tmp_path / "areas.csv", AREA_HEADER, rows)
    report = run_import("areas", path)
    by_cell = {(e.row, e.column): e.message for e in report.errors}
    assert "must start with the parent's code" in by_cell[(2, "code")]
    assert "polygon is invalid" in by_cell[(3, "geometry")]
    assert "not a Feature" in by_cell[(4, "geometry")]
    assert "No area has the code 370211099" in by_cell[(5, "parent_code")]
    assert "not valid GeoJSON" in by_cell[(6, "geometry")]
    assert "outside 0–" in by_cell[(7, "households")]
    assert (7, "*") in by_cell  # valid_to before valid_from breaks the window constraint
    assert "'9' is not one of" in by_cell[(8, "level")]
    assert "'mars' is not one of" in by_cell[(8, "grid_type")]
    assert report.error_rows == 7
    assert (
        not Area.objects.filter(code__startswith=a1, level=Level.GRID)
        .exclude(pk__in=[g.pk for g in tree.grids])
        .exists()
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_area_and_department_exports_import_again_unchanged(tree, personas, tmp_path, fmt):
    station = Department.objects.create(
        code="CG-B-1", name_zh="城管B一分队", kind="urban_management", parent=personas.department
    )
    station.areas.add(tree.communities[2])
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    for kind in ("areas", "departments"):
        out = tmp_path / f"{kind}.{fmt}"
        with open(out, "wb") as fh:
            result = registry_export(kind=kind, actor=root, fmt=fmt, out=fh)
        assert result.rows == (15 if kind == "areas" else 2)
        rows = read_export(out)
        if kind == "departments":
            # The parent comes before its station, so the file re-imports in order.
            assert [r[0] for r in rows[1:]] == ["CG-B", "CG-B-1"]
        report = run_import(kind, out)
        assert report.errors == [], report.errors
        assert report.unchanged == result.rows and report.created == report.updated == 0


def test_departments_import_with_parents_and_areas(tree, tmp_path):
    header = ["code", "name_zh", "name_en", "kind", "parent_code", "area_codes"]
    rows = [
        ["QD-CG", "城管局", "Urban management bureau", "urban_management", "", "370211"],
        ["QD-CG-A", "城管A中队", "", "urban_management", "QD-CG", "370211001；370211001001"],
        ["QD-X", "某局", "", "nonsense", "", "370211777"],
        ["QD-Y", "某站", "", "water", "QD-NONE", ""],
    ]
    path = write_table(tmp_path / "d.xlsx", header, rows)
    report = run_import("departments", path)
    assert error_cells(report) == {(4, "kind"), (4, "area_codes"), (5, "parent_code")}
    assert Department.objects.filter(code__startswith="QD").count() == 0

    report = run_import("departments", path, apply_valid=True)
    assert report.created == 2 and report.applied
    station = Department.objects.get(code="QD-CG-A")
    assert station.parent.code == "QD-CG"
    assert sorted(a.code for a in station.areas.all()) == ["370211001", "370211001001"]

    rows[0][0:5] = ["QD-CG", "城管局", "", "urban_management", "QD-CG-A"]  # a cycle
    path = write_table(tmp_path / "d2.csv", header, rows[:2])
    report = run_import("departments", path)
    assert error_cells(report) == {(2, "parent_code")}
    assert "own parent" in report.errors[0].message


def test_buildings_then_households_import(tree, tmp_path):
    b_header = ["address_code", "address", "name", "grid_code", "lat", "lon", "use", "floors"]
    g1 = tree.grids[0]
    rows = [
        ["B0001", "长江路1号", "1号楼", g1.code, "35.85", "120.05", "residential", "18"],
        ["B0002", "长江路2号", "", g1.code, "95", "120.05", "commercial", ""],
        ["B0003", "长江路3号", "", tree.communities[0].code, "35.85", "120.05", "shop", "0"],
    ]
    report = run_import(
        "buildings", write_table(tmp_path / "b.csv", b_header, rows), apply_valid=True
    )
    by_cell = {(e.row, e.column): e.message for e in report.errors}
    assert "outside -90–90" in by_cell[(3, "lat")]
    assert "not a grid" in by_cell[(4, "grid_code")]
    assert "'shop' is not one of" in by_cell[(4, "use")]
    assert "outside 1–300" in by_cell[(4, "floors")]
    building = Building.objects.get(address_code="B0001")
    assert (building.floors, building.grid, building.lat) == (18, g1, 35.85)

    h_header = ["number", "building_address_code", "room", "grid_code"]
    rows = [
        ["H100", "B0001", "1-101", g1.code],
        ["H101", "", "", g1.code],
        ["H102", "B9999", "1-102", g1.code],
    ]
    path = write_table(tmp_path / "h.xlsx", h_header, rows)
    report = run_import("households", path, apply_valid=True)
    assert error_cells(report) == {(4, "building_address_code")}
    assert "B9999" in report.errors[0].message
    assert Household.objects.get(number="H100").building == building
    assert Household.objects.get(number="H101").building is None


def test_organisations_import_rejects_a_bad_credit_code(tree, tmp_path):
    good = make_credit_code("91370211MA3C00001")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [
        [
            good.lower(),
            "青岛某某有限公司",
            "enterprise",
            tree.grids[0].code,
            "",
            "长江路1号",
            "王某",
            "13900000001",
            "25",
        ],
        [bad, "错误代码公司", "shop", tree.grids[0].code, "", "", "", "", ""],
        [
            make_credit_code("52370211MJD000017"),
            "某协会",
            "social_org",
            tree.grids[1].code,
            "",
            "",
            "",
            "139****0000",
            "",
        ],
    ]
    report = run_import("organisations", write_table(tmp_path / "o.csv", ORG_HEADER, rows))
    by_cell = {(e.row, e.column): e.message for e in report.errors}
    assert set(by_cell) == {(3, "credit_code"), (4, "contact_phone")}
    assert "check character" in by_cell[(3, "credit_code")]
    assert "masked value" in by_cell[(4, "contact_phone")]
    assert Organisation.objects.count() == 0

    report = run_import("organisations", write_table(tmp_path / "o.csv", ORG_HEADER, rows[:1]))
    org = Organisation.objects.get()
    assert org.credit_code == good and org.employees == 25 and org.contact_phone == "13900000001"


# --- the command line -------------------------------------------------------------------


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_cli_prints_row_report_and_exits_1_with_nothing_written(registry_setup, tmp_path):
    path = write_table(
        tmp_path / "residents.csv",
        RESIDENT_HEADER,
        resident_rows(registry_setup, "csv", fixed=False),
    )
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_registry", "residents", str(path), stdout=out)
    assert failure.value.returncode == 1
    assert "--apply-valid" in str(failure.value)
    text = out.getvalue()
    right = id_number_check_char(ID_3[:17])
    assert (
        f"row 4, column id_number: ID number check character is "
        f"{wrong_check_char(ID_3)[-1]} but should be {right}." in text
    )
    assert "row 6, column grid_code: No grid has the code 370211009009009." in text
    assert "row 7, column *: This row has 3 cells; the header has 10." in text
    assert "7 rows — 4 created, 0 updated, 0 unchanged, 3 with errors" in text
    assert Resident.objects.count() == 0


def test_cli_apply_valid_writes_the_good_rows_and_still_exits_1(registry_setup, tmp_path):
    path = write_table(
        tmp_path / "residents.xlsx",
        RESIDENT_HEADER,
        resident_rows(registry_setup, "xlsx", fixed=False),
    )
    admin_user = UserFactory(username="boss")
    RoleAssignmentFactory(user=admin_user, role=Role.ADMIN, area=registry_setup.district)
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(
            "import_registry", "residents", str(path), "--apply-valid", "--user", "boss", stdout=out
        )
    assert failure.value.returncode == 1
    assert "The valid rows were written; 3 rows with errors were not." in out.getvalue()
    assert set(Resident.objects.values_list("id_number", flat=True)) == {ID_1, ID_2, ID_4, ID_6}
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "registry.imported" and event.actor_username == "boss"
    assert event.data["counts"] == {
        "rows": 7,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "errors": 3,
    }


def test_cli_dry_run_counts_but_writes_nothing(registry_setup, tmp_path):
    path = write_table(
        tmp_path / "residents.csv",
        RESIDENT_HEADER,
        resident_rows(registry_setup, "csv", fixed=True),
    )
    audit_before = AuditEvent.objects.count()
    out, _ = call("import_registry", "residents", str(path), "--dry-run")
    assert "7 rows — 7 created, 0 updated, 0 unchanged, 0 with errors. Dry run" in out
    assert Resident.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_cli_refuses_bad_arguments_clearly(tree, tmp_path, personas):
    good = write_table(tmp_path / "h.csv", ["number", "grid_code"], [["H1", tree.grids[0].code]])
    cases = [
        (("import_registry", "people", str(good)), "Unknown kind 'people'"),
        (("import_registry", "households", str(tmp_path / "missing.csv")), "No such file"),
        (("import_registry", "households", str(good), "--user", "nobody"), "No user is named"),
        (("import_registry", "households", str(good), "--user", "grid1"), "may not import"),
        (("export_registry", "households", str(tmp_path / "x.txt"), "--user", "admin1"), ".txt"),
    ]
    (tmp_path / "h.txt").write_text("number,grid_code\n")
    cases.append(
        (("import_registry", "households", str(tmp_path / "h.txt")), "Use a .csv or .xlsx")
    )
    for args, message in cases:
        with pytest.raises(CommandError, match=message):
            call(*args)
    assert Household.objects.filter(number="H1").count() == 0
    out, _ = call("import_registry", "households", str(good), "--user", "admin1")
    assert "1 created" in out


def test_cli_shows_a_progress_bar_for_big_files(tree, tmp_path):
    rows = [[f"H{n:05d}", tree.grids[n % 8].code] for n in range(1100)]
    path = write_table(tmp_path / "h.csv", ["number", "grid_code"], rows)
    out, err = call("import_registry", "households", str(path), "--dry-run")
    assert "1100/1100" in err
    assert "1100 created" in out
    small = write_table(tmp_path / "s.csv", ["number", "grid_code"], rows[:5])
    _, err = call("import_registry", "households", str(small), "--dry-run")
    assert err == ""


def test_import_with_a_scoped_user_stays_in_scope(registry_setup, tmp_path):
    tree = registry_setup
    local = UserFactory(username="local-admin")
    RoleAssignmentFactory(user=local, role=Role.ADMIN, area=tree.communities[0])
    rows = [
        [ID_1, "甲", "", "", "", "", tree.grids[0].code, "", "", ""],
        [ID_2, "乙", "", "", "", "", tree.grids[4].code, "", "", ""],  # street B
    ]
    report = run_import(
        "residents", write_table(tmp_path / "r.csv", RESIDENT_HEADER, rows), actor=local
    )
    assert error_cells(report) == {(3, "grid_code")}
    assert "outside the area you may import" in report.errors[0].message


def test_area_import_by_a_community_administrator_stays_in_the_community(tree, tmp_path):
    local = UserFactory(username="community-admin")
    RoleAssignmentFactory(user=local, role=Role.ADMIN, area=tree.communities[0])
    a1, b1 = tree.communities[0], tree.communities[2]
    rows = [
        [a1.code, a1.parent.code, "3", "community", "社区A1（新名）", "", "", "", "", "", "", ""],
        [a1.code + "003", a1.code, "4", "grid", "A1第3网格", "", "urban", "", "", "", "", ""],
        [b1.code + "003", b1.code, "4", "grid", "B1第3网格", "", "urban", "", "", "", "", ""],
        [
            tree.streets[0].code,
            "370211",
            "2",
            "street",
            "街道A（新名）",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    path = write_table(tmp_path / "areas.csv", AREA_HEADER, rows)
    report = run_import("areas", path, actor=local, apply_valid=True)
    assert error_cells(report) == {(4, "code"), (5, "code")}
    assert (report.created, report.updated) == (1, 1)
    assert Area.objects.get(code=a1.code).name_zh == "社区A1（新名）"
    assert not Area.objects.filter(code=b1.code + "003").exists()


# --- hostile and malformed files -----------------------------------------------------------


def test_header_problems_are_one_file_level_error(tree, tmp_path):
    path = write_table(tmp_path / "r.csv", ["id_number", "nmae", "grid_code", "colour"], [])
    with pytest.raises(DomainError) as failure:
        run_import("residents", path)
    message = failure.value.message
    assert "required columns missing: name" in message
    assert "unknown columns: nmae, colour" in message
    path = write_table(tmp_path / "dup.csv", ["number", "number", "grid_code"], [])
    with pytest.raises(DomainError, match="more than once: number"):
        run_import("households", path)


def test_binary_junk_and_fake_workbooks_are_refused(tree, tmp_path):
    junk = bytes(range(256)) * 40
    (tmp_path / "junk.csv").write_bytes(junk)
    (tmp_path / "junk.xlsx").write_bytes(junk)
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DomainError, match="not a CSV text file"):
        run_import("residents", tmp_path / "junk.csv")
    with pytest.raises(DomainError, match="not a readable XLSX workbook"):
        run_import("residents", tmp_path / "junk.xlsx")
    with pytest.raises(DomainError, match="empty"):
        run_import("residents", tmp_path / "empty.csv")


def test_size_and_row_caps(tree, tmp_path, monkeypatch):
    path = write_table(
        tmp_path / "h.csv",
        ["number", "grid_code"],
        [[f"H{n}", tree.grids[0].code] for n in range(5)],
    )
    monkeypatch.setattr(readers, "MAX_ROWS", 3)
    with pytest.raises(DomainError, match="more than 3 rows"):
        run_import("households", path)
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 20)
    with pytest.raises(DomainError, match="the limit is"):
        run_import("households", path)
    assert Household.objects.count() == 0


def test_gb18030_csv_and_undecodable_bytes(tree, tmp_path):
    g1 = tree.grids[0].code
    path = write_table(
        tmp_path / "gbk.csv",
        ["number", "room", "grid_code"],
        [["H1", "东楼一单元", g1]],
        encoding="gb18030",
    )
    report = run_import("households", path)
    assert report.created == 1
    assert Household.objects.get(number="H1").room == "东楼一单元"

    # UTF-8 with one damaged byte pair that GB18030 would happily accept: the file stays
    # UTF-8 (no garbled Chinese) and only the damaged row is reported.
    data = f"number,room,grid_code\nH2,一单元,{g1}\nH3,X,{g1}\nH4,二单元,{g1}\n".encode()
    (tmp_path / "broken.csv").write_bytes(data.replace(b",X,", b",\x81\x40,"))
    report = run_import("households", tmp_path / "broken.csv", apply_valid=True)
    assert error_cells(report) == {(3, "room")}
    assert "neither UTF-8 nor GB18030" in report.errors[0].message
    assert Household.objects.get(number="H2").room == "一单元"
    assert Household.objects.get(number="H4").room == "二单元"
    assert not Household.objects.filter(number="H3").exists()


def test_formula_looking_text_is_defused_in_exports_and_restored_on_import(personas, tmp_path):
    grid = Area.objects.get(code="370211001001001")
    HouseholdFactory(number="H-EVIL", room="=cmd|' /C calc'!A0", grid=grid)
    HouseholdFactory(number="H-PLUS", room="+1-1", grid=grid)
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"households.{fmt}"
        with open(out, "wb") as fh:
            registry_export(kind="households", actor=personas.admin, fmt=fmt, out=fh)
        rows = read_export(out)
        assert rows[0] == ["number", "building_address_code", "room", "grid_code"]
        rooms = {r[0]: r[2] for r in rows[1:]}
        assert rooms["H-EVIL"] == "'=cmd|' /C calc'!A0"
        assert rooms["H-PLUS"] == "'+1-1"
        report = run_import("households", out)
        assert report.unchanged == 2 and report.errors == []
        assert Household.objects.get(number="H-EVIL").room == "=cmd|' /C calc'!A0"


# --- exports: masking, scope, access log, refusal ------------------------------------------


@pytest.fixture
def people(personas):
    grid_a = Area.objects.get(code="370211001001001")
    grid_b = Area.objects.get(code="370211002001001")
    household = HouseholdFactory(number="H-A", grid=grid_a)
    sensitive = TagFactory(code="petition", sensitive=True, granted_roles=[])
    plain = TagFactory(code="elderly")
    in_a = ResidentFactory(id_number=ID_1, phone="13812345678", grid=grid_a, household=household)
    in_a.tags.add(sensitive, plain)
    in_b = ResidentFactory(id_number=ID_2, sex="F", phone="13987654321", grid=grid_b)
    org = OrganisationFactory(grid=grid_a, contact_phone="13700001111", name="=HYPERLINK(1)")
    return in_a, in_b, org


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_resident_export_is_masked_scoped_and_logged(personas, people, tmp_path, fmt):
    in_a, in_b, _ = people
    out = tmp_path / f"residents.{fmt}"
    call(
        "export_registry",
        "residents",
        str(out),
        "--user",
        "admin1",
        "--purpose",
        "2025 census check",
    )
    raw = out.read_bytes()
    if fmt == "csv":
        raw_text = raw.decode("utf-8-sig")
    else:
        raw_text = "\n".join(",".join(r) for r in read_export(out))
    assert ID_1 not in raw_text and ID_2 not in raw_text
    assert "13812345678" not in raw_text
    rows = read_export(out)
    assert rows[0] == [
        "id_number",
        "name",
        "sex",
        "birth_year",
        "age_band",
        "phone",
        "household_number",
        "grid_code",
        "residence_type",
        "relation_to_head",
        "tags",
    ]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {mask_id_number(ID_1), mask_id_number(ID_2)}
    row_a = by_id[mask_id_number(ID_1)]
    assert row_a[3] == ""  # no minor_under_14 tag is granted to the admin role: no year
    assert row_a[4] in {"0-17", "18-34", "35-59", "60+"}
    assert row_a[5] == mask_phone("13812345678")
    assert row_a[6] == "H-A"
    assert row_a[10] == "elderly"  # the sensitive tag is not granted to the admin role
    record = AccessRecord.objects.order_by("-seq").first()
    assert record.kind == "export" and record.subject_type == "resident"
    assert record.subject_ids == sorted([in_a.pk, in_b.pk])
    assert record.purpose == "2025 census check"
    assert record.actor_username == "admin1" and record.outcome == "success"
    assert "id_number" in record.fields and "phone" in record.fields

    # A masked export cannot be imported back: the file says why.
    with pytest.raises(DomainError, match="unknown columns: birth_year"):
        run_import("residents", out)


def test_export_is_limited_to_the_export_scope(personas, people, tmp_path):
    in_a, _, _ = people
    out = tmp_path / "r.csv"
    with open(out, "wb") as fh:
        result = registry_export(
            kind="residents", actor=personas.community_staff, fmt="csv", out=fh, purpose="task 17"
        )
    assert result.subject_ids == [in_a.pk]
    assert len(read_export(out)) == 2


def test_organisation_export_masks_phone_and_defuses_formulas(personas, people, tmp_path):
    _, _, org = people
    out = tmp_path / "o.xlsx"
    with open(out, "wb") as fh:
        registry_export(
            kind="organisations", actor=personas.admin, fmt="xlsx", out=fh, purpose="audit 3"
        )
    rows = read_export(out)
    assert rows[0] == ORG_HEADER
    assert rows[1][0] == org.credit_code
    assert rows[1][1] == "'=HYPERLINK(1)"
    assert rows[1][7] == mask_phone("13700001111")
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert sheet["B2"].data_type == "s"  # text, not a formula
    record = AccessRecord.objects.order_by("-seq").first()
    assert record.subject_type == "organisation" and record.subject_ids == [org.pk]


def test_export_refusals(personas, people, tmp_path):
    out = tmp_path / "r.csv"
    denied_before = AccessRecord.objects.filter(outcome="denied").count()
    with pytest.raises(CommandError, match="may not export residents"):
        call("export_registry", "residents", str(out), "--user", "disp1", "--purpose", "case 12")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no half-written temporary file either
    assert AccessRecord.objects.filter(outcome="denied").count() == denied_before + 1
    with pytest.raises(CommandError, match="State the purpose"):
        call("export_registry", "residents", str(out), "--user", "admin1")
    with pytest.raises(NotPermitted):
        registry_export(
            kind="organisations",
            actor=personas.grid_worker,
            fmt="csv",
            out=io.BytesIO(),
            purpose="case 12",
        )


def test_building_export_needs_no_purpose_and_reimports(personas, tmp_path):
    grid = Area.objects.get(code="370211001001001")
    BuildingFactory(address_code="B-1", grid=grid, lat=35.85, lon=120.05, floors=6)
    BuildingFactory(address_code="B-2", grid=Area.objects.get(code="370211002002002"))
    records_before = AccessRecord.objects.count()
    out = tmp_path / "b.csv"
    call("export_registry", "buildings", str(out), "--user", "grid1")
    rows = read_export(out)
    assert [r[0] for r in rows[1:]] == ["B-1"]  # the grid worker sees only their grid
    assert rows[1][4:6] == ["35.85", "120.05"]
    assert AccessRecord.objects.count() == records_before
    report = run_import("buildings", out)
    assert report.unchanged == 1 and report.errors == []


# --- scope before comparison, NUL characters, the public helpers -----------------------------


def test_rows_of_records_outside_the_scope_all_get_the_same_neutral_refusal(
    registry_setup, tmp_path
):
    tree = registry_setup
    g1, b1 = tree.grids[0].code, tree.grids[4].code  # community A1; street B
    elsewhere = ResidentFactory(
        id_number=ID_4,
        name="外人",
        sex=sex_from_id(ID_4),
        birth_date=birth_date_from_id(ID_4),
        phone="13800000004",
        grid=tree.grids[4],
    )
    ResidentFactory(
        id_number=ID_5,
        sex=sex_from_id(ID_5),
        birth_date=birth_date_from_id(ID_5),
        grid=tree.grids[5],
    )
    exact = [
        ID_4,
        "外人",
        elsewhere.sex,
        elsewhere.birth_date.isoformat(),
        "13800000004",
        "",
        b1,
        "registered",
        "",
        "",
    ]
    rows = [
        exact,  # everything as stored
        [ID_5, "别人", "X", "", "12345", "", g1, "", "", "nope"],  # wrong in every way, into A1
        [ID_6, "新人", "", "", "", "", b1, "", "", ""],  # not stored, into street B
    ]
    path = write_table(tmp_path / "r.csv", RESIDENT_HEADER, rows)
    # Row 2 is exactly the stored record: unscoped, it is "unchanged".
    as_stored = run_import("residents", path, dry_run=True)  # no actor: the whole district
    assert (as_stored.unchanged, as_stored.created, as_stored.error_rows) == (1, 1, 1)

    local = UserFactory(username="community-admin")
    RoleAssignmentFactory(user=local, role=Role.ADMIN, area=tree.communities[0])
    report = run_import("residents", path, actor=local, apply_valid=True)

    by_row: dict[int, list[tuple[str, str]]] = {}
    for error in report.errors:
        by_row.setdefault(error.row, []).append((error.column, error.message))
    refusal = [("grid_code", "This record is outside the area you may import into.")]
    assert by_row == {2: refusal, 3: refusal, 4: refusal}
    assert (report.unchanged, report.updated, report.created) == (0, 0, 0)
    elsewhere.refresh_from_db()
    assert elsewhere.name == "外人" and elsewhere.grid == tree.grids[4]
    assert not Resident.objects.filter(id_number=ID_6).exists()


def test_a_household_outside_the_scope_reads_as_unknown(registry_setup, tmp_path):
    tree = registry_setup
    HouseholdFactory(number="H-B", grid=tree.grids[4])  # street B
    local = UserFactory(username="community-admin")
    RoleAssignmentFactory(user=local, role=Role.ADMIN, area=tree.communities[0])
    g1 = tree.grids[0].code
    rows = [
        [ID_1, "甲", "", "", "", "H-B", g1, "", "", ""],
        [ID_2, "乙", "", "", "", "H-NONE", g1, "", "", ""],
        [ID_4, "丙", "", "", "", "H001", g1, "", "", ""],  # in community A1
    ]
    path = write_table(tmp_path / "r.csv", RESIDENT_HEADER, rows)
    report = run_import("residents", path, actor=local)
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert messages == {
        (2, "household_number"): "No household has the number H-B.",
        (3, "household_number"): "No household has the number H-NONE.",
    }
    assert run_import("residents", path, dry_run=True).error_rows == 1  # unscoped: H-B exists


def test_stored_areas_and_departments_outside_the_scope_are_refused_before_comparison(
    tree, tmp_path
):
    local = UserFactory(username="community-admin")
    RoleAssignmentFactory(user=local, role=Role.ADMIN, area=tree.communities[0])
    b1 = tree.communities[2]
    same = [b1.code, b1.parent.code, "3", "community", b1.name_zh, "", "", "", "", "", "", ""]
    moved = [tree.grids[0].code, b1.code, "4", "grid", "搬家", "", "urban", "", "", "", "", ""]
    report = run_import(
        "areas", write_table(tmp_path / "a.csv", AREA_HEADER, [same, moved]), actor=local
    )
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "code", "This area is outside the area you may import into."),
        (3, "code", "This area is outside the area you may import into."),
    ]
    assert report.unchanged == 0

    department = Department.objects.create(code="CG-B", name_zh="城管B", kind="urban_management")
    department.areas.add(tree.streets[1])
    header = ["code", "name_zh", "name_en", "kind", "parent_code", "area_codes"]
    rows = [["CG-B", "城管B", "", "urban_management", "", tree.streets[1].code]]
    report = run_import("departments", write_table(tmp_path / "d.csv", header, rows), actor=local)
    assert error_cells(report) == {(2, "area_codes")} and report.unchanged == 0


def households_csv(rows: list[list[str]]) -> bytes:
    """The bytes of a households CSV, written by hand: the csv module refuses NUL."""
    lines = ["number,room,grid_code", *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def test_nul_characters_anywhere_in_a_csv_are_row_errors_naming_the_column(
    tree, tmp_path, monkeypatch
):
    g1 = tree.grids[0].code
    rows = [[f"H{n:04d}", f"room {n}", g1] for n in range(400)]
    rows[350][1] = "bad\x00room"  # deep in the file, far past its first 8 KB
    rows[360][0] = "H\x000360"  # in the natural key
    data = households_csv(rows)
    assert data.index(b"\x00") > 8192
    (tmp_path / "h.csv").write_bytes(data)

    keys_looked_up: list[str] = []
    original = Handler.prefetch

    def spy(self, keys, chunk_rows):
        keys_looked_up.extend(keys)
        return original(self, keys, chunk_rows)

    monkeypatch.setattr(Handler, "prefetch", spy)
    report = run_import("households", tmp_path / "h.csv", apply_valid=True)

    assert error_cells(report) == {(352, "room"), (362, "number")}
    assert all("NUL character" in e.message for e in report.errors)
    assert report.created == 398 and report.applied
    assert len(keys_looked_up) == 398 and not any("\x00" in k for k in keys_looked_up)
    numbers = list(Household.objects.values_list("number", flat=True))
    rooms = list(Household.objects.values_list("room", flat=True))
    assert len(numbers) == 398 and not any("\x00" in v for v in numbers + rooms)


def test_nul_in_the_header_or_in_geojson_is_refused_by_column(tree, tmp_path):
    g1 = tree.grids[0].code.encode()
    # NUL bytes at the start: not a text file at all (Excel's "Unicode text" looks so).
    (tmp_path / "u.csv").write_bytes(b"number,ro\x00om,grid_code\nH1,1," + g1)
    with pytest.raises(DomainError, match="not a CSV text file"):
        run_import("households", tmp_path / "u.csv")
    # Past the first 8 KB, the header names the column.
    long_name = b"n" * 9000 + b"\x00"
    (tmp_path / "h.csv").write_bytes(b"number,room,grid_code," + long_name + b"\nH1,1," + g1 + b",")
    with pytest.raises(DomainError, match="Column D of the header holds a NUL character"):
        run_import("households", tmp_path / "h.csv")

    polygon = square(120.4, 35.8, 120.5, 35.9)
    polygon["name"] = "bad\x00name"
    row = new_street_rows()[0]
    row[-1] = json.dumps(polygon)  # the JSON text says \u0000, the parsed value holds NUL
    assert "\\u0000" in row[-1]
    report = run_import("areas", write_table(tmp_path / "a.csv", AREA_HEADER, [row]))
    assert error_cells(report) == {(2, "geometry")}
    assert "NUL character" in report.errors[0].message


def test_defuse_is_public_for_other_exports():
    from gridlink.registry.exchange import defuse

    assert [defuse(v) for v in ("=1+1", "+86", "-3", "@SUM(A1)", "\tx", "\rx")] == [
        "'=1+1",
        "'+86",
        "'-3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    ]
    assert [defuse(v) for v in ("张三", "a=b", -3, 1.5, None)] == ["张三", "a=b", -3, 1.5, ""]
