"""Areas and departments: tree, detail with polygon, locate a point."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from gridlink.geo.locator import PointOutsideGrids, locator
from gridlink.geo.models import CODE_LENGTH, Area, Department, Level
from gridlink.geo.schemas import AreaDetail, AreaNode, AreaOut, DepartmentOut, LocateOut

router = Router(tags=["areas"])


def _area_out(area: Area, parent_code: str | None) -> dict[str, Any]:
    return {
        "code": area.code,
        "name_zh": area.name_zh,
        "name_en": area.name_en,
        "level": area.level,
        "kind": area.kind,
        "parent_code": parent_code,
        "grid_type": area.grid_type,
        "households": area.households,
        "residents": area.residents,
    }


class AreaFilter(Schema):
    level: int | None = Field(None, ge=1, le=5)
    parent: str | None = Field(None, max_length=18, description="code of the parent area")


@router.get("/areas", response=list[AreaOut])
def area_list(request: HttpRequest, filters: Query[AreaFilter]) -> list[dict[str, Any]]:
    qs = Area.objects.current().select_related("parent").defer("geometry", "parent__geometry")
    if filters.level is not None:
        qs = qs.filter(level=filters.level)
    if filters.parent:
        qs = qs.filter(parent__code=filters.parent)
    return [_area_out(a, a.parent.code if a.parent else None) for a in qs]


class TreeFilter(Schema):
    root: str | None = Field(None, max_length=18, description="code of the subtree's root")
    depth: int = Field(3, ge=1, le=5, description="levels below the root")


@router.get("/areas/tree", response=list[AreaNode])
def area_tree(request: HttpRequest, filters: Query[TreeFilter]) -> list[dict[str, Any]]:
    qs = Area.objects.current().only(
        "id", "parent_id", "code", "name_zh", "name_en", "level", "path"
    )
    if filters.root:
        root = get_object_or_404(Area.objects.current(), code=filters.root)
        qs = qs.subtree_of(root).filter(level__lte=root.level + filters.depth)
        top_ids = {root.pk}
    else:
        qs = qs.filter(level__lte=Level.DISTRICT + filters.depth - 1)
        top_ids = set()
    nodes: dict[int, dict[str, Any]] = {}
    rows = list(qs.order_by("level", "code"))
    for a in rows:
        nodes[a.pk] = {
            "code": a.code,
            "name_zh": a.name_zh,
            "name_en": a.name_en,
            "level": a.level,
            "children": [],
        }
    roots = []
    for a in rows:
        parent = nodes.get(a.parent_id) if a.parent_id else None
        if parent is not None and a.pk not in top_ids:
            parent["children"].append(nodes[a.pk])
        else:
            roots.append(nodes[a.pk])
    return roots


class LocateQuery(Schema):
    lat: float = Field(..., ge=-90, le=90, description="latitude, WGS84")
    lon: float = Field(..., ge=-180, le=180, description="longitude, WGS84")


@router.get("/areas/locate", response=LocateOut)
def area_locate(request: HttpRequest, point: Query[LocateQuery]) -> dict[str, Any]:
    try:
        chain = locator.locate(point.lat, point.lon)
    except PointOutsideGrids as exc:
        raise HttpError(404, f"No grid contains this point: {exc}.") from None
    refs = [
        {"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "level": r.level}
        for r in chain
    ]
    return {"lat": point.lat, "lon": point.lon, "area": refs[-1], "chain": refs}


@router.get("/areas/{code}", response=AreaDetail)
def area_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    if len(code) > CODE_LENGTH[Level.MICRO_GRID] or not code.isdigit():
        raise HttpError(404, "Not Found: an area code has at most 18 digits.")
    area = get_object_or_404(Area.objects.select_related("parent"), code=code)
    ancestors = list(
        Area.objects.filter(pk__in=area.ancestor_ids)
        .select_related("parent")
        .defer("geometry", "parent__geometry")
        .order_by("level")
    )
    children = area.children.current().defer("geometry").order_by("code")
    departments = area.departments.prefetch_related(_area_codes())
    out = _area_out(area, area.parent.code if area.parent else None)
    out.update(
        valid_from=area.valid_from.isoformat(),
        valid_to=area.valid_to.isoformat() if area.valid_to else None,
        geometry=area.geometry,
        ancestors=[_area_out(a, a.parent.code if a.parent else None) for a in ancestors],
        children=[_area_out(c, area.code) for c in children],
        departments=[_department_out(d) for d in departments],
    )
    return out


def _area_codes() -> Prefetch[Any]:
    return Prefetch("areas", queryset=Area.objects.only("id", "code"))


def _department_out(d: Department) -> dict[str, Any]:
    return {
        "code": d.code,
        "name_zh": d.name_zh,
        "name_en": d.name_en,
        "kind": d.kind,
        "area_codes": [a.code for a in d.areas.all()],
    }


@router.get("/departments", response=list[DepartmentOut], tags=["departments"])
def department_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        _department_out(d)
        for d in Department.objects.filter(active=True).prefetch_related(_area_codes())
    ]
