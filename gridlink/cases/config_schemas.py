"""Schemas of the configuration endpoints for routing rules and taxonomy versions
(`gridlink.cases.config_api`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from gridlink.cases.schemas import MajorNode
from gridlink.cases.taxonomy_file import TaxonomyFile

Level = Literal["grid", "community", "street", "district_department", "district_centre"]
PRIORITY_MAX = 1_000_000
CATEGORY_CODE = r"^([CE][0-9]{2}([0-9]{2})?)?$"
CATEGORY_HELP = "a sub-class (E0102) or a major class (E01) of the current taxonomy; empty: any"


class RuleOut(Schema):
    id: int
    category_code: str
    area: str | None = Field(description="area code: the rule covers its subtree; null: anywhere")
    level: str
    unit_department: str | None = Field(description="department code")
    unit_area: str | None = Field(description="area code of the office that handles it")
    priority: int
    active: bool
    valid_from: dt.date
    valid_to: dt.date | None = Field(description="the first day the rule no longer applies")
    in_force: bool = Field(description="active and within its validity today")
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RulePage(Schema):
    items: list[RuleOut]
    next_after: int | None = Field(description="pass as `after` for the next page")


class RuleQuery(Schema):
    category: str | None = Field(
        None, max_length=5, description="rules naming this category code (`*`: naming none)"
    )
    area: str | None = Field(
        None, max_length=30, description="rules naming this area code (`*`: naming none)"
    )
    in_force: bool | None = Field(None, description="only rules in force today (or not)")
    after: int = Field(0, ge=0, le=2**31, description="rule id to continue after")
    limit: int = Field(100, ge=1, le=500)


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is refused, not ignored

    category_code: str = Field("", pattern=CATEGORY_CODE, description=CATEGORY_HELP)
    area: str | None = Field(None, max_length=30, description="area code; null: anywhere")
    level: Level
    unit_department: str | None = Field(None, max_length=32, description="department code")
    unit_area: str | None = Field(None, max_length=30, description="area code of the office")
    priority: int = Field(0, ge=-PRIORITY_MAX, le=PRIORITY_MAX)
    active: bool = True
    valid_from: dt.date | None = Field(None, description="default today")
    valid_to: dt.date | None = Field(None, description="the first day it no longer applies")
    note: str = Field("", max_length=2000)


class RulePatch(Schema):
    """Only the fields given change; null clears `area`, `unit_department`, `unit_area`,
    `valid_to` (and empties `category_code`)."""

    model_config = ConfigDict(extra="forbid")

    category_code: str | None = Field(None, pattern=CATEGORY_CODE, description=CATEGORY_HELP)
    area: str | None = Field(None, max_length=30)
    level: Level | None = None
    unit_department: str | None = Field(None, max_length=32)
    unit_area: str | None = Field(None, max_length=30)
    priority: int | None = Field(None, ge=-PRIORITY_MAX, le=PRIORITY_MAX)
    active: bool | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    note: str | None = Field(None, max_length=2000)


class RuleEndIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is refused, not ignored

    valid_to: dt.date | None = Field(
        None, description="the first day the rule no longer applies; default today"
    )


class GapOut(Schema):
    unit: str = Field(description="the unit nobody can sign for (`-`: no route at all)")
    unit_kind: Literal["department", "area", "none"]
    unit_code: str | None
    via: str = Field(description="the rule that sends cases there, or the fallback")
    rule_id: int | None
    pairs: int = Field(description="category × grid pairs routed there")
    examples: list[tuple[str, str]] = Field(description="(category code, grid code), at most 5")
    why: str


class RoutingCheckOut(Schema):
    ok: bool = Field(description="every routing target has someone active to sign for it")
    pairs: int = Field(description="category × grid pairs routed")
    unstaffed: list[GapOut]
    unrouted: list[GapOut]


class VersionListOut(Schema):
    code: str
    name: str
    notes: str
    state: Literal["draft", "published", "current"]
    published_at: dt.datetime | None
    created_at: dt.datetime
    content_sha256: str
    major_classes: int
    subclasses: int


class VersionDetailOut(Schema):
    version: VersionListOut
    classes: list[MajorNode]


def taxonomy_file_schema() -> dict[str, Any]:
    """The JSON schema of a taxonomy file with its definitions inlined (for the OpenAPI
    document's request body: it has no place for pydantic's `$defs`)."""
    schema = TaxonomyFile.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined
