"""The taxonomy, read-only: the current version's tree, sub-class search and detail."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from gridlink.cases.models import STAGES, Category, TaxonomyVersion
from gridlink.cases.schemas import SubclassDetail, SubclassOut, TaxonomyOut
from gridlink.cases.selectors import subclass_detail, subclasses_of, taxonomy_current, taxonomy_tree

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
        "has_attributes": has_attributes,
    }


@router.get("/taxonomy", response=TaxonomyOut)
def taxonomy(request: HttpRequest) -> dict[str, Any]:
    version = _current()
    return {
        "version": {
            "code": version.code,
            "name": version.name,
            "published_at": version.published_at.isoformat() if version.published_at else None,
        },
        "classes": [
            {
                "code": major.code,
                "kind": major.kind,
                "name_zh": major.name_zh,
                "name_en": major.name_en,
                "subclasses": [
                    {
                        "code": s.code,
                        "name_zh": s.name_zh,
                        "name_en": s.name_en,
                        "urgency": s.urgency,
                    }
                    for s in major.subclasses.all()
                ],
            }
            for major in taxonomy_tree(version)
        ],
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
