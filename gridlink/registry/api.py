"""The base registry, scoped to the caller and masked by default.

Reads go through the scoped selectors. Creates (`POST /{kind}`) and updates
(`PATCH /{kind}/{id}`) go through `registry_upsert`, the import's row rules for one record,
and answer with the record as `GET /{kind}/{id}` shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Body, Query, Router, Status

from gridlink.core.audit import client_ip
from gridlink.registry import selectors
from gridlink.registry.exchange import KINDS, UpsertResult, registry_upsert
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
    RecordIn,
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


def _save(request: HttpRequest, kind: str, body: RecordIn, key: str | None = None) -> UpsertResult:
    return registry_upsert(
        actor=request.user,
        kind=kind,
        values=body,
        key=key,
        ip=client_ip(request.META),
    )


def _created_or_ok(result: UpsertResult, row: dict[str, Any]) -> Status[dict[str, Any]]:
    return Status(201 if result.created else 200, row)


def _write_doc(kind: str, action: str) -> str:
    """The endpoint's description, from the kind's import columns (one home for them)."""
    spec = KINDS[kind]
    columns = ", ".join(f"`{c}`" for c in spec.columns)
    required = ", ".join(f"`{c}`" for c in spec.columns if c in spec.required)
    lists = "".join(f", a list of codes for `{c}`" for c in sorted(spec.lists))
    return (
        f"{action} Body: a JSON object of the import columns of {kind} ({columns}; see "
        f"docs/import-export.md), each text, a number{lists}, or null for a blank cell. "
        f"Creating needs {required}. Needs `registry.edit` over the record's grid, before "
        "and after the change. Every invalid field comes back in one 400, and then nothing "
        "is written."
    )


def _upsert_doc(kind: str) -> str:
    key = KINDS[kind].key
    return _write_doc(kind, f"Create a record (201), or update the one with this `{key}` (200).")


def _update_doc(kind: str) -> str:
    key = KINDS[kind].key
    return _write_doc(
        kind,
        f"Update the record with this id (200): columns left out keep their values; "
        f"`{key}` cannot change.",
    )


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


@router.post(
    "/residents",
    response={200: ResidentOut, 201: ResidentOut},
    description=_upsert_doc("residents"),
)
def resident_save(request: HttpRequest, body: Body[RecordIn]) -> Status[dict[str, Any]]:
    result = _save(request, "residents", body)
    return _created_or_ok(result, resident_detail(request, result.instance.pk))


@router.patch(
    "/residents/{resident_id}", response=ResidentOut, description=_update_doc("residents")
)
def resident_update(request: HttpRequest, resident_id: int, body: Body[RecordIn]) -> dict[str, Any]:
    resident = _get(selectors.residents_visible_to(request.user), resident_id)
    _save(request, "residents", body, key=resident.id_number)
    return resident_detail(request, resident_id)


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


@router.post(
    "/organisations",
    response={200: OrganisationOut, 201: OrganisationOut},
    description=_upsert_doc("organisations"),
)
def organisation_save(request: HttpRequest, body: Body[RecordIn]) -> Status[dict[str, Any]]:
    result = _save(request, "organisations", body)
    return _created_or_ok(result, organisation_detail(request, result.instance.pk))


@router.patch(
    "/organisations/{org_id}", response=OrganisationOut, description=_update_doc("organisations")
)
def organisation_update(request: HttpRequest, org_id: int, body: Body[RecordIn]) -> dict[str, Any]:
    org = _get(selectors.organisations_visible_to(request.user), org_id)
    _save(request, "organisations", body, key=org.credit_code)
    return organisation_detail(request, org_id)


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


@router.post(
    "/buildings",
    response={200: BuildingOut, 201: BuildingOut},
    description=_upsert_doc("buildings"),
)
def building_save(request: HttpRequest, body: Body[RecordIn]) -> Status[dict[str, Any]]:
    result = _save(request, "buildings", body)
    return _created_or_ok(result, building_detail(request, result.instance.pk))


@router.patch(
    "/buildings/{building_id}", response=BuildingOut, description=_update_doc("buildings")
)
def building_update(request: HttpRequest, building_id: int, body: Body[RecordIn]) -> dict[str, Any]:
    building = _get(selectors.buildings_visible_to(request.user), building_id)
    _save(request, "buildings", body, key=building.address_code)
    return building_detail(request, building_id)


@router.get("/households", response=HouseholdPage)
def household_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    qs = selectors.households_visible_to(request.user, grid_code=page.grid)
    return _page(qs, page, household_row)


@router.get("/households/{household_id}", response=HouseholdOut)
def household_detail(request: HttpRequest, household_id: int) -> dict[str, Any]:
    return household_row(_get(selectors.households_visible_to(request.user), household_id))


@router.post(
    "/households",
    response={200: HouseholdOut, 201: HouseholdOut},
    description=_upsert_doc("households"),
)
def household_save(request: HttpRequest, body: Body[RecordIn]) -> Status[dict[str, Any]]:
    result = _save(request, "households", body)
    return _created_or_ok(result, household_detail(request, result.instance.pk))


@router.patch(
    "/households/{household_id}", response=HouseholdOut, description=_update_doc("households")
)
def household_update(
    request: HttpRequest, household_id: int, body: Body[RecordIn]
) -> dict[str, Any]:
    household = _get(selectors.households_visible_to(request.user), household_id)
    _save(request, "households", body, key=household.number)
    return household_detail(request, household_id)
