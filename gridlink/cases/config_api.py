"""Routing rules and taxonomy versions through the API (`/api/v1/admin/…`), for superusers.

Like accounts and webhooks (`gridlink.accounts.api`): every write goes through a service
that checks it as the admin does and audits it in the same transaction; bad input is a 400
naming the field (a 422 for the wrong type or shape) and writes nothing. See
docs/configuration-api.md.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Body, Query, Router, Status

from gridlink.accounts.api import require_superuser
from gridlink.cases.api import classes_out
from gridlink.cases.config_schemas import (
    RoutingCheckOut,
    RuleEndIn,
    RuleIn,
    RuleOut,
    RulePage,
    RulePatch,
    RuleQuery,
    VersionDetailOut,
    VersionListOut,
    taxonomy_file_schema,
)
from gridlink.cases.models import RoutingRule, TaxonomyVersion
from gridlink.cases.routing import RoutingGap, routing_check
from gridlink.cases.services import taxonomy_publish
from gridlink.cases.services.routing_rules import (
    routing_rule_create,
    routing_rule_delete,
    routing_rule_end,
    routing_rule_update,
    rule_summary,
)
from gridlink.cases.services.taxonomy import taxonomy_load_data
from gridlink.geo.models import Area, Department

router = Router(tags=["configuration"])

GAP_EXAMPLES = 5


# --- Routing rules ----------------------------------------------------------------------------


def _rules() -> QuerySet[RoutingRule]:
    return RoutingRule.objects.select_related("area", "unit_department", "unit_area")


def rule_out(rule: RoutingRule) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "id": rule.pk,
        **rule_summary(rule),  # the settings by code (the dates as ISO text, parsed by the schema)
        "in_force": rule.active
        and rule.valid_from <= today
        and (rule.valid_to is None or rule.valid_to > today),
        "note": rule.note,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


@router.get("/admin/routing/rules", response=RulePage)
def rules_list(request: HttpRequest, query: Query[RuleQuery]) -> dict[str, Any]:
    """Routing rules in id order (keyset paging), optionally those naming one category code
    or one area code (`*`: those naming none), or only those in force today."""
    require_superuser(request)
    rules = _rules().filter(pk__gt=query.after).order_by("pk")
    if query.category is not None:
        rules = rules.filter(category_code="" if query.category == "*" else query.category)
    if query.area == "*":
        rules = rules.filter(area__isnull=True)
    elif query.area is not None:
        rules = rules.filter(area__code=query.area)
    if query.in_force is not None:
        in_force = Q(pk__in=RoutingRule.objects.in_force(timezone.localdate()).values("pk"))
        rules = rules.filter(in_force if query.in_force else ~in_force)
    found = list(rules[: query.limit + 1])
    more = len(found) > query.limit
    found = found[: query.limit]
    return {
        "items": [rule_out(r) for r in found],
        "next_after": found[-1].pk if more and found else None,
    }


@router.post("/admin/routing/rules", response={201: RuleOut})
def rules_create(request: HttpRequest, body: RuleIn) -> Status[dict[str, Any]]:
    """Add a rule: cases of `category_code` in `area` go to `level` and its unit — a
    department (`unit_department`) or, for the grid, community and street levels, the
    office of an area of that level (`unit_area`). Checked as the admin checks it."""
    actor = require_superuser(request)
    rule = routing_rule_create(actor=actor, values=body.dict())
    return Status(201, rule_out(_rules().get(pk=rule.pk)))


@router.get("/admin/routing/rules/{rule_id}", response=RuleOut)
def rules_detail(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    require_superuser(request)
    return rule_out(get_object_or_404(_rules(), pk=rule_id))


@router.patch("/admin/routing/rules/{rule_id}", response=RuleOut)
def rules_update(request: HttpRequest, rule_id: int, body: RulePatch) -> dict[str, Any]:
    """Change the fields given (null clears an optional one); the whole rule is checked
    again."""
    actor = require_superuser(request)
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    routing_rule_update(actor=actor, rule=rule, changes=body.dict(exclude_unset=True))
    return rule_out(_rules().get(pk=rule.pk))


@router.post("/admin/routing/rules/{rule_id}/end", response=RuleOut)
def rules_end(request: HttpRequest, rule_id: int, body: RuleEndIn) -> dict[str, Any]:
    """End a rule from `valid_to` on (default today); it stays on record."""
    actor = require_superuser(request)
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    routing_rule_end(actor=actor, rule=rule, valid_to=body.valid_to)
    return rule_out(_rules().get(pk=rule.pk))


@router.delete("/admin/routing/rules/{rule_id}", response={204: None})
def rules_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Delete a rule that never routed a case (409 otherwise: end it instead)."""
    actor = require_superuser(request)
    routing_rule_delete(actor=actor, rule=get_object_or_404(RoutingRule, pk=rule_id))
    return HttpResponse(status=204)


def gap_out(gap: RoutingGap) -> dict[str, Any]:
    unit = gap.unit
    kind = (
        "department"
        if isinstance(unit, Department)
        else "area"
        if isinstance(unit, Area)
        else "none"
    )
    return {
        "unit": gap.unit_label,
        "unit_kind": kind,
        "unit_code": unit.code if unit is not None else None,
        "via": gap.via if unit is not None else "-",
        "rule_id": gap.rule.pk if gap.rule is not None else None,
        "pairs": len(gap.pairs),
        "examples": gap.pairs[:GAP_EXAMPLES],
        "why": gap.why,
    }


@router.get("/admin/routing/check", response=RoutingCheckOut)
def routing_check_view(request: HttpRequest) -> dict[str, Any]:
    """The routing targets nobody active can sign for, and the category × grid pairs with
    no route — the same check as `gridlink routing check` and the admin's warning."""
    require_superuser(request)
    result = routing_check()
    return {
        "ok": result.ok,
        "pairs": result.pairs,
        "unstaffed": [gap_out(g) for g in result.unstaffed],
        "unrouted": [gap_out(g) for g in result.unrouted],
    }


# --- Taxonomy versions ------------------------------------------------------------------------


def _versions() -> QuerySet[TaxonomyVersion]:
    return TaxonomyVersion.objects.annotate(
        n_majors=Count("categories", filter=Q(categories__parent__isnull=True)),
        n_subclasses=Count("categories", filter=Q(categories__parent__isnull=False)),
    ).order_by("-created_at", "code")


def version_out(version: TaxonomyVersion) -> dict[str, Any]:
    state = "current" if version.is_current else "published" if version.is_published else "draft"
    return {
        "code": version.code,
        "name": version.name,
        "notes": version.notes,
        "state": state,
        "published_at": version.published_at,
        "created_at": version.created_at,
        "content_sha256": version.content_sha256,
        "major_classes": getattr(version, "n_majors", 0),
        "subclasses": getattr(version, "n_subclasses", 0),
    }


def _version(code: str) -> TaxonomyVersion:
    return get_object_or_404(_versions(), code=code)


@router.get("/admin/taxonomy/versions", response=list[VersionListOut])
def versions_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every taxonomy version, newest first: drafts, published ones and the current one."""
    require_superuser(request)
    return [version_out(v) for v in _versions()]


@router.post(
    "/admin/taxonomy/versions",
    response={200: VersionListOut, 201: VersionListOut},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": taxonomy_file_schema()}},
        }
    },
)
def versions_upload(request: HttpRequest, body: Body[dict[str, Any]]) -> Status[dict[str, Any]]:
    """Upload a taxonomy file (the format of docs/taxonomy.md) as a draft: a new version
    code makes a new draft (201); a draft's code replaces its content; the same content
    again changes nothing (200); a published version cannot change. Every problem is
    listed, each naming its path (`E0301.deadlines.handle.amount`); nothing is written."""
    actor = require_superuser(request)
    named = body.get("version")
    code = named.get("code") if isinstance(named, dict) else None
    existed = isinstance(code, str) and TaxonomyVersion.objects.filter(code=code).exists()
    version = taxonomy_load_data(actor=actor, raw=body)
    status = 200 if existed else 201
    return Status(status, version_out(_version(version.code)))


@router.get("/admin/taxonomy/versions/{code}", response=VersionDetailOut)
def versions_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    """One version (a draft to review before publishing) with its tree of classes."""
    require_superuser(request)
    version = _version(code)
    return {
        "version": version_out(version),
        "classes": classes_out(version),
    }


@router.post("/admin/taxonomy/versions/{code}/publish", response=VersionListOut)
def versions_publish(request: HttpRequest, code: str) -> dict[str, Any]:
    """Publish a draft and make it current (as `gridlink taxonomy load --publish` and the
    admin's action do); the previous version stays valid for the cases filed under it."""
    actor = require_superuser(request)
    version = taxonomy_publish(actor=actor, version=get_object_or_404(TaxonomyVersion, code=code))
    return version_out(_version(version.code))
