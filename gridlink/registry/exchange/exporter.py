"""Export one kind of registry data to CSV or XLSX, as the exporting user sees it on screen.

Rows come from the scoped selectors and go through the same row functions as the API
(`gridlink.registry.present`), so ID numbers and phones are masked in the file exactly as on
the screen. Exports of personal data (residents, organisations) need the registry.export
capability and a stated purpose, are limited to the user's export scope, and write one
access-log entry listing every record exported.

Text that a spreadsheet would run as a formula (= + - @ at the start) is written with a
leading apostrophe; the importer takes it off again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from gridlink.accounts.permissions import has_capability, scope_q
from gridlink.accounts.roles import Cap
from gridlink.core.audit import access_record
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.spreadsheet import defuse
from gridlink.geo.models import Area, Department
from gridlink.registry import selectors
from gridlink.registry.exchange.kinds import KindSpec, kind_spec
from gridlink.registry.models import Building, Organisation
from gridlink.registry.present import building_row, household_row, organisation_row, resident_row
from gridlink.registry.services import clean_purpose

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

XLSX_MAX_CELL_CHARS = 32_767  # what Excel keeps in one cell
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class ExportResult:
    kind: str
    fmt: str
    rows: int = 0
    subject_ids: list[int] = field(default_factory=list)


def registry_export(
    *,
    kind: str,
    actor: AnyUser,
    fmt: str,
    out: IO[bytes],
    purpose: str = "",
    ip: str | None = None,
) -> ExportResult:
    """Write the `kind` rows `actor` may see to `out` as `fmt` ('csv' or 'xlsx')."""
    spec = kind_spec(kind)
    if fmt not in CONTENT_TYPES:
        raise DomainError(
            _("Export as csv or xlsx, not %(fmt)r.") % {"fmt": fmt}, code="bad_format"
        )
    if spec.personal:
        purpose = _check_personal_export(spec, actor, purpose, ip)
    result = ExportResult(kind=kind, fmt=fmt)
    rows = _rows(spec, actor, result)
    if fmt == "csv":
        _write_csv(spec, rows, out)
    else:
        _write_xlsx(spec, rows, out)
    if spec.personal:
        access_record(
            actor=actor,
            kind="export",
            subject_type=spec.subject_type,
            subject_ids=result.subject_ids,
            fields=list(spec.exported),
            purpose=purpose,
            ip=ip,
        )
    return result


def _check_personal_export(spec: KindSpec, actor: AnyUser, purpose: str, ip: str | None) -> str:
    purpose = clean_purpose(purpose)
    if actor.is_active and has_capability(actor, Cap.REGISTRY_EXPORT):
        return purpose
    access_record(
        actor=actor,
        kind="export",
        subject_type=spec.subject_type,
        subject_ids=[],
        fields=list(spec.exported),
        purpose=purpose,
        ip=ip,
        outcome="denied",
    )
    raise NotPermitted(
        _("Your role may not export %(kind)s (needs the registry.export capability).")
        % {"kind": spec.name},
        code="export_denied",
    )


# --- Rows -------------------------------------------------------------------------------


def _rows(spec: KindSpec, actor: AnyUser, result: ExportResult) -> Iterator[list[Any]]:
    """The file's rows as lists of cell values in `spec.exported` order."""
    producers: dict[str, Callable[[AnyUser], Iterator[tuple[int, dict[str, Any]]]]] = {
        "areas": _areas,
        "departments": _departments,
        "buildings": _buildings,
        "households": _households,
        "residents": _residents,
        "organisations": _organisations,
    }
    for pk, row in producers[spec.name](actor):
        result.rows += 1
        if spec.personal:
            result.subject_ids.append(pk)
        yield [row.get(column) for column in spec.exported]


def _iterate[T](qs: QuerySet[Any, T], *ordering: str) -> Iterator[T]:
    return qs.order_by(*(ordering or ("pk",))).iterator(chunk_size=2000)


def _areas(actor: AnyUser) -> Iterator[tuple[int, dict[str, Any]]]:
    # Areas are reference data every staff member sees; the polygon goes out as GeoJSON text.
    # Parents come before their children (level order), so the file imports again as it is.
    codes = dict(Area.objects.values_list("id", "code"))
    for area in _iterate(Area.objects.all(), "level", "code"):
        yield (
            area.pk,
            {
                "code": area.code,
                "parent_code": codes.get(area.parent_id, "") if area.parent_id else "",
                "level": area.level,
                "kind": area.kind,
                "name_zh": area.name_zh,
                "name_en": area.name_en,
                "grid_type": area.grid_type,
                "households": area.households,
                "residents": area.residents,
                "valid_from": area.valid_from.isoformat(),
                "valid_to": area.valid_to.isoformat() if area.valid_to else "",
                "geometry": json.dumps(area.geometry, ensure_ascii=False, separators=(",", ":"))
                if area.geometry is not None
                else "",
            },
        )


def _departments(actor: AnyUser) -> Iterator[tuple[int, dict[str, Any]]]:
    departments = list(
        Department.objects.prefetch_related(
            Prefetch("areas", queryset=Area.objects.only("id", "code").order_by("code"))
        ).order_by("code")
    )
    by_id = {d.pk: d for d in departments}

    def depth(dept: Department) -> int:
        steps, seen = 0, {dept.pk}
        while dept.parent_id is not None and dept.parent_id in by_id and steps < len(by_id):
            dept = by_id[dept.parent_id]
            if dept.pk in seen:
                break
            seen.add(dept.pk)
            steps += 1
        return steps

    # Parents before their stations, so the file imports again as it is.
    for dept in sorted(departments, key=lambda d: (depth(d), d.code)):
        parent = by_id.get(dept.parent_id) if dept.parent_id else None
        yield (
            dept.pk,
            {
                "code": dept.code,
                "name_zh": dept.name_zh,
                "name_en": dept.name_en,
                "kind": dept.kind,
                "parent_code": parent.code if parent else "",
                "area_codes": ";".join(a.code for a in dept.areas.all()),
            },
        )


def _buildings(actor: AnyUser) -> Iterator[tuple[int, dict[str, Any]]]:
    for building in _iterate(selectors.buildings_visible_to(actor)):
        yield building.pk, building_row(building)


def _households(actor: AnyUser) -> Iterator[tuple[int, dict[str, Any]]]:
    for household in _iterate(selectors.households_visible_to(actor)):
        row = household_row(household)
        row["building_address_code"] = row.pop("building") or ""
        yield household.pk, row


def _residents(actor: AnyUser) -> Iterator[tuple[int, dict[str, Any]]]:
    qs = (
        selectors.residents_visible_to(actor)
        .filter(scope_q(actor, Cap.REGISTRY_EXPORT))
        .prefetch_related("tags")
    )
    for resident in _iterate(qs):
        row = resident_row(resident, actor)
        row["household_number"] = row.pop("household") or ""
        row["tags"] = ";".join(row["tags"])
        yield resident.pk, row


def _organisations(actor: AnyUser) -> Iterator[tuple[int, dict[str, Any]]]:
    qs: QuerySet[Organisation] = (
        selectors.organisations_visible_to(actor)
        .filter(scope_q(actor, Cap.REGISTRY_EXPORT))
        .select_related("building")
    )
    for org in _iterate(qs):
        row = organisation_row(org)
        building: Building | None = org.building
        row["building_address_code"] = building.address_code if building else ""
        yield org.pk, row


# --- Writers ----------------------------------------------------------------------------


def _write_csv(spec: KindSpec, rows: Iterator[list[Any]], out: IO[bytes]) -> None:
    # UTF-8 with a BOM, so that Excel opens the Chinese text correctly.
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(spec.exported)
        for row in rows:
            writer.writerow([defuse(v) for v in row])
    finally:
        text.detach()  # leave `out` open for the caller


def _write_xlsx(spec: KindSpec, rows: Iterator[list[Any]], out: IO[bytes]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(spec.name)
    sheet.append(list(spec.exported))
    for row in rows:
        cells = []
        for column, value in zip(spec.exported, row, strict=True):
            value = defuse(value)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                if len(value) > XLSX_MAX_CELL_CHARS:
                    raise DomainError(
                        _(
                            "A %(column)s value has %(n)d characters, more than an Excel cell "
                            "holds; export %(kind)s as CSV instead."
                        )
                        % {"column": column, "n": len(value), "kind": spec.name},
                        code="cell_too_long",
                    )
            cells.append(value)
        sheet.append(cells)
    book.save(out)
