"""The supervision API (mounted at /api/v1/supervision/): open, list, read, respond, close.

An order's answers carry its `version` and an `ETag`; respond and close name the version the
caller saw (`If-Match`: 412 when stale; body `version`: 409 when stale; neither: 428).
Opening an order takes an `Idempotency-Key` (`gridlink.core.idempotency`), and so do
respond and close.

Reads go through `gridlink.supervision.selectors` (an order outside your view is a 404);
writes through `gridlink.supervision.services`, whose refusals become 4xx JSON errors
naming the field at fault.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router

from gridlink.accounts.models import User
from gridlink.api_base import json_response
from gridlink.core.errors import DomainError
from gridlink.core.idempotency import idempotent
from gridlink.geo.models import Area
from gridlink.supervision.models import OrderState, SupervisionOrder
from gridlink.supervision.schemas import (
    CloseIn,
    OrderFilters,
    OrderIn,
    OrderListOut,
    OrderOut,
    RespondIn,
)
from gridlink.supervision.selectors import order_get_visible, orders_visible_to
from gridlink.supervision.services import (
    OrderNotFound,
    StaleVersion,
    order_close,
    order_open,
    order_respond,
)

router = Router(tags=["supervision"])
PAGE_MAX = 100


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise DomainError(_("Authentication required."), code="unauthenticated")
    return user


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _name(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _target(order: SupervisionOrder) -> str:
    if order.case is not None:
        return f"#{order.case.number} {order.case.title}"  # never the reporter's code
    unit = order.department or order.area
    return str(unit.name_zh) if unit is not None else ""


def _escalated_to(order: SupervisionOrder) -> dict[str, Any] | None:
    unit = order.escalated_to_department or order.escalated_to_area
    if unit is None:
        return None
    kind = "department" if order.escalated_to_department_id else "area"
    return {"kind": kind, "id": unit.pk, "code": unit.code, "name": str(unit.name_zh)}


def order_out(order: SupervisionOrder, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": order.pk,
        "code": order.code,
        "version": order.version,
        "target_kind": str(order.target_kind),
        "target_id": order.target_id,
        "target": _target(order),
        "case_id": order.case_id,
        "department_id": order.department_id,
        "area_id": order.area_id,
        "accountable_department_id": order.accountable_department_id,
        "accountable_area_id": order.accountable_area_id,
        "instructions": order.instructions,
        "level": order.level,
        "state": order.state,
        "state_label": str(order.get_state_display()),
        "opened_by": _name(order.opened_by),  # empty: opened automatically
        "trigger": order.trigger,
        "escalated_to": _escalated_to(order),
        "opened_at": order.opened_at.isoformat(),
        "deadline_days": order.deadline_days,
        "deadline_at": order.deadline_at.isoformat(),
        "overdue": order.overdue,
        "escalated": order.escalated,
        "escalated_at": _iso(order.escalated_at),
        "escalation_count": order.escalation_count,
        "response": order.response,
        "responded_by": _name(order.responded_by),
        "responded_at": _iso(order.responded_at),
        "closed_by": _name(order.closed_by),
        "closed_at": _iso(order.closed_at),
    }
    if detail:
        out["events"] = [
            {
                "id": e.pk,
                "kind": e.kind,
                "actor": e.actor.get_username() if e.actor is not None else "",
                "text": e.text,
                "data": e.data,
                "at": e.at.isoformat(),
            }
            for e in order.events.select_related("actor")
        ]
    return out


def _detail(request: HttpRequest, order_id: int, status: int = 200) -> HttpResponse:
    order = order_get_visible(request.user, order_id)
    if order is None:
        raise OrderNotFound
    response = json_response(request, order_out(order, detail=True), status=status)
    response["ETag"] = order.etag
    return response


def _visible_id(request: HttpRequest, order_id: int) -> int:
    if not orders_visible_to(request.user).filter(pk=order_id).exists():
        raise OrderNotFound
    return order_id


@router.post("/orders", response={201: OrderOut}, url_name="supervision_order_create")
def order_create(request: HttpRequest, body: OrderIn) -> HttpResponse:
    """Open a supervision order on exactly one of a case, a department or an area unit
    (street, community, grid), with instructions and a deadline of 1–30 working days. Send an
    `Idempotency-Key` to make retries safe."""

    def run() -> HttpResponse:
        order = order_open(
            actor=_actor(request),
            case=body.case_id,
            department=body.department_id,
            area=body.area_id,
            instructions=body.instructions,
            deadline_days=body.deadline_days if body.deadline_days is not None else 0,  # 0: no
            level=body.level,
        )
        return _detail(request, order.pk, status=201)

    return idempotent(request, payload=body.dict(), run=run)


def _unit_filter(raw: str) -> dict[str, Any]:
    kind, _sep, value = raw.partition(":")
    if kind not in ("department", "area") or not value.isdigit():
        raise DomainError(
            _("'unit' is department:<id> or area:<id>."), code="invalid", field="unit"
        )
    if kind == "department":
        return {"accountable_department_id": int(value)}
    area = Area.objects.filter(pk=int(value)).only("path").first()
    if area is None:
        raise DomainError(_("No such area."), code="not_found", field="unit")
    return {"accountable_area__path__startswith": area.path}


@router.get("/orders", response=OrderListOut, url_name="supervision_order_list")
def order_list(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """Orders you may see, newest first. Filter by `state` (repeatable), `overdue`, `unit`
    (`department:<id>` or `area:<id>`, held to account) or `case`; page with `before`."""
    if not 1 <= filters.limit <= PAGE_MAX:
        raise DomainError(
            _("'limit' is between 1 and %(max)d.") % {"max": PAGE_MAX},
            code="out_of_range",
            field="limit",
        )
    bad = [s for s in filters.state if s not in OrderState.values]
    if bad:
        raise DomainError(
            _("Unknown state '%(state)s'.") % {"state": bad[0][:30]}, code="invalid", field="state"
        )
    qs = orders_visible_to(request.user).select_related(
        "case",
        "department",
        "area",
        "opened_by",
        "responded_by",
        "closed_by",
        "escalated_to_department",
        "escalated_to_area",
    )
    if filters.state:
        qs = qs.filter(state__in=filters.state)
    if filters.overdue is not None:
        qs = qs.filter(overdue=filters.overdue)
    if filters.unit:
        qs = qs.filter(**_unit_filter(filters.unit.strip()))
    if filters.case is not None:
        qs = qs.filter(case_id=filters.case)
    if filters.before is not None:
        qs = qs.filter(pk__lt=filters.before)
    page = list(qs.order_by("-id")[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {
        "items": [order_out(o) for o in page],
        "next_before": page[-1].pk if more and page else None,
    }


@router.get("/orders/{order_id}", response=OrderOut, url_name="supervision_order_detail")
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order with its timeline."""
    return _detail(request, order_id)


def _version(request: HttpRequest, body_version: int | None) -> tuple[int | None, bool]:
    """The version the caller saw: from If-Match (the order's ETag "<id>-<version>") or the
    body; True when it came from the header."""
    raw = request.headers.get("If-Match", "").strip()
    if raw:
        _id, _sep, version = raw.removeprefix("W/").strip('"').rpartition("-")
        if not version.isdigit():
            raise DomainError(_("If-Match must be the order's ETag."), field="If-Match")
        return int(version), True
    return body_version, False


def _stale(request: HttpRequest, exc: StaleVersion, *, from_header: bool) -> HttpResponse:
    """412 (If-Match) or 409 (body version) with the order as it is now."""

    current = order_get_visible(request.user, exc.order.pk) or exc.order
    response = json_response(
        request,
        {"detail": exc.message, "errors": [exc.as_dict()], "current": order_out(current)},
        status=412 if from_header else 409,
    )
    response["ETag"] = current.etag
    return response


@router.post("/orders/{order_id}/respond", response=OrderOut, url_name="supervision_order_respond")
def respond(request: HttpRequest, order_id: int, body: RespondIn) -> HttpResponse:
    """The unit the order is addressed to answers it (state open or reopened), naming the
    version it saw (`If-Match` or `version`)."""

    def run() -> HttpResponse:
        version, from_header = _version(request, body.version)
        try:
            order_respond(
                actor=_actor(request), order_id=_visible_id(request, order_id),
                version=version, response=body.response,
            )  # fmt: skip
        except StaleVersion as exc:
            return _stale(request, exc, from_header=from_header)
        return _detail(request, order_id)

    return idempotent(request, payload=body.dict(), run=run)


@router.post("/orders/{order_id}/close", response=OrderOut, url_name="supervision_order_close")
def close(request: HttpRequest, order_id: int, body: CloseIn) -> HttpResponse:
    """A supervisor accepts the response (`accept: true`, closed) or rejects it
    (`accept: false` with a `note`, reopened with a new deadline), naming the version they
    saw (`If-Match` or `version`)."""
    if body.accept is None:
        raise DomainError(
            _("Say whether you accept the response (true or false)."),
            code="required",
            field="accept",
        )
    accept = body.accept

    def run() -> HttpResponse:
        version, from_header = _version(request, body.version)
        try:
            order_close(
                actor=_actor(request), order_id=_visible_id(request, order_id),
                version=version, accept=accept, note=body.note,
            )  # fmt: skip
        except StaleVersion as exc:
            return _stale(request, exc, from_header=from_header)
        return _detail(request, order_id)

    return idempotent(request, payload=body.dict(), run=run)
