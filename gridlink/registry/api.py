"""The base registry, scoped to the caller and masked by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from gridlink.core.audit import client_ip
from gridlink.registry import selectors
from gridlink.registry.present import building_row, household_row, organisation_row, resident_row
from gridlink.registry.schemas import Page, PageQuery, UnmaskIn, UnmaskOut
from gridlink.registry.services import record_unmask

router = Router(tags=["registry"])


def _page(
    qs: QuerySet[Any], page: PageQuery, row: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    items = list(qs.filter(pk__gt=page.after).order_by("pk")[: page.limit + 1])
    more = len(items) > page.limit
    items = items[: page.limit]
    return {"items": [row(i) for i in items], "next_after": items[-1].pk if more else None}


@router.get("/residents", response=Page)
def resident_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.residents_visible_to(request.user, text=page.q, grid_code=page.grid)
    qs = qs.prefetch_related("tags")
    return _page(qs, page, lambda r: resident_row(r, request.user))


@router.get("/residents/{resident_id}", response=dict[str, Any])
def resident_detail(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    resident = get_object_or_404(selectors.residents_visible_to(request.user), pk=resident_id)
    return resident_row(resident, request.user)


@router.post("/residents/{resident_id}/unmask", response=UnmaskOut)
def resident_unmask(request: HttpRequest, resident_id: int, body: UnmaskIn) -> dict[str, Any]:
    resident = get_object_or_404(selectors.residents_visible_to(request.user), pk=resident_id)
    values = record_unmask(
        actor=request.user,  # type: ignore[arg-type]
        record=resident,
        fields=body.fields,
        purpose=body.purpose,
        ip=client_ip(request.META),
    )
    return {"id": resident.pk, "values": values}


@router.get("/organisations", response=Page)
def organisation_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.organisations_visible_to(request.user, text=page.q, grid_code=page.grid)
    return _page(qs, page, organisation_row)


@router.get("/organisations/{org_id}", response=dict[str, Any])
def organisation_detail(request: HttpRequest, org_id: int) -> dict[str, Any]:
    return organisation_row(_get(selectors.organisations_visible_to(request.user), org_id))


@router.post("/organisations/{org_id}/unmask", response=UnmaskOut)
def organisation_unmask(request: HttpRequest, org_id: int, body: UnmaskIn) -> dict[str, Any]:
    org = _get(selectors.organisations_visible_to(request.user), org_id)
    values = record_unmask(
        actor=request.user,  # type: ignore[arg-type]
        record=org,
        fields=body.fields,
        purpose=body.purpose,
        ip=client_ip(request.META),
    )
    return {"id": org.pk, "values": values}


@router.get("/buildings", response=Page)
def building_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.buildings_visible_to(request.user, text=page.q, grid_code=page.grid)
    return _page(qs, page, building_row)


@router.get("/buildings/{building_id}", response=dict[str, Any])
def building_detail(request: HttpRequest, building_id: int) -> dict[str, Any]:
    return building_row(_get(selectors.buildings_visible_to(request.user), building_id))


@router.get("/households", response=Page)
def household_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.households_visible_to(request.user, grid_code=page.grid)
    return _page(qs, page, household_row)


@router.get("/households/{household_id}", response=dict[str, Any])
def household_detail(request: HttpRequest, household_id: int) -> dict[str, Any]:
    return household_row(_get(selectors.households_visible_to(request.user), household_id))


def _get[M: Model](qs: QuerySet[M], pk: int) -> M:
    return get_object_or_404(qs, pk=pk)
