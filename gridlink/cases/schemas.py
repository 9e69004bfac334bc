from __future__ import annotations

from ninja import Schema


class VersionOut(Schema):
    code: str
    name: str
    published_at: str | None


class DeadlineOut(Schema):
    amount: int
    unit: str


class DeadlinesOut(Schema):
    sign_for: DeadlineOut
    handle: DeadlineOut
    verify: DeadlineOut


class PhaseOut(Schema):
    """One phase of a multi-phase handling deadline, counted from the start of handling."""

    code: str
    name_zh: str
    name_en: str
    amount: int
    unit: str


class SubclassOut(Schema):
    code: str
    kind: str
    major_code: str
    major_name_zh: str
    major_name_en: str
    name_zh: str
    name_en: str
    keywords_zh: list[str]
    keywords_en: list[str]
    default_level: str
    default_department_kind: str
    urgency: str
    deadlines: DeadlinesOut
    # Empty unless handling has phases; the last phase is the handling deadline.
    phases: list[PhaseOut]
    has_attributes: bool


class SubclassNode(Schema):
    code: str
    name_zh: str
    name_en: str
    urgency: str


class MajorNode(Schema):
    code: str
    kind: str
    name_zh: str
    name_en: str
    subclasses: list[SubclassNode]


class TaxonomyOut(Schema):
    version: VersionOut
    classes: list[MajorNode]


class ValueOut(Schema):
    key: str
    name_zh: str
    name_en: str


class AttributeOut(Schema):
    code: str
    name_zh: str
    name_en: str
    datatype: str
    required: bool
    variable: bool
    order: int
    help_zh: str
    help_en: str
    values: list[ValueOut]


class SubclassDetail(SubclassOut):
    version: str
    filing_condition_zh: str
    filing_condition_en: str
    closing_condition_zh: str
    closing_condition_en: str
    attributes: list[AttributeOut]


class RouteCategoryOut(Schema):
    code: str
    name_zh: str
    name_en: str


class RouteAreaOut(Schema):
    code: str
    name_zh: str
    name_en: str
    level: int


class RouteUnitOut(Schema):
    type: str  # "department" or "area"
    code: str
    name_zh: str
    name_en: str


class RouteRuleOut(Schema):
    id: int
    category_code: str
    area_code: str | None
    priority: int
    note: str


class RoutePreviewOut(Schema):
    category: RouteCategoryOut
    area: RouteAreaOut
    level: str
    unit: RouteUnitOut
    rule: RouteRuleOut | None
    reason_zh: str
    reason_en: str
