"""The taxonomy, read-only: the current version's tree, sub-class search and detail; and a
preview of where routing would send a case (`gridlink.cases.routing`)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from gridlink.cases.models import STAGES, Category, TaxonomyVersion
from gridlink.cases.routing import route_for
from gridlink.cases.schemas import RoutePreviewOut, SubclassDetail, SubclassOut, TaxonomyOut
from gridlink.cases.selectors import subclass_detail, subclasses_of, taxonomy_current, taxonomy_tree
from gridlink.geo.locator import PointOutsideGrids, locator
from gridlink.geo.models import Area

router = Router(tags=["taxonomy"])


def _current() -> TaxonomyVersion:
    version = taxonomy_current()
    if version is None:
        raise HttpError(404, "No taxonomy version has been published yet.")
    return version


def _subclass_out(c: Category, *, has_attributes: bool) -> dict[str, Any]:
    major = c.parent
    if major is None:  # the selectors return sub-classes only
        raise HttpError(404, f"{c.code} is a major class, not a sub-class.")
    return {
        "code": c.code,
        "kind": c.kind,
        "major_code": major.code,
        "major_name_zh": major.name_zh,
        "major_name_en": major.name_en,
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "keywords_zh": Category.split_keywords(c.keywords_zh),
        "keywords_en": Category.split_keywords(c.keywords_en),
        "default_level": c.default_level,
        "default_department_kind": c.default_department_kind,
        "urgency": c.urgency,
        "deadlines": {
            stage: {"amount": getattr(c, f"{stage}_amount"), "unit": getattr(c, f"{stage}_unit")}
            for stage in STAGES
        },
        "phases": c.phases,
        "has_attributes": has_attributes,
    }


def classes_out(version: TaxonomyVersion) -> list[dict[str, Any]]:
    """The version's major classes, each with its sub-classes (the taxonomy endpoints)."""
    return [
        {
            "code": major.code,
            "kind": major.kind,
            "name_zh": major.name_zh,
            "name_en": major.name_en,
            "subclasses": [
                {"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en, "urgency": s.urgency}
                for s in major.subclasses.all()
            ],
        }
        for major in taxonomy_tree(version)
    ]


@router.get("/taxonomy", response=TaxonomyOut)
def taxonomy(request: HttpRequest) -> dict[str, Any]:
    version = _current()
    return {
        "version": {
            "code": version.code,
            "name": version.name,
            "published_at": version.published_at.isoformat() if version.published_at else None,
        },
        "classes": classes_out(version),
    }


class CategoryFilter(Schema):
    q: str = Field("", max_length=100, description="words to find in codes, names, keywords")
    kind: Literal["component", "event"] | None = None


@router.get("/taxonomy/categories", response=list[SubclassOut])
def category_list(request: HttpRequest, filters: Query[CategoryFilter]) -> list[dict[str, Any]]:
    version = _current()
    return [
        _subclass_out(c, has_attributes=bool(getattr(c, "has_attributes", False)))
        for c in subclasses_of(version, kind=filters.kind, q=filters.q)
    ]


@router.get("/taxonomy/categories/{code}", response=SubclassDetail)
def category_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    version = _current()
    c = subclass_detail(version, code)
    if c is None:
        raise HttpError(404, f"No sub-class {code} in taxonomy version {version.code}.")
    attributes = list(c.attributes.all())
    return {
        **_subclass_out(c, has_attributes=bool(attributes)),
        "version": version.code,
        "filing_condition_zh": c.filing_condition_zh,
        "filing_condition_en": c.filing_condition_en,
        "closing_condition_zh": c.closing_condition_zh,
        "closing_condition_en": c.closing_condition_en,
        "attributes": [
            {
                "code": a.code,
                "name_zh": a.name_zh,
                "name_en": a.name_en,
                "datatype": a.datatype,
                "required": a.required,
                "variable": a.variable,
                "order": a.order,
                "help_zh": a.help_zh,
                "help_en": a.help_en,
                "values": a.values,
            }
            for a in attributes
        ],
    }


class RoutePreviewQuery(Schema):
    category: str = Field(..., max_length=5, description="a sub-class code such as E0102")
    area: str | None = Field(None, max_length=18, description="an area's official code")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


def _preview_area(query: RoutePreviewQuery) -> Area:
    if query.area:
        found = Area.objects.current().filter(code=query.area).first()
        if found is None:
            raise HttpError(404, f"No current area {query.area}.")
        return found
    if query.lat is None or query.lon is None:
        raise HttpError(422, "Give area=CODE, or lat and lon.")
    try:
        leaf = locator.locate(query.lat, query.lon)[-1]
    except PointOutsideGrids:
        raise HttpError(
            404, f"({query.lat}, {query.lon}) lies outside every grid of the district."
        ) from None
    return Area.objects.get(pk=leaf.id)


@router.get("/routing/preview", response=RoutePreviewOut, tags=["routing"])
def routing_preview(request: HttpRequest, query: Query[RoutePreviewQuery]) -> dict[str, Any]:
    """Where a case of `category` at a place would be routed, and which rule decides it.

    A read: nothing is written. No route at all is a 400 with code `no_route`.
    """
    version = _current()
    category = version.categories.subclasses().filter(code=query.category).first()
    if category is None:
        raise HttpError(404, f"No sub-class {query.category} in taxonomy version {version.code}.")
    area = _preview_area(query)
    decision = route_for(category=category, area=area)
    unit = decision.unit
    rule = decision.rule
    return {
        "category": {
            "code": category.code,
            "name_zh": category.name_zh,
            "name_en": category.name_en,
        },
        "area": {
            "code": area.code,
            "name_zh": area.name_zh,
            "name_en": area.name_en,
            "level": area.level,
        },
        "level": decision.level,
        "unit": {
            "type": "department" if decision.department is not None else "area",
            "code": unit.code,
            "name_zh": unit.name_zh,
            "name_en": unit.name_en,
        },
        "rule": None
        if rule is None
        else {
            "id": rule.pk,
            "category_code": rule.category_code,
            "area_code": rule.area.code if rule.area is not None else None,
            "priority": rule.priority,
            "note": rule.note,
        },
        "reason_zh": decision.reason_zh,
        "reason_en": decision.reason_en,
    }
