from __future__ import annotations

from typing import Any

from ninja import Schema


class AreaOut(Schema):
    code: str
    name_zh: str
    name_en: str
    level: int
    kind: str
    parent_code: str | None
    grid_type: str
    households: int
    residents: int


class AreaNode(Schema):
    code: str
    name_zh: str
    name_en: str
    level: int
    children: list[AreaNode]


class DepartmentOut(Schema):
    code: str
    name_zh: str
    name_en: str
    kind: str
    area_codes: list[str]


class AreaDetail(AreaOut):
    valid_from: str
    valid_to: str | None
    geometry: dict[str, Any] | None
    ancestors: list[AreaOut]
    children: list[AreaOut]
    departments: list[DepartmentOut]


class AreaRefOut(Schema):
    code: str
    name_zh: str
    name_en: str
    level: int


class LocateOut(Schema):
    lat: float
    lon: float
    area: AreaRefOut
    chain: list[AreaRefOut]
