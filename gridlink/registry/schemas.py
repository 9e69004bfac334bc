from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class PageQuery(Schema):
    q: str = Field("", max_length=100, description="name, or an exact ID number / phone / code")
    grid: str = Field("", max_length=18, description="limit to this area's subtree (code)")
    after: int = Field(0, ge=0, description="keyset cursor: the last id of the previous page")
    limit: int = Field(50, ge=1, le=200)


class Page(Schema):
    items: list[dict[str, Any]]
    next_after: int | None


class UnmaskIn(Schema):
    purpose: str = Field(..., max_length=500, description="case number or task; logged")
    fields: list[str] | None = Field(None, max_length=5, description="default: all maskable fields")


class UnmaskOut(Schema):
    id: int
    values: dict[str, str]
