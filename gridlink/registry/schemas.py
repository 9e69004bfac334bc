"""Typed shapes of the registry API. The output schemas are also an allow-list: a field
not named here never leaves the server, whatever `present.py` returns."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, WithJsonSchema


class PageQuery(Schema):
    q: str = Field("", max_length=100, description="part of a name (or address / credit code)")
    grid: str = Field("", max_length=18, description="limit to this area's subtree (code)")
    after: int = Field(0, ge=0, description="keyset cursor: the last id of the previous page")
    limit: int = Field(50, ge=1, le=200)


class ResidentOut(Schema):
    id: int
    name: str
    sex: str
    birth_year: int | None  # only to who may see the minor_under_14 tag
    age_band: str
    id_number: str = Field(description="masked: first 6 and last 4 characters")
    phone: str = Field(description="masked: first 3 and last 4 digits")
    grid_code: str
    grid_name: str
    household: str | None = Field(description="null if absent or not shown to your role")
    residence_type: str
    relation_to_head: str | None = Field(description="null if not shown to your role")
    tags: list[str] = Field(description="tag codes; sensitive ones only for roles granted them")


class OrganisationOut(Schema):
    id: int
    credit_code: str
    name: str
    kind: str
    grid_code: str
    grid_name: str
    address: str
    legal_representative: str
    contact_phone: str = Field(description="masked: first 3 and last 4 digits")
    employees: int


class BuildingOut(Schema):
    id: int
    address_code: str
    address: str
    name: str
    grid_code: str
    lat: float
    lon: float
    use: str
    floors: int


class HouseholdOut(Schema):
    id: int
    number: str
    building: str | None
    room: str
    grid_code: str


class ResidentPage(Schema):
    items: list[ResidentOut]
    next_after: int | None


class OrganisationPage(Schema):
    items: list[OrganisationOut]
    next_after: int | None


class BuildingPage(Schema):
    items: list[BuildingOut]
    next_after: int | None


class HouseholdPage(Schema):
    items: list[HouseholdOut]
    next_after: int | None


class UnmaskIn(Schema):
    purpose: str = Field(..., max_length=200, description="case number or task; logged")
    fields: list[str] | None = Field(None, max_length=5, description="default: all maskable fields")


class UnmaskOut(Schema):
    id: int
    values: dict[str, str]


class LookupIn(Schema):
    id_number: str = Field("", max_length=18, description="an exact resident ID number")
    phone: str = Field("", max_length=11, description="or an exact mobile number")
    purpose: str = Field(..., max_length=200, description="case number or task; logged")


class LookupOut(Schema):
    items: list[ResidentOut]


# One column's value in a create or update body, as in a cell of an import file: text, a
# number, a list of codes (`tags`) or null (a blank cell). The import's rules check it
# (`gridlink.registry.exchange.registry_upsert`), so every problem comes back at once, by
# column, in a 400 — not here, where the first would stop the rest.
CellIn = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "number"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "null"},
            ]
        }
    ),
]

# The import columns of the kind (docs/import-export.md, "Columns") → values.
RecordIn = dict[str, CellIn]
