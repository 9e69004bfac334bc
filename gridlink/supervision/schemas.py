"""Request and response schemas of the supervision API (`gridlink.supervision.api`)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class OrderIn(Schema):
    """Exactly one of `case_id`, `department_id`, `area_id`; the service checks the rest and
    names the field at fault."""

    case_id: int | None = None
    department_id: int | None = None
    area_id: int | None = None
    instructions: str = Field(default="", max_length=20000)  # the service gives the limit
    deadline_days: int | None = None
    level: str = Field(default="normal", max_length=20)


class RespondIn(Schema):
    version: int | None = None  # or the ETag in If-Match
    response: str = Field(default="", max_length=20000)


class CloseIn(Schema):
    version: int | None = None  # or the ETag in If-Match
    accept: bool | None = None
    note: str = Field(default="", max_length=20000)


class OrderFilters(Schema):
    state: list[str] = []
    overdue: bool | None = None
    unit: str = ""  # "department:<id>" or "area:<id>" (with its subtree)
    case: int | None = None
    before: int | None = None  # keyset paging: orders with a smaller id
    limit: int = 50


class EventOut(Schema):
    id: int
    kind: str
    actor: str
    text: str
    data: dict[str, Any]
    at: str


class EscalatedTo(Schema):
    kind: str  # department | area
    id: int
    code: str
    name: str


class OrderOut(Schema):
    id: int
    code: str
    version: int  # name it (or send the ETag as If-Match) to respond or close
    target_kind: str
    target_id: int
    target: str
    case_id: int | None
    department_id: int | None
    area_id: int | None
    accountable_department_id: int | None
    accountable_area_id: int | None
    instructions: str
    level: str
    state: str
    state_label: str
    opened_by: str | None  # None for an order opened automatically
    trigger: str  # manual, dissatisfied_twice, verification_failed, overdue
    escalated_to: EscalatedTo | None
    opened_at: str
    deadline_days: int
    deadline_at: str
    overdue: bool
    escalated: bool
    escalated_at: str | None
    escalation_count: int
    response: str
    responded_by: str | None
    responded_at: str | None
    closed_by: str | None
    closed_at: str | None
    events: list[EventOut] | None = None


class OrderListOut(Schema):
    items: list[OrderOut]
    next_before: int | None
