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
from gridlink.registry.models import Organisation, Resident
from gridlink.registry.present import building_row, household_row, organisation_row, resident_row
from gridlink.registry.schemas import (
    BuildingOut,
    BuildingPage,
    HouseholdOut,
    HouseholdPage,
    LookupIn,
    LookupOut,
    OrganisationOut,
    OrganisationPage,
    PageQuery,
    ResidentOut,
    ResidentPage,
    UnmaskIn,
    UnmaskOut,
)
from gridlink.registry.services import record_unmask, resident_lookup

router = Router(tags=["registry"])


def _page(
    qs: QuerySet[Any], page: PageQuery, row: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    items = list(qs.filter(pk__gt=page.after).order_by("pk")[: page.limit + 1])
    more = len(items) > page.limit
    items = items[: page.limit]
    return {"items": [row(i) for i in items], "next_after": items[-1].pk if more else None}


def _get[M: Model](qs: QuerySet[M], pk: int) -> M:
    return get_object_or_404(qs, pk=pk)


def _unmask(
    request: HttpRequest, record: Resident | Organisation, body: UnmaskIn
) -> dict[str, Any]:
    values = record_unmask(
        actor=request.user,  # type: ignore[arg-type]
        record=record,
        fields=body.fields,
        purpose=body.purpose,
        ip=client_ip(request.META),
    )
    return {"id": record.pk, "values": values}


@router.get("/residents", response=ResidentPage)
def resident_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.residents_visible_to(request.user, text=page.q, grid_code=page.grid)
    return _page(qs.prefetch_related("tags"), page, lambda r: resident_row(r, request.user))


@router.post("/residents/lookup", response=LookupOut)
def resident_lookup_by_identifier(request: HttpRequest, body: LookupIn) -> dict[str, Any]:
    """Find residents by an exact ID number or phone, where you may unmask; logged."""
    found = resident_lookup(
        actor=request.user,  # type: ignore[arg-type]
        id_number=body.id_number,
        phone=body.phone,
        purpose=body.purpose,
        ip=client_ip(request.META),
    )
    return {"items": [resident_row(r, request.user) for r in found]}


@router.get("/residents/{resident_id}", response=ResidentOut)
def resident_detail(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    return resident_row(
        _get(selectors.residents_visible_to(request.user), resident_id), request.user
    )


@router.post("/residents/{resident_id}/unmask", response=UnmaskOut)
def resident_unmask(request: HttpRequest, resident_id: int, body: UnmaskIn) -> dict[str, Any]:
    return _unmask(request, _get(selectors.residents_visible_to(request.user), resident_id), body)


@router.get("/organisations", response=OrganisationPage)
def organisation_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.organisations_visible_to(request.user, text=page.q, grid_code=page.grid)
    return _page(qs, page, organisation_row)


@router.get("/organisations/{org_id}", response=OrganisationOut)
def organisation_detail(request: HttpRequest, org_id: int) -> dict[str, Any]:
    return organisation_row(_get(selectors.organisations_visible_to(request.user), org_id))


@router.post("/organisations/{org_id}/unmask", response=UnmaskOut)
def organisation_unmask(request: HttpRequest, org_id: int, body: UnmaskIn) -> dict[str, Any]:
    return _unmask(request, _get(selectors.organisations_visible_to(request.user), org_id), body)


@router.get("/buildings", response=BuildingPage)
def building_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.buildings_visible_to(request.user, text=page.q, grid_code=page.grid)
    return _page(qs, page, building_row)


@router.get("/buildings/{building_id}", response=BuildingOut)
def building_detail(request: HttpRequest, building_id: int) -> dict[str, Any]:
    return building_row(_get(selectors.buildings_visible_to(request.user), building_id))


@router.get("/households", response=HouseholdPage)
def household_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.households_visible_to(request.user, grid_code=page.grid)
    return _page(qs, page, household_row)


@router.get("/households/{household_id}", response=HouseholdOut)
def household_detail(request: HttpRequest, household_id: int) -> dict[str, Any]:
    return household_row(_get(selectors.households_visible_to(request.user), household_id))
