"""Request and response schemas of the case API (`gridlink.cases.case_api`)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class CaseIn(Schema):
    channel: str = "resident_web"
    category_code: str = Field(max_length=10)
    description: str = Field(max_length=20000)  # the service gives the real limit, by name
    title: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = Field(default="", max_length=200)
    building_code: str = Field(default="", max_length=32)
    attributes: dict[str, Any] = {}
    photo_keys: list[str] = Field(default=[], max_length=50)
    external_number: str = Field(default="", max_length=200)
    anonymous: bool = False
    reporter_name: str = Field(default="", max_length=200)
    reporter_phone: str = Field(default="", max_length=50)
    reporter_email: str = Field(default="", max_length=254)


class ActionIn(Schema):
    """Inputs of a transition; which are required depends on the action (see the table)."""

    version: int | None = None
    reason: str = Field(default="", max_length=2000)
    unit_id: str = Field(default="", max_length=40)
    department_ids: list[int] = Field(default=[], max_length=20)
    lead_department_id: int | None = None
    instructions: dict[str, str] = {}
    parent_case_id: int | None = None
    duration: str = Field(default="", max_length=8)
    evidence: list[str] = Field(default=[], max_length=50)
    result: str = Field(default="", max_length=2000)
    verifier_id: int | None = None
    satisfaction: str = Field(default="", max_length=30)
    solved: bool | None = None
    comment: str = Field(default="", max_length=2000)
    method: str = Field(default="", max_length=10)  # record_contact: phone, sms, visit, other
    note: str = Field(default="", max_length=500)  # record_contact
    # whistle: a co-handler's own deadline, department id → working time ("3d", "8h")
    task_deadlines: dict[str, str] = Field(default={}, max_length=20)


class TaskActionIn(Schema):
    version: int | None = None
    result: str = Field(default="", max_length=2000)
    rating: int | None = None
    note: str = Field(default="", max_length=200)


class FeedbackIn(Schema):
    satisfaction: str = Field(max_length=30)
    solved: bool
    comment: str = Field(default="", max_length=500)
    rating_key: str = Field(default="", max_length=40)  # given to the reporter, once


class UnmaskIn(Schema):
    purpose: str = Field(default="", max_length=400)  # the service names the real limits


class EventOut(Schema):
    id: int
    kind: str
    actor: str
    actor_role: str
    actor_unit: str
    from_state: str
    to_state: str
    reason: str
    data: dict[str, Any]
    public: bool
    created_at: str


class TaskOut(Schema):
    id: int
    department_id: int
    department: str
    is_lead: bool
    state: str
    instructions: str
    report_in_due_at: str
    reported_in_at: str | None
    reported_in_late: bool
    deadline_at: str
    own_deadline: bool  # the dispatcher's own deadline for this co-handler, not the lead's
    card: str  # "", "yellow" (deadline near) or "red" (overdue), set by the sweep
    done_at: str | None
    result: str
    rating: int | None


class PhotoOut(Schema):
    key: str
    stage: str
    content_type: str
    width: int
    height: int
    url: str


class CaseOut(Schema):
    id: int
    number: str
    tracking_code: str | None  # only to the case's reporter
    rating_key: str | None = None  # only in the create response, once
    version: int
    state: str
    state_label: str
    channel: str
    external_number: str
    category_code: str
    category_name: str
    taxonomy_version: str
    title: str
    description: str
    urgency: str
    attributes: dict[str, Any]
    lat: float
    lon: float
    address: str
    grid_id: int
    grid: str
    level: str
    unit_department_id: int | None
    unit_area_id: int | None
    unit: str
    routing_reason: str
    whistled: bool
    supervised: bool
    card: str
    stage: str
    deadline_at: str | None
    yellow_at: str | None
    extension_count: int
    return_count: int
    verify_fail_count: int
    dissatisfied_count: int
    satisfaction: str
    solved: bool | None
    parent_id: int | None
    reporter: dict[str, Any] | None
    created_at: str
    updated_at: str
    closed_at: str | None
    allowed_actions: list[str]
    tasks: list[TaskOut] = []
    photos: list[PhotoOut] = []
    events: list[EventOut] = []
    possible_duplicates: list[dict[str, Any]] = []


class CaseListItem(Schema):
    id: int
    number: str
    tracking_code: str | None  # only on the reporter's own cases
    version: int
    state: str
    title: str
    category_code: str
    channel: str
    grid_id: int
    level: str
    unit: str
    supervised: bool
    card: str
    deadline_at: str | None
    created_at: str


class CaseListOut(Schema):
    items: list[CaseListItem]
    next_cursor: str | None


class UploadOut(Schema):
    key: str
    content_type: str
    width: int
    height: int
    size: int


class PublicCaseOut(Schema):
    tracking_code: str
    state: str
    state_label: str
    category_name: str
    title: str
    address: str
    created_at: str
    closed_at: str | None
    merged_into: str | None
    can_rate: bool
    satisfaction: str
    timeline: list[dict[str, Any]]
